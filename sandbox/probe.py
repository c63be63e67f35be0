"""Capability probe: which isolation primitives work on this machine, and the level they add up to.

`probe()` starts a zygote at each level (strongest first) and runs checks *inside* a sandboxed child,
so what it reports is what untrusted code would meet, not what the host claims.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sandbox.types import Isolation, Job, Limits, Status

__all__ = ["ProbeReport", "probe"]

_CHECKS = r"""
import os, socket, json
r = {}
r["uid"] = os.getuid()
def fails(fn):
    try:
        fn()
        return False
    except OSError:
        return True
r["network_blocked"] = fails(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
r["fork_blocked"] = fails(os.fork)
r["root_fs_read_only"] = fails(lambda: open("/usr/r1-probe", "w"))
r["host_home_hidden"] = not os.path.exists("/root/.bashrc") and not os.path.exists("/work")
r["parent_environ_unreadable"] = fails(lambda: open("/proc/%d/environ" % os.getppid()).read())
r["pid_namespace"] = not os.path.exists("/proc/%d" % os.getppid()) or os.getppid() == 1
r["env_cleared"] = sorted(os.environ) == ["HOME", "LANG", "PATH"]
print(json.dumps(r))
"""


@dataclass
class ProbeReport:
    """What works here, and the level the embedded backend would pick."""

    level: Isolation | None
    """Strongest level that started and passed its checks (None: only the unsafe level is left)."""
    running_as_root: bool
    seccomp: str
    """"ok" or why the filter cannot be built."""
    levels: dict[str, str] = field(default_factory=dict)
    """Per level: "ok" or why it failed to start."""
    checks: dict[str, object] = field(default_factory=dict)
    """Results of the in-child checks at the chosen level."""
    job_loop: str = "python"
    """"c" when the zygotes run Python jobs in their C loop (`sandbox/_zygote_fast.c`), "python" when
    that was not built (no C compiler at install) and the pure-Python loop runs them (slower)."""

    def lines(self) -> list[str]:
        out = [f"running as root: {self.running_as_root}", f"seccomp filter: {self.seccomp}"]
        out += [f"level {name:8s}: {state}" for name, state in self.levels.items()]
        out += [f"  {k}: {v}" for k, v in self.checks.items()]
        chosen = self.level.value if self.level else "none (needs allow_unsafe=True)"
        loop = "C (_zygote_fast)" if self.job_loop == "c" else "pure Python (the C loop is not built)"
        return out + [f"chosen isolation level: {chosen}", f"zygote job loop: {loop}"]


def probe() -> ProbeReport:
    """Start each level in turn and check it from inside a child."""
    import json

    from sandbox.embedded import EmbeddedBackend
    from sandbox.seccomp import SeccompUnavailable, filter_bpf

    try:
        filter_bpf()
        sec = "ok"
    except SeccompUnavailable as exc:
        sec = str(exc)
    report = ProbeReport(None, os.geteuid() == 0, sec)
    for level in (Isolation.FULL, Isolation.SECCOMP):
        try:
            backend = EmbeddedBackend(workers=1, level=level)
        except Exception as exc:  # noqa: BLE001  (the probe reports every failure)
            report.levels[level.value] = f"fails: {str(exc)[:300]}"
            continue
        try:
            res = backend.execute(Job("script", _CHECKS, limits=Limits(cpu_time_s=5)))
            if res.status is Status.OK:
                report.levels[level.value] = "ok"
                if report.level is None:
                    report.level = level
                    report.checks = json.loads(res.stdout)
                    report.job_loop = "c" if backend.fast_loop else "python"
            else:
                report.levels[level.value] = f"fails: checks ended {res.status.value}: {res.stderr[-300:]!r}"
        finally:
            backend.close()
    return report
