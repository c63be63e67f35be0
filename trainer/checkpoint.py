"""Checkpoints written atomically, so a run killed at any moment (even ``kill -9``) resumes.

A checkpoint is ``<run>/checkpoints/step-<N>/`` holding ``model.pt``, ``optimizer.pt``,
``scheduler.pt``, ``rng.pt`` and ``state.json`` (step, data position, anything else the loop
keeps). It is written to ``.tmp-step-<N>`` first, files fsynced, then renamed: a directory named
``step-<N>`` is always complete. Older checkpoints beyond `keep` are deleted after the rename.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["latest_checkpoint", "load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]


def rng_state() -> dict[str, Any]:
    """The state of every RNG the run uses (Python, NumPy, torch CPU and CUDA)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    run_dir: Path,
    step: int,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scheduler: Any,
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write checkpoint `step` atomically and prune to the newest `keep`. Returns its directory."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step}"
    tmp = root / f".tmp-step-{step}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    trainable = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    files = {"model.pt": trainable, "rng.pt": rng_state()}
    if optimizer is not None:
        files["optimizer.pt"] = optimizer.state_dict()
    if scheduler is not None:
        files["scheduler.pt"] = scheduler.state_dict()
    for name, obj in files.items():
        with open(tmp / name, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
    with open(tmp / "state.json", "w", encoding="utf-8") as fh:
        json.dump({"step": step, **state}, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    if final.exists():  # re-saving a step (a resumed run): replace it
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    for old in sorted(_steps(root))[:-keep]:
        shutil.rmtree(root / f"step-{old}", ignore_errors=True)
    return final


def _steps(root: Path) -> list[int]:
    out = []
    for p in root.glob("step-*"):
        tail = p.name[len("step-") :]
        if tail.isdigit() and (p / "state.json").is_file():
            out.append(int(tail))
    return out


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    root = Path(run_dir) / "checkpoints"
    steps = _steps(root) if root.is_dir() else []
    return root / f"step-{max(steps)}" if steps else None


def load_checkpoint(
    path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, scheduler: Any
) -> dict[str, Any]:
    """Restore model, optimizer, scheduler and RNG states from `path`; returns its state.json."""
    model.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
    if optimizer is not None and (path / "optimizer.pt").is_file():
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=False))
    if scheduler is not None and (path / "scheduler.pt").is_file():
        scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    with open(path / "state.json", encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]
