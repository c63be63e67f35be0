"""Command line: ``python -m trainer --config configs/demo.toml [section.key=value ...]`` (also ``r1-train``).

``--resume RUN_DIR`` continues a run from its last checkpoint, with the run's own saved config
(overrides given with --resume apply on top of it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainer", description="Compact single-node GRPO trainer."
    )
    parser.add_argument("--config", help="TOML config file (see configs/)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint")
    parser.add_argument("overrides", nargs="*", help="section.key=value overrides, e.g. grpo.beta=0.04")
    args = parser.parse_args(argv)

    from trainer.config import load_config
    from verifiers.errors import ConfigError, RecordError

    try:
        if args.resume:
            saved = Path(args.resume) / "config.toml"
            if not saved.is_file():
                parser.error(f"--resume {args.resume}: no config.toml there; is it a run directory?")
            cfg = load_config(saved, args.overrides)
        else:
            if not args.config:
                parser.error("give --config FILE (e.g. configs/demo.toml) or --resume RUN_DIR")
            cfg = load_config(args.config, args.overrides)
        from trainer.train import train

        train(cfg, config_path=args.config, resume=args.resume)
    except (ConfigError, RecordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
