"""Kill-and-resume: a run SIGKILLed mid-training and resumed gives the same metrics as an uninterrupted one.

Both runs are real subprocesses (``python -m trainer``) on CPU in deterministic mode; the kill is a
SIGKILL sent as soon as the checkpoint of step 2 exists, so it lands somewhere in step 3 (or, on a
fast machine, just after it); either way the resumed run must reproduce steps 3 and 4 exactly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORED = ("time/", "pool/")  # wall times differ; pool counters restart with the process


def _run(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args], cwd=ROOT, capture_output=True, text=True, timeout=240, **kw
    )


def _rows(run: Path) -> dict[int, dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: {k: v for k, v in r.items() if not k.startswith(IGNORED)} for r in rows}


def test_sigkill_then_resume_matches_uninterrupted_run(tiny_config):
    config = tiny_config(steps=4)
    out = config.parent / "runs"
    full = _run(["--config", str(config), "run.name=full"])
    assert full.returncode == 0, full.stderr[-2000:]

    proc = subprocess.Popen(
        [sys.executable, "-m", "trainer", "--config", str(config), "run.name=killed"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = out / "killed" / "checkpoints" / "step-2" / "state.json"
    deadline = time.monotonic() + 180
    while not marker.exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint of step 2 within 180 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    resumed = _run(["--resume", str(out / "killed")])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stderr

    want, got = _rows(out / "full"), _rows(out / "killed")
    assert sorted(got) == [1, 2, 3, 4]  # rows of the killed step were dropped and redone, not duplicated
    for step in (3, 4):
        assert got[step].keys() == want[step].keys()
        for key, value in want[step].items():
            assert got[step][key] == pytest.approx(value, rel=1e-6, abs=1e-9), (step, key)
    summary_full = json.loads((out / "full" / "summary.json").read_text())
    summary_killed = json.loads((out / "killed" / "summary.json").read_text())
    assert summary_killed["eval_after"] == summary_full["eval_after"]
