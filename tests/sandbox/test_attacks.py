"""One named test per attack class of research/sandbox.md §6 (all 19), on every backend in `BACKENDS`.

Each test runs hostile code and asserts (a) no false pass and (b) no side effect on the host: no file
written outside the sandbox, no process left behind, the supervisor and the zygotes alive, no secret
read. Secrets and expected outputs are random per run, so a pass can only come from the leak.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import AssertCase, CallCase, Isolation, Job, Limits, Program, Status, StdioCase
from sandbox.backend import Backend
from sandbox.compare import compare_stdout
from sandbox.embedded import MAX_WORKERS, EmbeddedBackend, slot_uid

FAST = Limits(cpu_time_s=1.0, memory_mb=256, output_bytes=1 << 16)


def run(backend: Backend, source: str, stdin: str = "", limits: Limits = FAST):
    return backend.execute(Job("script", source, stdin=stdin.encode(), limits=limits))


PF_EXITING = 0x4  # include/linux/sched.h


def process_stat(pid: str) -> tuple[str, int, str]:
    """(state, parent pid, wait channel) of a process; state "K" when it is killed (a SIGKILL pending, or
    exiting: PF_EXITING)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    try:
        with open(f"/proc/{pid}/wchan") as fh:
            wchan = fh.read()
        with open(f"/proc/{pid}/status") as fh:
            pending = [int(line.split()[1], 16) for line in fh if line.startswith(("SigPnd:", "ShdPnd:"))]
    except OSError:
        wchan, pending = "", []
    if int(fields[6]) & PF_EXITING or any(mask & (1 << (signal.SIGKILL - 1)) for mask in pending):
        return "K", int(fields[1]), wchan
    return fields[0], int(fields[1]), wchan


def sandbox_uid_processes(supervisor: int | None = None, settle_s: float = 2.0) -> list[int]:
    """Host pids running as a slot uid of `supervisor` (default: this process) that may have run job
    code: none may outlive a job.

    Not counted: a child a zygote prepared for its NEXT job (it has run no job code: it sleeps reading
    its go pipe; at most one per zygote), and a killed child (a SIGKILL pending: it runs no more code,
    it is being torn down; or a zombie: dead, waiting to be reaped).
    Slot uids are unique per supervisor, so other test runs on the same machine do not show up here.

    Polled for up to `settle_s` seconds until none is left: right after a reply, the child prepared for
    the next job may still be in its set-up (already on the slot uid, not yet reading its go) and the
    last job's child may not be marked killed yet; on a loaded machine that lasts milliseconds. A
    process that really outlived its job is still there when the time is up."""
    deadline = time.monotonic() + settle_s
    while True:
        left = _sandbox_uid_processes_now(supervisor)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.01)


def _sandbox_uid_processes_now(supervisor: int | None) -> list[int]:
    lo = slot_uid(0, supervisor)
    out = []
    prepared: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
                if not lo <= uid < lo + 2 * MAX_WORKERS:
                    continue
                state, parent, wchan = process_stat(entry)
            except OSError:
                continue
            if state in ("Z", "K"):
                continue
            if state == "S" and "pipe_read" in wchan:
                prepared[parent] = prepared.get(parent, 0) + 1
                if prepared[parent] == 1:
                    continue
            out.append(int(entry))
    return out


@pytest.fixture(autouse=True)
def no_host_side_effects(backend: Backend):
    """Around every attack: no leftover sandbox processes, zygotes alive, a marker file never appears."""
    marker = Path("/tmp") / f"r1-attack-{secrets.token_hex(6)}"
    yield marker
    assert sandbox_uid_processes() == [], "a sandboxed process outlived its job"
    assert not marker.exists(), "the attack wrote a file on the host"
    ok = run(backend, "print(6 * 7)")
    assert ok.status is Status.OK and ok.stdout == b"42\n", f"the backend no longer works: {ok}"


def verdict(backend: Backend, source: str, cases, **kw):
    return backend.run(Program("python", source), cases, limits=kw.pop("limits", FAST), **kw)


# 1 -------------------------------------------------------------------------------------------------
def test_infinite_loop(backend: Backend) -> None:
    res = run(backend, "while True:\n    pass\n")
    assert res.status is Status.TIMEOUT and res.cpu_time >= 0.5  # rusage may read under the rlimit's count
    res = run(backend, "import time\ntime.sleep(60)\n", limits=Limits(cpu_time_s=0.5, wall_time_s=1.0))
    assert res.status is Status.TIMEOUT and res.wall_time < 5
    # swallowing signals does not help: the CPU limit ends in SIGKILL, the backstop too
    res = run(
        backend,
        "import signal\nfor s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGALRM):\n"
        "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n",
    )
    assert res.status is Status.TIMEOUT


