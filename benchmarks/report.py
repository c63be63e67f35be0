"""What a benchmark returns, and how results are printed and stored.

Each benchmark module ``benchmarks/<name>.py`` defines::

    def run(quick: bool = False) -> list[Table]: ...

`quick` shrinks sizes for a smoke run (used by the tests); the full run is what the README quotes.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["Table", "environment", "format_table", "write_results"]

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Table:
    """One table of figures: a title, column names, rows, and notes (targets, caveats)."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    """Named headline numbers (e.g. ``{"format_8k_per_s": 41000}``) for machines to read."""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.4f}"
    return str(v)


def format_table(t: Table) -> str:
    """Markdown table with its title and notes."""
    cells = [[_fmt(c) for c in row] for row in t.rows]
    lines = [f"### {t.title}", "", "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    lines += [""] + [f"- {n}" for n in t.notes]
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Commit, machine and versions that every stored figure carries."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = bool(
            subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=False).stdout.strip()
        )
    except OSError:
        commit, dirty = "unknown", False
    versions = {}
    for dist in ("r1-verifiers", "math-verify", "sympy", "langdetect", "torch", "transformers", "trl"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "commit": commit + ("+dirty" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {cpu}",
        "python": platform.python_version(),
        "versions": versions,
    }


def write_results(name: str, tables: list[Table], *, command: str, quick: bool) -> Path:
    """Store one benchmark's tables as JSON and Markdown in ``benchmarks/results/``."""
    RESULTS_DIR.mkdir(exist_ok=True)
    env = environment()
    suffix = ".quick" if quick else ""
    payload = {"benchmark": name, "command": command, **env, "tables": [asdict(t) for t in tables]}
    path = RESULTS_DIR / f"{name}{suffix}.json"
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    md = [f"## {name}", "", f"`{command}` at {env['commit']}, {env['date']}, {env['machine']}, Python {env['python']}",
          "versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()), ""]
    md += [format_table(t) + "\n" for t in tables]
    (RESULTS_DIR / f"{name}{suffix}.md").write_text("\n".join(md))
    return path


def main_command() -> str:
    return "python -m benchmarks " + " ".join(sys.argv[1:])
