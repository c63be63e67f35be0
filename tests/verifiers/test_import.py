"""`import verifiers` stays light: no torch, sympy, langdetect or math_verify until a reward needs them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "sympy", "langdetect", "math_verify", "docker", "fastapi")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return set(out.split())


def test_import_loads_no_heavy_dependency():
    loaded = _modules_after("import verifiers")
    assert not [m for m in HEAVY if m in loaded]


def test_listing_rewards_loads_no_heavy_dependency():
    loaded = _modules_after("import verifiers; verifiers.REGISTRY.specs()")
    assert not [m for m in HEAVY if m in loaded], "a built-in reward module imports a heavy back end at import time"


def test_works_when_torch_cannot_be_imported():
    # Block torch for real in a fresh interpreter (a meta-path finder that refuses it), then use the library.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers'):\n"
        "            raise ImportError('torch blocked for this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import verifiers\n"
        "from verifiers import Composition, Sample\n"
        "c = Composition.from_config([{'name': 'format'}], pool=False)\n"
        "print(c.score([Sample(completion='<think>a</think><answer>b</answer>')])[0].reward)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.0"
