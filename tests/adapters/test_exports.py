"""`verifiers.adapters` exports what `__all__` says, and importing it loads neither torch nor a host trainer."""

from __future__ import annotations

import subprocess
import sys

import verifiers.adapters as adapters


def test_all_names_exist():
    assert sorted(adapters.__all__) == sorted(set(adapters.__all__))
    for name in adapters.__all__:
        assert hasattr(adapters, name), name


def test_import_is_light():
    code = ("import sys, verifiers.adapters, verifiers.adapters.openrlhf, verifiers.adapters.verl;"
            "print(sorted(m for m in ('torch', 'trl', 'verl', 'openrlhf', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
