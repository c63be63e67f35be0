"""The embedded backend's fast path, one named case per way it could go wrong.

The fast path: the supervisor compiles a program once and children only unmarshal it; the zygote keeps
the five memfds for good and the supervisor empties them between jobs; a child is forked and prepared
(rlimits, uid, seccomp) before its job arrives, under the slot's other uid while the current job runs;
a child that finished cleanly stops itself and the zygote answers before tearing it down.
"""

from __future__ import annotations

import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import Job, Limits, Status
from sandbox.backend import Backend
from tests.sandbox.test_attacks import process_stat, sandbox_uid_processes

SHOW_LIMITS = """
import resource
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
print(" ".join(str(resource.getrlimit(getattr(resource, n))[0]) for n in names))
"""

limit_sets = st.builds(
    Limits,
    cpu_time_s=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    memory_mb=st.sampled_from([128, 256, 512]),
    output_bytes=st.sampled_from([4096, 1 << 16, 1 << 20]),
    open_files=st.sampled_from([16, 32, 64]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(limit_sets, min_size=2, max_size=5))
def test_each_job_gets_its_own_limits_when_they_change(backend: Backend, sequence: list[Limits]) -> None:
    # the zygote prepares the next child with the last job's limits; a job with other limits must
    # never run in a child prepared for different ones
    for lim in sequence:
        res = backend.execute(Job("script", SHOW_LIMITS, limits=lim))
        assert res.status is Status.OK, res
        want = [lim.memory_mb << 20, max(1, int(lim.cpu_time_s + 0.999)), lim.output_bytes, lim.open_files]
        assert [int(x) for x in res.stdout.split()] == want


def test_the_program_compiles_as_its_own_module(backend: Backend) -> None:
    # no `from __future__ import annotations` of the harness leaks into the program: an annotation
    # naming an undefined name fails at definition time, as it does under plain `python`
    res = backend.execute(Job("script", "def f(x: NotDefinedAnywhere):\n    return x\nprint('ran')\n"))
    assert res.status is Status.RUNTIME_ERROR and b"NameError" in res.stderr, res
    own = "from __future__ import annotations\ndef f(x: NotDefinedAnywhere):\n    return x\nprint('ran')\n"
    res = backend.execute(Job("script", own))
    assert res.status is Status.OK and res.stdout == b"ran\n", res
    res = backend.execute(Job("script", "assert False, 'asserts stay on'\n"))
    assert res.status is Status.RUNTIME_ERROR and b"asserts stay on" in res.stderr, res


def test_a_syntax_error_is_a_compile_error(backend: Backend) -> None:
    for source in ("def f(:\n    pass\n", "x = 1\0\n", "print('unterminated\n"):
        res = backend.execute(Job("script", source))
        assert res.status is Status.COMPILE_ERROR, (source, res)
        assert b"Error" in res.stderr, res


def test_nothing_of_one_job_reaches_the_next_through_its_descriptors(backend: Backend) -> None:
    # the memfds live as long as the zygote: a job that scribbles on them, moves their offsets or leaves
    # output behind must not change what the next job reads or what the supervisor reads from it
    scribbler = """
import os
os.lseek(0, 0, os.SEEK_SET); os.write(0, b"FORGED-INPUT" * 100)
os.lseek(1, 1 << 16, os.SEEK_SET)
os.write(2, b"stale-stderr")
os.write(3, b'{"done": true}')
for fd in (0, 1, 2, 3):
    os.lseek(fd, 12345, os.SEEK_SET)
print("scribbled")
"""
    reader = "import sys\ndata = sys.stdin.read()\nprint(repr(data))\n"
    for _ in range(4):  # both zygotes, both uids of each slot
        backend.execute(Job("script", scribbler, stdin=b"secret input of job one\n"))
        res = backend.execute(Job("script", reader, stdin=b"hello\n"))
        assert res.status is Status.OK, res
        assert res.stdout == b"'hello\\n'\n", res
        assert res.channel == b"" and b"stale" not in res.stderr, res


def test_a_program_that_stops_itself_is_judged_on_what_it_wrote(backend: Backend) -> None:
    # SIGSTOP is how the harness says "finished with status 0": a program sending it early gains
    # nothing over exit(0) (what it printed so far is judged), and it never runs again
    early = "import os, signal, sys\nprint(1)\nsys.stdout.flush()\nos.kill(os.getpid(), signal.SIGSTOP)\nprint(2)\n"
    res = backend.execute(Job("script", early))
    assert res.status is Status.OK and res.stdout == b"1\n", res
    # as with os._exit(0), what it never flushed is lost
    res = backend.execute(Job("script", early.replace("sys.stdout.flush()\n", "")))
    assert res.status is Status.OK and res.stdout == b"", res
    # SIGTSTP/SIGTTIN cannot stop an orphaned process group: the program just goes on
    for sig in ("SIGTSTP", "SIGTTIN", "SIGTTOU"):
        src = f"import os, signal\nprint(1)\nos.kill(os.getpid(), signal.{sig})\nprint(2)\n"
        res = backend.execute(Job("script", src))
        assert res.status is Status.OK and res.stdout == b"1\n2\n", (sig, res)
    # a thread still writing when the main thread stops the process: the output is frozen at the
    # stop and the process is gone afterwards
    writer = """
import os, signal, sys, threading, time
def spam():
    while True:
        os.write(1, b"x")
threading.Thread(target=spam, daemon=True).start()
time.sleep(0.01)
os.kill(os.getpid(), signal.SIGSTOP)
"""
    res = backend.execute(Job("script", writer, limits=Limits(cpu_time_s=1.0, output_bytes=1 << 20)))
    assert res.status in (Status.OK, Status.OUTPUT_LIMIT), res
    assert set(res.stdout) <= {ord("x")}
    assert backend.execute(Job("script", "print(42)")).stdout == b"42\n"
    assert sandbox_uid_processes() == []


def test_cpu_time_is_measured_when_the_zygote_answers_early(backend: Backend) -> None:
    # the early answer reads the stopped process's CPU clock: a busy program reports its real CPU time
    busy = "x = 0\nfor i in range(3_000_000):\n    x += i\nprint(x > 0)\n"
    res = backend.execute(Job("script", busy, limits=Limits(cpu_time_s=5.0)))
    assert res.status is Status.OK and res.stdout == b"True\n", res
    assert 0.02 < res.cpu_time < 5.0, res
    assert res.max_rss_kb > 1000, res


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NPROC)[0] == 0, reason="no processes allowed")
def test_threads_get_the_whole_nproc_allowance(backend: Backend) -> None:
    # the child prepared for the next job runs as the slot's other uid: it never takes one of the
    # running job's RLIMIT_NPROC slots
    src = """
import threading
ev = threading.Event()
ts = [threading.Thread(target=ev.wait) for _ in range(6)]
for t in ts:
    t.start()
ev.set()
for t in ts:
    t.join()
print("ok")
"""
    for _ in range(6):
        res = backend.execute(Job("script", src, limits=Limits(threads=7)))
        assert res.status is Status.OK and res.stdout == b"ok\n", res


