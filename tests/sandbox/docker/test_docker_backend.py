"""The Docker backend against a real engine: container hardening, limits, hostile code, lifecycle."""

from __future__ import annotations

import json
import time
from contextlib import closing

import pytest

from sandbox.docker_backend import CAPABILITIES, UID_BASE, DockerBackend
from sandbox.docker_engine import LABEL, Engine
from sandbox.types import CallCase, Isolation, Job, Limits, Program, Status, StdioCase

pytestmark = pytest.mark.docker

FAST = Limits(cpu_time_s=1.0, wall_time_s=2.0, memory_mb=256, output_bytes=4096)


def run(backend: DockerBackend, source: str, stdin: bytes = b"", limits: Limits = FAST):
    return backend.execute(Job("script", source, stdin=stdin, limits=limits))


# --- the happy path --------------------------------------------------------------------------------


def test_stdio_program_runs_and_reports_container_isolation(docker_backend):
    res = run(docker_backend, "a, b = map(int, input().split())\nprint(a + b)", b"20 22\n")
    assert res.status is Status.OK, res
    assert res.stdout == b"42\n"
    assert res.isolation is Isolation.CONTAINER
    assert 0 < res.cpu_time < 1.0 and res.max_rss_kb > 0


def test_judge_stdio_and_call_cases(docker_backend):
    prog = Program(
        "python",
        'def add(a, b):\n    return a + b\nif __name__ == "__main__":\n    print(add(*map(int, input().split())))',
    )
    verdict = docker_backend.run(
        prog,
        [StdioCase("1 2\n", "3\n"), StdioCase("2 2\n", "5\n"), CallCase((3, 4), 7, entry_point="add")],
    )
    assert [o.reason for o in verdict.outcomes] == ["ok", "wrong_answer", "ok"]
    assert verdict.infra_error is None


# --- how the container is built (read back from the engine) ----------------------------------------


