"""The README's Python examples run as written (docs that drift are bugs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_examples():
    assert len(_python_blocks()) >= 3


def test_quickstart_example_runs_and_scores_a_correct_completion():
    code = _python_blocks()[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    total, rewards, reasons = out.stdout.strip().split(" ", 1)[0], out.stdout, out.stdout
    assert float(total) == 1.0 + 0.5 + 0.2, out.stdout  # math 1, format 1, language 1 (weights 1, 0.5, 0.2)
    assert "'math': 1.0" in rewards and "'ok'" in reasons


def _block(marker: str) -> str:
    return next(b for b in _python_blocks() if marker in b)


def test_sandbox_example_runs_and_passes():
    out = subprocess.run(
        [sys.executable, "-c", _block("get_backend")], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "1.0"


def test_writing_a_reward_example_registers_and_scores():
    code = _block("@register") + (
        "\nfrom verifiers import Composition, Sample\n"
        "c = Composition.from_config([{'name': 'ends_politely'}], pool=False)\n"
        "print(c.score([Sample(completion='Done. Thank you')])[0].reward)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.0"
