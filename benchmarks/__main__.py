"""Run benchmarks: ``python -m benchmarks [NAME ...] [--quick] [--list]``.

Prints each table, then one JSON line of headline figures; stores results in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

from benchmarks.report import format_table, main_command, write_results

BENCHMARKS = {
    "core": "import time of `verifiers`, worker-pool dispatch overhead",
    "shaping": "format, length, overlong, repetition rewards: completions/s per core at 2k and 8k characters",
    "language": "language consistency: accuracy (MAE) on the labelled set, speed vs per-word langdetect",
    "math": "math reward vs math-verify: pairs/s per core, latency, accuracy on labelled sets",
    "sandbox": "code execution: embedded backend vs fresh subprocess vs fork-per-check, Docker backend",
    "reward_side": "trainer reward side under load: exposed reward time, hang injection, process count",
    "server": "reward server on loopback: requests/s and p99 latency",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, what in BENCHMARKS.items():
            print(f"{name:12s} {what}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    headline: dict[str, object] = {}
    failed = []
    for name in args.names or list(BENCHMARKS):
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"benchmarks.{name}":
                print(f"[{name}] not written yet, skipped", file=sys.stderr)
                continue
            raise
        t0 = time.perf_counter()
        print(f"== {name} ==", flush=True)
        tables = module.run(quick=args.quick)
        for table in tables:
            print(format_table(table), "\n", flush=True)
            headline.update({f"{name}.{k}": v for k, v in table.figures.items()})
        path = write_results(name, tables, command=main_command(), quick=args.quick)
        print(f"[{name}] {time.perf_counter() - t0:.1f} s, written to {path}", flush=True)
    print(json.dumps(headline, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
