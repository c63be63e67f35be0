"""Step metrics: ``metrics.jsonl`` (one JSON object per step), a progress bar, a PNG of the main
curves (matplotlib, Agg backend) redrawn during the run, and optional TensorBoard."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger", "plot_metrics", "read_metrics"]

PLOTS = [
    ("reward/mean", "reward (total)"),
    ("accuracy", "accuracy (train samples)"),
    ("eval/accuracy", "held-out accuracy"),
    ("completion/length_mean", "completion length (tokens)"),
    ("kl", "KL to reference"),
    ("clip_frac", "clipped fraction"),
    ("entropy", "entropy"),
    ("frac_zero_std", "zero-std groups"),
    ("time/step", "step time (s)"),
]


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of a metrics.jsonl (a torn last line from a kill is skipped)."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def plot_metrics(rows: list[dict[str, Any]], out: Path) -> None:
    """Draw the main curves of `rows` into `out` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 3, figsize=(12, 9))
    for ax, (key, title) in zip(axes.flat, PLOTS):
        pts = [
            (r["step"], r[key])
            for r in rows
            if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])
        ]
        if pts:
            ax.plot(*zip(*pts), marker="." if len(pts) < 30 else None)
        else:  # say why the panel is empty rather than draw blank axes
            why = "measured before and after GRPO only\n(eval.every = 0): see summary.json" if key.startswith(
                "eval/"
            ) else "not logged in this run"
            ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=9, transform=ax.transAxes)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(out)


class MetricsLogger:
    """Appends step rows to metrics.jsonl, updates a progress bar, redraws the plot, writes TensorBoard.

    Args:
        run_dir: the run directory.
        total_steps: for the progress bar.
        start_step: steps already done (a resumed run); rows after it in metrics.jsonl are dropped.
        plot_every: redraw metrics.png every this many steps (0 = only on close).
        tensorboard: also write TensorBoard events (skipped with a note when not installed).
        progress: show the bar.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        total_steps: int,
        start_step: int = 0,
        plot_every: int = 10,
        tensorboard: bool = False,
        progress: bool = True,
    ) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.png = Path(run_dir) / "metrics.png"
        self.plot_every = plot_every
        rows = [r for r in read_metrics(self.path) if r.get("step", 0) <= start_step]
        self.rows = rows
        self.path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        self._fh = self.path.open("a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(Path(run_dir) / "tensorboard"))
            except ImportError:
                print(
                    "note: run.tensorboard is on but tensorboard is not installed; skipping it",
                    file=sys.stderr,
                )
        self._bar = None
        if progress:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total_steps,
                initial=start_step,
                desc="grpo",
                dynamic_ncols=True,
                file=sys.stderr,
                mininterval=1.0,
            )

    def log(self, step: int, row: dict[str, Any]) -> None:
        row = {"step": step, **row}
        self.rows.append(row)
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()
        if self._tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "step" and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(
                {
                    k: f"{row[k]:.3f}"
                    for k in ("reward/mean", "accuracy", "kl")
                    if isinstance(row.get(k), float)
                },
                refresh=False,
            )
        if self.plot_every and step % self.plot_every == 0:
            plot_metrics(self.rows, self.png)

    def close(self) -> None:
        self._fh.close()
        if self.rows:
            plot_metrics(self.rows, self.png)
        if self._tb is not None:
            self._tb.close()
        if self._bar is not None:
            self._bar.close()