# 2 -------------------------------------------------------------------------------------------------
def test_fork_and_thread_bomb(backend: Backend) -> None:
    for src in (
        "import os\nwhile True:\n    os.fork()\n",
        "import posix\nposix.fork()\nprint('forked')\n",
        "import subprocess\nsubprocess.run(['/bin/true'])\nprint('spawned')\n",
        "import os\nif os.system('true') == 0:\n    print('spawned')\nraise SystemExit(1)\n",
        "import os\nos.posix_spawn('/bin/true', ['true'], {})\nprint('spawned')\n",
    ):
        res = run(backend, src)
        assert res.status is Status.RUNTIME_ERROR, (src, res)
        assert b"forked" not in res.stdout and b"spawned" not in res.stdout
    res = run(
        backend,
        "import threading, time\nts = []\nfor i in range(1000):\n"
        "    t = threading.Thread(target=time.sleep, args=(30,), daemon=True)\n    t.start()\n    ts.append(t)\n"
        "print(len(ts))\n",
        limits=Limits(cpu_time_s=1.0, wall_time_s=3.0),
    )
    assert res.status is not Status.OK  # stopped by RLIMIT_NPROC (threads count)
    # a leftover daemon cannot exist: without fork there is nothing to leave behind
    res = run(backend, "import os\npid = os.fork()\n")
    assert res.status is Status.RUNTIME_ERROR


# 3 -------------------------------------------------------------------------------------------------
def test_memory_bomb(backend: Backend) -> None:
    res = run(backend, "x = bytearray(4 << 30)\nprint('allocated')\n")
    assert res.status is Status.MEMORY and b"allocated" not in res.stdout
    res = run(backend, "x = []\nwhile True:\n    x.append(' ' * 10**6)\n")
    assert res.status is Status.MEMORY
    res = run(backend, "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)\n")
    assert res.status in (Status.KILLED, Status.MEMORY, Status.RUNTIME_ERROR, Status.TIMEOUT)