def test_two_backends_in_one_process_never_share_a_uid() -> None:
    # a uid shared between two live zygotes would let one backend's job signal the other's prepared
    # child (an infrastructure error there: "cannot judge") and share its RLIMIT_NPROC count
    import os

    from sandbox.embedded import EmbeddedBackend

    if os.geteuid() != 0:
        pytest.skip("slot uids need root")
    show = "import os\nprint(os.getuid())\n"
    with EmbeddedBackend(workers=1) as one, EmbeddedBackend(workers=1) as two:
        uids_one = {int(one.execute(Job("script", show)).stdout) for _ in range(4)}
        uids_two = {int(two.execute(Job("script", show)).stdout) for _ in range(4)}
    assert len(uids_one) == 2 and len(uids_two) == 2  # two turns each
    assert not uids_one & uids_two


def test_a_child_that_dies_during_its_set_up_is_an_infrastructure_failure(backend: Backend) -> None:
    # caused for real: the scratch directory disappears, so the next prepared child cannot chdir into
    # it and dies before reading its go. Its job must come back "cannot judge" (INFRA_ERROR), never a
    # verdict about the program, whichever loop (C or Python) runs the zygote.
    import os

    from sandbox.embedded import EmbeddedBackend

    if not isinstance(backend, EmbeddedBackend):
        pytest.skip("needs the scratch directory of an embedded zygote on the host (level seccomp)")
    b = EmbeddedBackend(workers=1, level="seccomp", fast_loop=backend.fast_loop)
    try:
        assert b.execute(Job("script", "print(1)")).stdout == b"1\n"
        (zygote,) = b.pids()
        scratch = _scratch_of_prepared_child(zygote)
        os.rmdir(scratch)
        results = [b.execute(Job("script", "print(1)")) for _ in range(3)]
        # the child prepared before the removal still runs its job; the next one failed its set-up, and
        # the backend then replaces the zygote (a new one makes a new scratch directory)
        assert [r.status for r in results] == [Status.OK, Status.INFRA_ERROR, Status.OK], results
        assert "died during its set-up" in results[1].detail, results[1]
        assert b.pids() != [zygote]
    finally:
        b.close()


