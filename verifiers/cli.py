"""Command line: ``python -m verifiers {list,describe,score,serve}`` (also the `r1-verifiers` script).

    python -m verifiers list
    python -m verifiers describe math
    python -m verifiers score in.jsonl -o out.jsonl --rewards math,format:0.5 --workers 4
    python -m verifiers score in.jsonl --config rewards.toml
    python -m verifiers serve --rewards math,format --port 8000
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from collections.abc import Sequence
from typing import Any

from verifiers.compose import Composition, load_config, parse_rewards
from verifiers.errors import ConfigError, RecordError, VerifiersError
from verifiers.registry import REGISTRY

__all__ = ["main"]

BATCH = 256


def _cmd_list(args: argparse.Namespace) -> int:
    specs = REGISTRY.specs()
    width = max(len(s.name) for s in specs) if specs else 4
    for s in specs:
        params = ", ".join(s.describe_parameters()) or "-"
        print(f"{s.name:<{width}}  [{s.cls.scope}] {s.description}")
        print(f"{'':<{width}}  params: {params}")
        print(f"{'':<{width}}  source: {s.source}")
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    spec = REGISTRY.get(args.name)
    cls = spec.cls
    print(f"{spec.name}  (from {spec.source}; class {cls.__module__}.{cls.__qualname__})")
    print(f"scope: {cls.scope}   range: {list(cls.score_range)}   requires: {list(cls.requires) or '-'}   "
          f"runs in pool: {cls.heavy}   default deadline: {cls.default_deadline:g} s")
    print("parameters:")
    for line in spec.describe_parameters() or ["(none)"]:
        print(f"  {line}")
    print()
    print(inspect.getdoc(cls) or "(no documentation)")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from verifiers.pool import WorkerPool
    from verifiers.records import AtomicJsonlWriter, read_samples

    if bool(args.rewards) == bool(args.config):
        raise ConfigError("give exactly one of --rewards NAMES or --config FILE.toml")
    config = load_config(args.config) if args.config else parse_rewards(args.rewards)
    if args.input == "-":
        pairs = read_samples("<stdin>", sys.stdin)
    else:
        pairs = read_samples(args.input)  # validates every line before anything is written
    pool: WorkerPool | bool = WorkerPool(args.workers, default_deadline=args.deadline) if args.workers != 0 else False
    try:
        comp = Composition.from_config(config, pool=pool)
        writer = AtomicJsonlWriter(args.output)
        show = args.progress == "on" or (args.progress == "auto" and len(pairs) >= 1000 and sys.stderr.isatty())
        bar = _progress(len(pairs), show)
        t0 = time.perf_counter()
        try:
            for start in range(0, len(pairs), BATCH):
                chunk = pairs[start : start + BATCH]
                scored = comp.score([s for _, s in chunk])
                for (record, _), result in zip(chunk, scored):
                    writer.write({**record, **result.to_record()})
                bar(len(chunk))
            writer.commit()
        except BaseException:
            writer.abort()
            if args.output != "-":
                print(f"error: scoring stopped; {args.output} was not written", file=sys.stderr)
            raise
        elapsed = time.perf_counter() - t0
    finally:
        if isinstance(pool, WorkerPool):
            pool.shutdown()
    print(f"scored {len(pairs)} records in {elapsed:.2f} s -> {args.output}", file=sys.stderr)
    for key, m in comp.metrics().items():
        mean = "n/a" if m["mean"] is None else f"{m['mean']:.4f}"
        print(f"  {key}: mean {mean}  none {m['none']}  errors {m['errors']}  timeouts {m['timeouts']}  "
              f"p50 {_ms(m['latency_p50_ms'])}  p99 {_ms(m['latency_p99_ms'])}", file=sys.stderr)
    return 0


def _ms(v: Any) -> str:
    return "n/a" if v is None else f"{v:.2f} ms"


def _progress(total: int, show: bool) -> Any:
    if not show:
        return lambda n: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="rec", file=sys.stderr)
    return bar.update


def _cmd_serve(args: argparse.Namespace, rest: Sequence[str]) -> int:
    try:
        from verifiers.server import serve_main
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the reward server needs the 'serve' extra ({exc.name} is missing): pip install 'r1-verifiers[serve]'"
        ) from exc
    return int(serve_main(list(rest)) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verifiers", description="r1-verifiers: rule-based rewards")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every registered reward with description, parameters and source")
    d = sub.add_parser("describe", help="one reward's documentation and parameters")
    d.add_argument("name")
    s = sub.add_parser("score", help="score a JSONL file: each record gets rewards, reasons and the total")
    s.add_argument("input", help="JSONL file of records (see verifiers.types), or - for stdin")
    s.add_argument("-o", "--output", default="-", help="output JSONL (default: stdout); written atomically")
    s.add_argument("--rewards", help="comma list NAME[:WEIGHT], e.g. math,format:0.5, or a .toml file")
    s.add_argument("--config", help="TOML file with [[reward]] tables (name, weight, params, gate...)")
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count; 0: inline)")
    s.add_argument("--deadline", type=float, default=10.0, help="default seconds per task before its worker is killed")
    s.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="progress bar on stderr")
    sub.add_parser("serve", help="HTTP reward server (OpenRLHF remote-RM protocol); see 'serve --help'",
                   add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "serve":
        try:
            return _cmd_serve(argparse.Namespace(), argv[1:])
        except VerifiersError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    args = parser.parse_args(argv)
    handlers = {"list": _cmd_list, "describe": _cmd_describe, "score": _cmd_score}
    try:
        return handlers[args.command](args)
    except (RecordError, ConfigError, VerifiersError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return 2