# 4 -------------------------------------------------------------------------------------------------
def test_output_flood(backend: Backend) -> None:
    res = run(backend, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    assert res.status is Status.OUTPUT_LIMIT and len(res.stdout) <= FAST.output_bytes
    res = run(backend, "import os\nwhile True:\n    os.write(2, b'e' * 65536)\n")
    assert res.status is not Status.OK and len(res.stderr) <= 4096
    v = verdict(backend, "print('1\\n' * 10**7)", [StdioCase("", "1\n")])
    assert v.passed == 0


# 5 -------------------------------------------------------------------------------------------------
def test_disk_fill_and_file_tampering(backend: Backend, no_host_side_effects: Path) -> None:
    marker = no_host_side_effects
    target = Path(sys.executable).resolve()
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    src = f"""
import os
hits = []
for path in ['/etc/passwd', '/usr/bin/r1-evil', {str(target)!r}, '/bin/sh',
             {str(Path(__file__).resolve())!r}, '/root/evil']:
    try:
        with open(path, 'ab') as fh:
            fh.write(b'#evil')
        hits.append('wrote ' + path)
    except OSError:
        pass
    try:
        os.unlink(path)
        hits.append('deleted ' + path)
    except OSError:
        pass
try:
    with open('big', 'wb') as fh:
        while True:
            fh.write(b'0' * (1 << 20))
except OSError:
    pass
n = 0
try:
    while True:
        open('f%d' % n, 'wb').write(b'0' * 60000)
        n += 1
except OSError:
    pass
print(hits, os.path.getsize('big') <= {FAST.output_bytes}, n < 100000)
"""
    res = run(
        backend, src.replace("MARKER", str(marker)), limits=Limits(cpu_time_s=3.0, output_bytes=1 << 16)
    )
    assert res.stdout.startswith(b"[] True True"), res
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before


# 6 -------------------------------------------------------------------------------------------------
def test_network(backend: Backend) -> None:
    src = """
import socket
hits = []
for fam, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                  (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_STREAM)):
    try:
        s = socket.socket(fam, kind)
        hits.append(str(fam))
    except OSError:
        pass
try:
    socket.create_connection(('1.1.1.1', 80), timeout=1)
    hits.append('connected')
except OSError:
    pass
try:
    socket.getaddrinfo('pypi.org', 443)
    hits.append('dns')
except OSError:
    pass
print(hits)
"""
    res = run(backend, src)
    assert res.stdout == b"[]\n", res


# 7 -------------------------------------------------------------------------------------------------
def test_environment_secrets(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hf_" + secrets.token_hex(16)
    monkeypatch.setenv("HF_TOKEN", secret)
    fresh = EmbeddedBackend(workers=1) if isinstance(backend, EmbeddedBackend) else backend
    try:
        src = """
import os
out = [repr(dict(os.environ))]
for pid in ['self', '1', str(os.getppid())] + os.listdir('/proc'):
    for what in ('environ', 'cmdline'):
        try:
            out.append(open('/proc/%s/%s' % (pid, what), 'rb').read().decode(errors='replace'))
        except (OSError, ValueError):
            pass
print('\\n'.join(out))
"""
        res = run(fresh, src)
        assert res.status is Status.OK
        assert secret.encode() not in res.stdout and b"HF_TOKEN" not in res.stdout
    finally:
        if fresh is not backend:
            fresh.close()


# 8 -------------------------------------------------------------------------------------------------
def test_reading_expected_outputs(backend: Backend) -> None:
    # the expected value is "EXPECTED-<24 random hex>"; the scanner looks for that SHAPE (it cannot hold
    # the token itself, or it would find its own copy), in frames, the heap, its memory image, the
    # parent's memory and every readable file
    token = "EXPECTED-" + secrets.token_hex(12)
    scan_memory = """
import gc, os, re, sys
pat = re.compile("EXPEC" "TED-[0-9a-f]{24}")
bpat = re.compile(b"EXPEC" b"TED-[0-9a-f]{24}")
found = []
frame = sys._getframe()
while frame is not None:
    found += pat.findall(repr(frame.f_locals)) + pat.findall(repr(frame.f_globals))
    frame = frame.f_back
for o in gc.get_objects():
    if isinstance(o, (dict, list, tuple)):
        found += pat.findall(repr(o)[:100000])
for line in open('/proc/self/maps'):
    lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
    if 'rw' in line.split()[1] and hi - lo < 1 << 28:
        try:
            with open('/proc/self/mem', 'rb') as m:
                m.seek(lo)
                found += [x.decode() for x in bpat.findall(m.read(hi - lo))]
        except (OSError, OverflowError, ValueError):
            pass
for pid in (os.getppid(), 1):
    try:
        with open('/proc/%d/mem' % pid, 'rb') as m:
            m.read(1)
        found.append('parent mem %d' % pid)
    except OSError:
        pass
for root, dirs, files in os.walk('/'):
    if root.startswith(('/proc', '/sys', '/dev', '/usr', sys.base_prefix)):
        dirs[:] = []
        continue
    for f in files:
        try:
            found += [x.decode() for x in bpat.findall(open(os.path.join(root, f), 'rb').read(1 << 16))]
        except OSError:
            pass
found = sorted(set(found))
"""
    slow = Limits(cpu_time_s=5)
    # control: the scanner does find such a value when one is in its reach
    control = run(
        backend, "planted = 'EXPECTED-' + 'ab' * 12\n" + scan_memory + "print(found)\n", limits=slow
    )
    assert b"EXPECTED-abab" in control.stdout, control
    # stdio: the expected output exists only in the supervisor
    v = verdict(
        backend, scan_memory + "print(found[0] if found else '')\n", [StdioCase("", token)], limits=slow
    )
    assert v.passed == 0
    res = run(backend, scan_memory + "print(found)\n", limits=slow)
    assert res.stdout == b"[]\n", res
    # assert style: a checker holding the token has just run in the same zygote; nothing of it is left
    test = f"def check(candidate):\n    assert candidate() == {token!r}\n"
    body = "\n".join("    " + line for line in scan_memory.splitlines())
    for _ in range(2):
        v = verdict(
            backend,
            f"def f():\n{body}\n    return found[0] if found else ''\n",
            [AssertCase(test, "f")],
            limits=slow,
        )
        assert v.passed == 0 and v.infra_error is None
    res = run(backend, scan_memory + "print(found)\n", limits=slow)
    assert res.stdout == b"[]\n", res


# 9 -------------------------------------------------------------------------------------------------
def test_forging_the_result_channel(backend: Backend) -> None:
    forgeries = [
        # write a fake record, then leave before the harness writes the real one
        "import os\nos.write(3, b'{\"passed\": true}')\nos._exit(0)\n",
        "import os\nos.write(3, b'true')\nos._exit(0)\n",
        "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'{\"done\": true}')\n    except OSError:\n        pass\n"
        "def f(x):\n    return None\n",
        "print('All tests passed')\nimport sys\nsys.exit(0)\n",
    ]
    for src in forgeries:
        v = verdict(backend, src, [CallCase((3,), secrets.token_hex(4), entry_point="f")])
        assert v.passed == 0, src
        v = verdict(backend, src, [AssertCase("def check(c):\n    assert c(3) == 4\n", "f")])
        assert v.passed == 0 and v.infra_error is None, src
    # the child holds no descriptor of the zygote's socket: only fds 0-4 are open
    res = run(backend, "import os\nprint(sorted(int(x) for x in os.listdir('/proc/self/fd')))\n")
    assert json.loads(res.stdout) in ([0, 1, 2, 3], [0, 1, 2, 3, 4]), res


# 10 ------------------------------------------------------------------------------------------------
def test_lying_eq(backend: Backend) -> None:
    liars = [
        "class A(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return A(0)\n",
        "class L(list):\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return L()\n",
        "class O:\n    def __eq__(self, o):\n        return True\n    def __ne__(self, o):\n        return False\ndef f(x):\n    return O()\n",
        "class S(str):\n    def __eq__(self, o):\n        return True\n    __hash__ = str.__hash__\ndef f(x):\n    return S('no')\n",
        "import unittest.mock\ndef f(x):\n    return unittest.mock.ANY\n",
    ]
    for src in liars:
        v = verdict(backend, src, [CallCase((1,), [1, 2], entry_point="f")])
        assert v.passed == 0, src
        v = verdict(
            backend, src, [AssertCase("def check(candidate):\n    assert candidate(1) == [1, 2]\n", "f")]
        )
        assert v.passed == 0 and v.infra_error is None, src


# 11 ------------------------------------------------------------------------------------------------
def test_early_exit(backend: Backend) -> None:
    for stop in (
        "import sys\nsys.exit(0)",
        "import os\nos._exit(0)",
        "raise SystemExit",
        "exit(0)",
        "quit()",
    ):
        src = f"def f(x):\n    return x + 1\n{stop}\n"
        assert verdict(backend, src, [CallCase((1,), 3, entry_point="f")]).passed == 0, stop
        wrong_then_exit = f"def f(x):\n    return x + 1\n{stop}\n"
        a = AssertCase("def check(candidate):\n    assert candidate(1) == 3\n", "f")
        assert verdict(backend, wrong_then_exit, [a]).passed == 0, stop
        assert verdict(backend, f"{stop}\nprint(2)\n", [StdioCase("", "2")]).passed == 0, stop


# 12 ------------------------------------------------------------------------------------------------
def test_monkeypatching_the_harness(backend: Backend) -> None:
    patches = [
        "import builtins\nbuiltins.AssertionError = type('N', (Exception,), {})\n",
        "import json\njson.dumps = lambda *a, **k: 'true'\njson.loads = lambda *a, **k: {'done': True}\n",
        "import sys\ncanonical = sys.modules.get('canonical')\nif canonical:\n"
        "    canonical.encode = lambda v: '{\"done\": true}'\n    canonical.encode_value = lambda v, d=0: 7\n",
        "import os\nos._exit = lambda c: None\nimport sys\nsys.exit = lambda *a: None\n",
        "import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.isinstance = lambda a, b: True\n",
        "import random\nrandom.seed = lambda *a: None\nrandom.randint = lambda a, b: 0\n",
    ]
    for p in patches:
        src = p + "def f(x):\n    return -1\n"
        assert verdict(backend, src, [CallCase((2,), 4, entry_point="f")]).passed == 0, p
        a = AssertCase(
            "import random\ndef check(candidate):\n    x = random.randint(1, 9)\n    assert candidate(x) == 2 * x\n",
            "f",
        )
        v = verdict(backend, src, [a])
        assert v.passed == 0 and v.infra_error is None, (p, v)


# 13 ------------------------------------------------------------------------------------------------
def test_checker_tampering(backend: Backend) -> None:
    # plant modules where a checker could import them, and try to overwrite the harness itself
    zygote_script = Path(__file__).resolve().parents[2] / "sandbox" / "_zygote.py"
    before = hashlib.sha256(zygote_script.read_bytes()).hexdigest()
    planter = f"""
import os
for name in ('random.py', 'json.py', 'canonical.py', 'sitecustomize.py', 'usercustomize.py'):
    for d in ('.', '/tmp', os.path.dirname(os.__file__)):
        try:
            open(os.path.join(d, name), 'w').write('raise SystemExit(0)\\n')
        except OSError:
            pass
for path in ({str(zygote_script)!r}, os.__file__):
    try:
        open(path, 'a').write('\\n# tampered\\n')
    except OSError:
        pass
def f(x):
    return 0
"""
    test = AssertCase(
        "import random\ndef check(candidate):\n    assert candidate(random.randint(5, 9)) > 1\n", "f"
    )
    assert verdict(backend, planter, [test]).passed == 0
    # the next (honest) checker and candidate are unaffected
    assert verdict(backend, "def f(x):\n    return x\n", [test]).passed == 1
    assert hashlib.sha256(zygote_script.read_bytes()).hexdigest() == before


# 14 ------------------------------------------------------------------------------------------------
def test_killing_or_tracing_the_parent(backend: Backend) -> None:
    # kill(-1) returns 0 whenever another process exists in the namespace, even if every signal was
    # refused (EPERM is not reported for -1): its effect is checked below, on the child the zygote
    # prepared for the next job (alive and unharmed only if the next job runs normally)
    src = """
import ctypes, os, signal
hits = []
for pid in (os.getppid(), 1, 0):
    try:
        os.kill(pid, signal.SIGKILL) if pid not in (0,) else os.killpg(os.getpgid(0) - 0, signal.SIGCONT)
        if pid not in (0, os.getpid()):
            hits.append('signalled %d' % pid)
    except (OSError, ProcessLookupError):
        pass
for pid in range(2, 64):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGSTOP)
            hits.append('signalled %d' % pid)
        except OSError:
            pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(16, os.getppid(), None, None) == 0:  # PTRACE_ATTACH
    hits.append('ptrace')
print(hits)
"""
    pids = backend.pids() if isinstance(backend, EmbeddedBackend) else []
    for _ in range(3):  # each lands on another uid of the slot
        res = run(backend, src)
        assert res.status is Status.OK and res.stdout == b"[]\n", res
        after = run(backend, "print(6 * 7)")
        assert after.status is Status.OK and after.stdout == b"42\n", after
    for pid in pids:
        os.kill(pid, 0)  # still alive
    os.kill(os.getpid(), 0)


# 15 ------------------------------------------------------------------------------------------------
def test_state_leaking_between_tests(backend: Backend) -> None:
    writer = (
        "import os, builtins\nopen('state', 'w').write('x')\nopen('/tmp/state2', 'w').write('x')\n"
        "os.makedirs('a/b/c')\nopen('a/b/c/deep', 'w').write('x')\nos.symlink('/etc/passwd', 'link')\n"
        "builtins.LEAK = 1\nprint('ok')\n"
    )
    reader = (
        "import os, builtins\nprint(os.path.exists('state'), os.path.exists('/tmp/state2'), "
        "hasattr(builtins, 'LEAK'), os.listdir('.'))\n"
    )
    assert run(backend, writer).stdout == b"ok\n"
    for _ in range(3):  # whichever zygote takes it
        assert run(backend, reader).stdout == b"False False False []\n"
    # a program that "remembers" earlier test inputs cannot: every test starts from scratch
    remember = (
        "import os\nseen = open('seen').read() if os.path.exists('seen') else ''\n"
        "x = input()\nopen('seen', 'a').write(x)\nprint(seen + x)\n"
    )
    v = verdict(backend, remember, [StdioCase("a", "a"), StdioCase("b", "ab")])
    assert v.passed == 1


# 16 ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "got, want, kw",
    [
        (b"1\n", "1\n2\n3\n4\n", {}),  # prefix of the expected lines (the open-r1 zip() bug)
        (b"1\n2\n3\n4\n5\n", "1\n2\n3\n4\n", {}),  # extra lines
        (b"12\n", "1 2\n", {}),  # whitespace collapse
        (b"2 1\n", "1 2\n", {}),  # token-set comparison
        (b"1 2\n", "1\n2\n", {}),  # line joining
        (b"YES\n", "yes\n", {}),  # case only when asked
        (b"0.33\n", "0.333333\n", {"float_tol": 1e-6}),  # loose floats
        (b"nan\n", "0.5\n", {"float_tol": 1e-6}),
        (b"inf\n", "1e308\n", {"float_tol": 1e-6}),
        (b"", "0\n", {}),
        (b"1 2 3\n", "1 2\n", {}),
    ],
)
def test_comparator_exploits(backend: Backend, got: bytes, want: str, kw: dict) -> None:
    assert compare_stdout(got, want, **kw)[0] is False
    src = f"import sys\nsys.stdout.buffer.write({got!r})\n"
    v = verdict(backend, src, [StdioCase("", want, float_tol=kw.get("float_tol"))])
    assert v.passed == 0


# 17 ------------------------------------------------------------------------------------------------
def test_compile_time_attacks(backend: Backend) -> None:
    from verifiers.code import CodeReward
    from verifiers.types import Sample

    # Python compiles inside the child: a compile bomb is the child's problem
    for src in ("x = " + "(" * 5000 + ")" * 5000, "x = 2 ** 10 ** 10\n", "def f(:\n", "x = '\\N{nope}'\n"):
        res = run(backend, src, limits=Limits(cpu_time_s=1.0, memory_mb=256))
        assert res.status is not Status.OK, src
    # C++ compiles in its own sandboxed child (more bombs, bounded, in test_cpp.py): a compile-time
    # attack fails to compile, which is the program's fault (0.0), never a pass and never "cannot judge"
    cpp = '```cpp\n#include "/dev/zero"\n#include "/etc/shadow"\nint main(){}\n```'
    r = CodeReward(language="cpp").score(Sample(completion=cpp, tests=[{"input": "", "output": ""}]))
    assert r.score == 0.0 and r.info["first_failure"] == "compile_error", r
    assert "root:" not in r.info["compile_error"]
    v = backend.run(Program("cpp", cpp.strip("`").removeprefix("cpp\n")), [StdioCase("", "")], limits=FAST)
    assert v.passed == 0 and v.infra_error is None and v.compile_error is not None


# 18 ------------------------------------------------------------------------------------------------
def test_timing_noise(backend: Backend) -> None:
    # ~0.15 s of CPU with a 1 s CPU limit passes even while the host is saturated; a sleeping program
    # is judged on CPU, not on the wall clock
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]
    try:
        work = "s = 0\nfor i in range(1_500_000):\n    s += i\nprint(s)\n"
        want = str(sum(range(1_500_000)))
        for _ in range(3):
            v = verdict(backend, work, [StdioCase("", want)], limits=Limits(cpu_time_s=1.0))
            assert v.passed == 1, v
        v = verdict(
            backend,
            "import time\ntime.sleep(1.2)\nprint(1)\n",
            [StdioCase("", "1")],
            limits=Limits(cpu_time_s=1.0),
        )
        assert v.passed == 1, v
    finally:
        for b in burners:
            b.kill()
            b.wait()