def _scratch_of_prepared_child(zygote: int, timeout_s: float = 5.0) -> str:
    """The working directory of the child `zygote` prepared for its next job, once that child has
    finished its set-up (asleep reading its go pipe). Until then it may still have the zygote's own
    working directory, and removing the scratch directory would make it, not the one after, fail."""
    import os

    deadline = time.monotonic() + timeout_s
    seen: list[tuple[str, str, str]] = []
    while time.monotonic() < deadline:
        with open(f"/proc/{zygote}/task/{zygote}/children") as fh:
            children = fh.read().split()  # the child waiting for the next job (and one being reaped)
        seen = []
        for pid in children:
            try:
                state, _, wchan = process_stat(pid)
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:  # the one being reaped
                continue
            seen.append((state, wchan, cwd))
            if state == "S" and "pipe_read" in wchan and os.path.basename(cwd).startswith("r1-sandbox-"):
                return cwd
        time.sleep(0.01)
    raise AssertionError(f"no prepared child of zygote {zygote} finished its set-up: {seen}")


def test_children_inherit_a_zygote_that_bound_every_symbol_at_start(backend: Backend) -> None:
    # without LD_BIND_NOW in the zygote's start-up environment every child resolves the libc and
    # interpreter symbols it calls first itself: a symbol search and a copied GOT page per child, ~10%
    # of the throughput lost with nothing failing. The program itself must not see the variable.
    assert getattr(backend, "symbols_bound", False), "the zygote started without LD_BIND_NOW=1"
    res = backend.execute(Job("script", "import os\nprint(sorted(os.environ))\n"))
    assert res.stdout == b"['HOME', 'LANG', 'PATH']\n", res


def test_the_zygotes_rehearsal_leaves_nothing_for_the_first_job(backend: Backend) -> None:
    # each zygote runs a script job and a call job through the harness before its first fork (warming
    # the caches its children would otherwise write); the first real job of a fresh zygote must see
    # none of it: no stdin left to read, nothing already written on stdout, stderr or the channel
    from sandbox import CallCase, Program
    from sandbox.embedded import EmbeddedBackend

    if not isinstance(backend, EmbeddedBackend):
        pytest.skip("starts fresh zygotes of the embedded backend (the Docker one runs the same file)")
    reader = "import sys\ndata = sys.stdin.read()\nprint(repr(data))\n"
    with EmbeddedBackend(workers=1, fast_loop=backend.fast_loop) as fresh:
        res = fresh.execute(Job("script", reader))
    assert (res.status, res.stdout, res.stderr, res.channel) == (Status.OK, b"''\n", b"", b""), res
    with EmbeddedBackend(workers=1, fast_loop=backend.fast_loop) as fresh:
        outcome = fresh.run(
            Program("python", "def f(a, b):\n    return [a * b]\n"), [CallCase((6, 7), [42], entry_point="f")]
        )
    assert outcome.passed == 1 and outcome.total == 1, outcome


def test_a_zygote_whose_rehearsal_fails_does_not_start() -> None:
    # a harness that cannot run a trivial job must fail the zygote's start with the reason, not every
    # job afterwards. The fault (the harness returning failure) is injected: it cannot be caused for real
    import subprocess
    import sys
    from pathlib import Path

    import sandbox

    code = (
        "import importlib.util, os, sys\n"
        "os.dup2(os.memfd_create('channel'), 3)\n"
        "spec = importlib.util.spec_from_file_location('_zygote', sys.argv[1])\n"
        "zygote = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(zygote)\n"
        "zygote.run_harness = lambda *args: 1\n"
        "zygote.rehearse()\n"
    )
    script = Path(sandbox.__file__).with_name("_zygote.py")
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(script)], capture_output=True, timeout=60
    )
    assert proc.returncode != 0
    assert b"the script rehearsal gave b'' with status 1, expected b'42\\n'" in proc.stderr, proc.stderr
