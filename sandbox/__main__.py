"""``python -m sandbox probe`` (console script ``r1-sandbox``): print what isolation works here.

``python -m sandbox run FILE [--stdin TEXT]`` runs a Python file in the sandbox and prints the result.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="r1-sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("probe", help="print which isolation primitives work on this machine")
    run = sub.add_parser("run", help="run a Python file in the sandbox")
    run.add_argument("file")
    run.add_argument("--stdin", default="")
    run.add_argument("--cpu", type=float, default=2.0, help="CPU seconds")
    args = parser.parse_args(argv)
    if args.cmd == "probe":
        from sandbox.probe import probe

        report = probe()
        print("\n".join(report.lines()))
        return 0 if report.level is not None else 1
    from sandbox import Job, Limits, get_backend

    with open(args.file, encoding="utf-8") as fh:
        source = fh.read()
    res = get_backend().execute(
        Job("script", source, stdin=args.stdin.encode(), limits=Limits(cpu_time_s=args.cpu))
    )
    sys.stdout.write(res.stdout.decode(errors="replace"))
    info = {
        k: getattr(res, k) for k in ("exit_code", "signal", "cpu_time", "wall_time", "max_rss_kb", "detail")
    }
    print(json.dumps({"status": res.status.value, "isolation": res.isolation.value, **info}), file=sys.stderr)
    return 0 if res.status.value == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