def test_containers_are_locked_down(docker_backend, docker_engine: Engine):
    ids = docker_backend.container_ids()
    assert ids
    with closing(docker_engine.client()) as client:
        host = client.api.inspect_container(ids[0])["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == sorted(CAPABILITIES)
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["IpcMode"] == "none"
    assert host["PidsLimit"] and host["PidsLimit"] <= 64
    assert host["Memory"] > 0 and host["NanoCpus"] > 0
    assert host["AutoRemove"] is True
    assert all(m.endswith(":ro") for m in host["Binds"]), host["Binds"]


def test_child_is_unprivileged_with_a_clean_environment(docker_backend):
    src = (
        "import os\n"
        "caps = [l for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm', 'NoNewPrivs', 'Seccomp:'))]\n"
        "print(os.getuid(), os.getgid(), os.getgroups(), sorted(os.environ))\n"
        "print(''.join(caps))"
    )
    res = run(docker_backend, src)
    assert res.status is Status.OK, res.stderr
    first, *rest = res.stdout.decode().splitlines()
    uid, gid, groups, env = first.split(" ", 3)
    assert int(uid) >= UID_BASE and int(gid) == int(uid) and groups == "[]"
    assert "TOKEN" not in env and "HOSTNAME" not in env
    status = dict(line.split(":\t") for line in rest if line)
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"


# --- hostile code: one snippet per attack ----------------------------------------------------------

HOSTILE = [
    # (what it tries, source, statuses that count as "stopped")
    (
        "network",
        "import socket; socket.create_connection(('1.1.1.1', 80), timeout=1)",
        {Status.RUNTIME_ERROR},
    ),
    (
        "unix socket to the engine",
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect('/r1/s')",
        {Status.RUNTIME_ERROR},
    ),
    ("write the system", "open('/usr/lib/x', 'w')", {Status.RUNTIME_ERROR}),
    ("write /etc", "open('/etc/passwd', 'a').write('x')", {Status.RUNTIME_ERROR}),
    ("tamper with the zygote", "open('/opt/r1/_zygote.py', 'a').write('x')", {Status.RUNTIME_ERROR}),
    ("write the image root", "open('/planted', 'w').write('x')", {Status.RUNTIME_ERROR}),
    ("fork", "import os; os.fork()", {Status.RUNTIME_ERROR}),
    ("subprocess", "import subprocess; subprocess.run(['/bin/true'])", {Status.RUNTIME_ERROR}),
    ("kill the zygote", "import os; os.kill(1, 9)", {Status.RUNTIME_ERROR}),
    ("read the zygote's environment", "print(open('/proc/1/environ').read())", {Status.RUNTIME_ERROR}),
    ("ptrace", "import ctypes; assert ctypes.CDLL(None).ptrace(16, 1, 0, 0) == 0", {Status.RUNTIME_ERROR}),
    ("busy loop", "while True: pass", {Status.TIMEOUT}),
    ("sleep", "import time; time.sleep(30)", {Status.TIMEOUT}),
    ("memory bomb", "x = bytearray(1 << 30)", {Status.MEMORY}),
    ("output flood", "while True: print('x' * 1000)", {Status.OUTPUT_LIMIT}),
    (
        "thread bomb",
        "import threading, time\nfor _ in range(100): threading.Thread(target=time.sleep, args=(5,)).start()",
        {Status.RUNTIME_ERROR},
    ),
]


@pytest.mark.parametrize(("what", "source", "stopped"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_code_is_stopped(docker_backend, what, source, stopped):
    res = run(docker_backend, source)
    assert res.status in stopped, (what, res.status, res.stderr[-300:])
    assert len(res.stdout) <= FAST.output_bytes
    # and the container still serves the next job
    assert run(docker_backend, "print('next')").stdout == b"next\n"


def test_scratch_is_empty_for_the_next_job(docker_backend):
    # one container, so both jobs land in the same one
    with DockerBackend(engine=docker_backend.engine, workers=1) as b:
        src = "import os\nopen('cache.txt', 'w').write('answer')\nos.mkdir('d')\nos.chmod('d', 0o1700)\nopen('d/x', 'w')\nprint(os.getcwd(), sorted(os.listdir('/tmp')))"
        wrote = run(b, src)
        assert wrote.stdout == b"/tmp ['cache.txt', 'd']\n", wrote
        after = run(b, "import os; print(os.listdir('/tmp'))")
        assert after.stdout == b"[]\n"


IPC_WRITE = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
q = libc.msgget(4242, 0o1666)
class M(ctypes.Structure):
    _fields_ = [('t', ctypes.c_long), ('x', ctypes.c_char * 16)]
print(q, libc.msgsnd(q, ctypes.byref(M(1, b'the-answer-42')), 16, 0) if q >= 0 else -1)
"""
IPC_READ = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class M(ctypes.Structure):
    _fields_ = [('t', ctypes.c_long), ('x', ctypes.c_char * 16)]
m = M()
q = libc.msgget(4242, 0)
print(q >= 0 and libc.msgrcv(q, ctypes.byref(m), 16, 0, 0o4000) > 0, m.x)
"""


def test_no_state_through_ipc_objects(docker_backend):
    # a System V message queue would outlive the job in the container's IPC namespace
    with DockerBackend(engine=docker_backend.engine, workers=1) as b:
        assert run(b, IPC_WRITE).stdout == b"-1 -1\n"
        assert run(b, IPC_READ).stdout == b"False b''\n"


def test_eq_liar_cannot_be_encoded(docker_backend):
    src = "class Liar(int):\n    def __eq__(self, o): return True\ndef f(x):\n    return Liar(0)\n"
    verdict = docker_backend.run(Program("python", src), [CallCase((1,), 5, entry_point="f")])
    assert not verdict.outcomes[0].passed and verdict.infra_error is None


def test_early_exit_in_call_mode_fails(docker_backend):
    src = "import sys\ndef f(x):\n    sys.exit(0)\n"
    verdict = docker_backend.run(Program("python", src), [CallCase((1,), 5, entry_point="f")])
    assert not verdict.outcomes[0].passed


# --- lifecycle -------------------------------------------------------------------------------------


def _labelled(engine: Engine) -> list[str]:
    with closing(engine.client()) as client:
        return [c.id for c in client.containers.list(all=True, filters={"label": LABEL})]


def test_container_is_recycled_after_n_runs(docker_engine):
    with DockerBackend(engine=docker_engine, workers=1, recycle_after=3) as b:
        first = b.container_ids()
        pids = [json.loads(run(b, "import os; print(os.getuid())").stdout) for _ in range(4)]
        second = b.container_ids()
        assert first != second and len(second) == 1
        assert pids[3] != pids[0]  # a new container's children get a new uid
        for _ in range(50):
            if first[0] not in _labelled(docker_engine):
                break
            time.sleep(0.1)
        assert first[0] not in _labelled(docker_engine)


def test_a_dead_container_is_infra_error_then_replaced(docker_engine):
    with DockerBackend(engine=docker_engine, workers=1) as b:
        with closing(docker_engine.client()) as client:
            client.containers.get(b.container_ids()[0]).kill()
        res = run(b, "print(1)")
        assert res.status is Status.INFRA_ERROR  # the sandbox failed: cannot judge, not a wrong answer
        verdict = b.run(Program("python", "print(input())"), [StdioCase("7\n", "7\n")])
        assert verdict.infra_error is None and verdict.all_passed


def test_infra_error_becomes_cannot_judge(docker_engine):
    b = DockerBackend(engine=docker_engine, workers=1)
    b.close()
    verdict = b.run(Program("python", "print(1)"), [StdioCase("", "1\n")])
    assert verdict.infra_error is not None and not verdict.all_passed


def test_supervisor_hangup_removes_the_container(docker_engine):
    b = DockerBackend(engine=docker_engine, workers=1)
    (cid,) = b.container_ids()
    zygote = b._all[0]
    zygote.sock.close()  # what the kernel does when the supervisor process dies
    zygote.container = None  # so close() does not remove it for us
    b.close()
    for _ in range(100):
        if cid not in _labelled(docker_engine):
            break
        time.sleep(0.1)
    assert cid not in _labelled(docker_engine), "the container outlived its supervisor"


def test_close_leaves_no_container(docker_engine):
    before = set(_labelled(docker_engine))
    with DockerBackend(engine=docker_engine, workers=2) as b:
        for _ in range(4):
            run(b, "print(1)")
        ours = set(b.container_ids())
    assert not ours & set(_labelled(docker_engine))
    assert set(_labelled(docker_engine)) <= before


def test_many_threads_share_the_workers(docker_engine):
    from concurrent.futures import ThreadPoolExecutor

    with DockerBackend(engine=docker_engine, workers=2) as b:
        jobs = [
            Job("script", "print(int(input()) * 2)", stdin=f"{i}\n".encode(), limits=FAST) for i in range(40)
        ]
        with ThreadPoolExecutor(8) as ex:
            results = list(ex.map(b.execute, jobs))
        assert [r.stdout for r in results] == [f"{2 * i}\n".encode() for i in range(40)]
        assert len(b.container_ids()) <= 2