# 19 ------------------------------------------------------------------------------------------------
def test_infrastructure_failure(backend: Backend) -> None:
    from verifiers.code import CodeReward
    from verifiers.types import Sample

    if not isinstance(backend, EmbeddedBackend):
        pytest.skip("kills a zygote of the embedded backend")
    b = EmbeddedBackend(workers=1, fast_loop=backend.fast_loop)
    try:
        (zpid,) = b.pids()
        killer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import os, time, signal\ntime.sleep(0.3)\nos.kill({zpid}, signal.SIGKILL)",
            ]
        )
        res = b.execute(Job("script", "import time\ntime.sleep(5)\n", limits=Limits(cpu_time_s=5)))
        killer.wait()
        assert res.status is Status.INFRA_ERROR, res
        v = b.run(Program("python", "print(1)"), [StdioCase("", "1")])
        assert v.passed == 1 and v.infra_error is None  # a fresh zygote took over
        # the reward says "cannot judge" (None), never 0, when the sandbox breaks
        b.close()
        import sandbox

        key = (os.getpid(), "embedded", False)
        saved = sandbox._backends.get(key)
        sandbox._backends[key] = b  # a closed backend: every job is an infrastructure failure
        try:
            r = CodeReward().score(
                Sample(completion="```python\nprint(1)\n```", tests=[{"input": "", "output": "1"}])
            )
        finally:
            if saved is None:
                sandbox._backends.pop(key, None)
            else:
                sandbox._backends[key] = saved
        assert r.score is None and r.reason == "sandbox_error", r
    finally:
        b.close()
    assert backend.isolation in (Isolation.FULL, Isolation.SECCOMP, Isolation.CONTAINER)
