"""C++ as the second language (sandbox.cpp): compile in its own sandboxed policy, cache by source hash, exec
the cached binary per test. On every backend in `BACKENDS`.

Sources that must really reach the compiler carry a random comment (a fresh cache key); the others are
stable so the on-disk cache keeps repeated runs fast.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox import Job, Limits, Program, RunResult, Status, StdioCase, cpp
from sandbox.backend import Backend
from tests.sandbox.conftest import DATA
from tests.sandbox.test_attacks import sandbox_uid_processes
from verifiers.code import CodeReward, extract_code
from verifiers.types import Reason, Sample

FAST = Limits(cpu_time_s=1.0, memory_mb=256, output_bytes=1 << 16)
TIGHT_COMPILE = Limits(cpu_time_s=2.0, memory_mb=512, output_bytes=8 << 20, open_files=64, threads=32)
"""Compile limits for the compile-bomb tests: the same mechanism as `cpp.COMPILE_LIMITS`, reached sooner."""
A_PLUS_B = '#include <cstdio>\nint main(){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a+b);}\n'
CASES = [
    StdioCase("1 2\n", "3\n"),
    StdioCase("-7 7\n", "0\n"),
    StdioCase("2000000000 2000000000\n", "4000000000\n"),
]
PROBLEMS = [
    json.loads(line) for line in (DATA / "cpp_stdio_problems.jsonl").read_text().splitlines() if line.strip()
]

pytestmark = pytest.mark.skipif(
    not any(os.access(os.path.join(d, "g++"), os.X_OK) for d in ("/usr/bin", "/bin")), reason="no g++"
)


class Counting(Backend):
    """Delegates to a real backend and records each job's mode (to see whether the compiler ran)."""

    def __init__(self, inner: Backend) -> None:
        self.inner, self.modes = inner, []
        self.isolation, self.name = inner.isolation, inner.name

    def execute(self, job: Job) -> RunResult:
        self.modes.append(job.mode)
        return self.inner.execute(job)

    def close(self) -> None:
        pass

    @property
    def parallelism(self) -> int:
        return self.inner.parallelism


@pytest.fixture(autouse=True)
def no_host_side_effects(backend: Backend) -> Iterator[Path]:
    marker = Path("/tmp") / f"r1-cpp-attack-{secrets.token_hex(6)}"
    yield marker
    time.sleep(0.05)
    assert sandbox_uid_processes() == [], "a sandboxed process outlived its job"
    assert not marker.exists(), "the program wrote a file on the host"
    v = backend.run(Program("cpp", A_PLUS_B), CASES[:1], limits=FAST)
    assert v.all_passed, f"the backend no longer runs C++: {v}"


def fresh(src: str) -> str:
    """`src` with a random comment: a new cache key, so the compiler really runs."""
    return f"// {secrets.token_hex(8)}\n{src}"


def native(backend: Backend, src: str, stdin: str = "", limits: Limits = FAST) -> RunResult:
    b = cpp.build(backend, src)
    assert b.binary is not None, b.error
    return backend.execute(
        Job("native", "", stdin=stdin.encode(), limits=limits, language="cpp", binary=b.binary)
    )


# ---- verdicts ------------------------------------------------------------------------------------
def test_a_plus_b_correct_passes_and_wrong_fails(backend: Backend) -> None:
    v = backend.run(Program("cpp", A_PLUS_B), CASES, limits=FAST)
    assert v.all_passed and v.infra_error is None and v.compile_error is None, v
    wrong = A_PLUS_B.replace("a+b", "a-b")
    v = backend.run(Program("cpp", wrong), CASES, limits=FAST)
    assert v.passed == 0 and v.infra_error is None
    overflow = A_PLUS_B.replace("long long", "int").replace("%lld", "%d")
    assert not backend.run(Program("cpp", overflow), CASES, limits=FAST).all_passed


def test_compile_error_is_a_failed_verdict_not_infra(backend: Backend) -> None:
    v = backend.run(Program("cpp", fresh("int main( { return 0; }\n")), CASES, limits=FAST)
    assert v.infra_error is None and v.passed == 0 and v.total == len(CASES)
    assert all(o.status is Status.COMPILE_ERROR and o.reason == "compile_error" for o in v.outcomes)
    assert v.compile_error is not None and "error" in v.compile_error


def test_second_run_uses_the_cached_binary(backend: Backend) -> None:
    src = fresh(A_PLUS_B)
    first = Counting(backend)
    assert first.run(Program("cpp", src), CASES, limits=FAST).all_passed
    assert first.modes.count("compile") == 1 and first.modes.count("native") == len(CASES)
    again = Counting(backend)
    assert again.run(Program("cpp", src), CASES, limits=FAST).all_passed
    assert again.modes == ["native"] * len(CASES), "the compiler ran again for a cached source"
    bad = fresh("int main() { return x; }\n")  # compile errors are cached as well
    Counting(backend).run(Program("cpp", bad), CASES[:1], limits=FAST)
    c = Counting(backend)
    assert c.run(Program("cpp", bad), CASES[:1], limits=FAST).compile_error is not None and c.modes == []


def test_binary_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = cpp.BinaryCache(tmp_path, max_bytes=2500)
    for k, key in enumerate(("a" * 64, "b" * 64, "c" * 64)):
        cache.put_binary(key, b"x" * 1000)
        os.utime(cache.root / f"{key}.bin", (1000 + k, 1000 + k))
    assert not (cache.root / ("a" * 64 + ".bin")).exists()  # the third put evicted the oldest
    assert cache.binary("b" * 64) is not None  # a hit makes b the most recently used
    cache.put_binary("d" * 64, b"x" * 1000)
    assert cache.binary("c" * 64) is None and cache.binary("b" * 64) is not None
    assert oct(cache.root.stat().st_mode & 0o777) == "0o700"


def test_toolchain_key_covers_source_flags_and_compiler() -> None:
    tc = cpp.toolchain()
    assert tc.key("int main(){}") != tc.key("int main(){} ")
    assert tc.key("x") != cpp.Toolchain(tc.compiler, tc.version, ("-O0",)).key("x")
    assert tc.key("x") != cpp.Toolchain(tc.compiler, tc.version + "-other").key("x")


# ---- compile-time attacks (research/sandbox.md §6 #17) ---------------------------------------------
COMPILE_BOMBS = {
    "include_dev_zero": '#include "/dev/zero"\nint main(){}\n',
    "include_dev_random": "#include </dev/random>\nint main(){}\n",
    "include_secret": '#include "/etc/shadow"\nint main(){}\n',
    "template_bomb": "#include <utility>\ntemplate<class T,int N> struct B { using t = typename B<std::pair<T,T>,N-1>::t; };\n"
    "template<class T> struct B<T,0> { using t = T; };\nint main(){ B<int,40>::t x; (void)x; }\n",
    "constexpr_loop": "constexpr long long f(){ long long s=0; for(long long i=0;i<(1LL<<60);i++) s+=i; return s; }\n"
    "constexpr long long v = f();\nint main(){ return (int)v; }\n",
    "giant_bss_array": "char a[1LL<<40];\nint main(){ a[5]=1; return a[7]; }\n",
    "giant_data_array": "char a[1<<30] = {1};\nint main(){ return a[7]; }\n",
}


@pytest.mark.parametrize("name", sorted(COMPILE_BOMBS))
def test_compile_time_attack_is_bounded(backend: Backend, name: str) -> None:
    t0 = time.monotonic()
    b = cpp.build(backend, fresh(COMPILE_BOMBS[name]), limits=TIGHT_COMPILE)
    assert b.binary is None and b.error, b  # it failed to compile: the program's fault
    assert b.compiled and time.monotonic() - t0 < TIGHT_COMPILE.wall + 5
    if name == "include_secret":
        assert "root:" not in b.error


# ---- runtime attacks in C++ ------------------------------------------------------------------------
def test_fork_exec_and_socket_are_denied(backend: Backend) -> None:
    src = r"""#include <cstdio>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
int main(){
  pid_t p = fork(); if (p == 0) _exit(0); std::puts(p > 0 ? "forked" : "no-fork");
  int n = 0; for (int i = 0; i < 1000; i++) if (fork() > 0) n++; std::printf("%d\n", n);
  execl("/bin/sh", "sh", "-c", "echo pwned", (char*)0); std::puts("no-execve");
  int fd = open("/bin/true", O_RDONLY);
  char* argv[] = {(char*)"true", 0}; char* envp[] = {0};
  syscall(SYS_execveat, fd, "", argv, envp, 0x1000); std::puts("no-execveat-other-fd");
  std::puts(socket(AF_INET, SOCK_STREAM, 0) < 0 ? "no-socket" : "socket");
  std::puts(socket(AF_UNIX, SOCK_STREAM, 0) < 0 ? "no-socket" : "socket");
  return 0; }
"""
    res = native(backend, src)
    assert res.status is Status.OK, res
    assert res.stdout == b"no-fork\n0\nno-execve\nno-execveat-other-fd\nno-socket\nno-socket\n", res.stdout


def test_infinite_loop_and_sleep_time_out(backend: Backend) -> None:
    res = native(backend, "int main(){ volatile unsigned long x = 0; for(;;) x++; }\n")
    assert res.status is Status.TIMEOUT and res.cpu_time >= 0.5
    res = native(
        backend,
        "#include <unistd.h>\nint main(){ sleep(60); }\n",
        limits=Limits(cpu_time_s=0.5, wall_time_s=1.0),
    )
    assert res.status is Status.TIMEOUT and res.wall_time < 5


def test_memory_bomb(backend: Backend) -> None:
    res = native(
        backend,
        "#include <vector>\n#include <cstdio>\nint main(){ std::vector<char*> v; for(;;){ char* p = new char[1<<20];"
        ' for(int i=0;i<(1<<20);i+=4096) p[i]=1; v.push_back(p);} std::puts("allocated"); }\n',
    )
    assert (
        res.status in (Status.MEMORY, Status.KILLED, Status.RUNTIME_ERROR) and b"allocated" not in res.stdout
    )
    res = native(
        backend,
        "int f(int n){ volatile char b[4096]; b[0]=n; return f(n+1)+b[0]; }\nint main(){ return f(0); }\n",
    )
    assert res.status is not Status.OK


def test_writes_outside_scratch_fail(backend: Backend, no_host_side_effects: Path) -> None:
    src = r"""#include <cstdio>
int main(){ const char* paths[] = {"/etc/passwd", "/usr/bin/r1-evil", "/bin/sh", "/root/evil"};
  FILE* m = std::fopen("MARKER", "w"); if (m) std::fclose(m);  // the sandbox's own /tmp at most, never the host's
  int hits = 0; for (const char* p : paths) { FILE* f = std::fopen(p, "a"); if (f) { hits++; std::fclose(f); } }
  FILE* f = std::fopen("big", "w"); long n = 0; if (f) { while (std::fputc('0', f) != EOF && n < (1L << 30)) n++; std::fclose(f); }
  std::printf("%d %d\n", hits, n < (1L << 30)); }
""".replace("MARKER", str(no_host_side_effects))
    res = native(backend, src, limits=Limits(cpu_time_s=3.0, output_bytes=1 << 16))
    assert res.stdout.startswith(b"0 1"), res


def test_program_cannot_fake_harness_codes_or_infra_errors(backend: Backend) -> None:
    for code, src in ((90, "int main(){ return 90; }\n"), (92, "int main(){ return 92; }\n")):
        res = native(backend, src)
        assert res.status is Status.RUNTIME_ERROR and res.exit_code == code, res
    forge = '#include <unistd.h>\nint main(){ write(3, "{\\"exec_failed\\": \\"x\\"}", 22); return 0; }\n'
    assert native(backend, forge).status is Status.OK  # the channel is closed on exec: not INFRA_ERROR
    v = backend.run(Program("cpp", "int main(){ return 0; }\n"), CASES, limits=FAST)
    assert v.passed == 0 and v.infra_error is None


# ---- the `code` reward with C++ -------------------------------------------------------------------
def test_extract_cpp_fences() -> None:
    for tag in ("cpp", "c++", "cc", "C++"):
        assert (
            extract_code(f"x\n```python\nprint(1)\n```\n```{tag}\nint main(){{}}\n```\n", language="cpp")
            == "int main(){}\n"
        )
    assert extract_code("```python\nprint(1)\n```", language="cpp") is None


def test_code_reward_cpp(backend: Backend) -> None:
    if backend.name != "embedded":
        pytest.skip("the reward's own backend is the embedded one")
    tests = {"style": "stdio", "language": "cpp", "cases": [{"input": "1 2\n", "output": "3\n"}]}
    reward = CodeReward()
    ok = reward.score(Sample(completion=f"Here:\n```cpp\n{A_PLUS_B}```", tests=tests))
    assert ok.score == 1.0, ok
    bad = reward.score(Sample(completion="```c++\nint main( {\n```", tests=tests))
    assert bad.score == 0.0 and bad.reason == Reason.WRONG and bad.info["first_failure"] == "compile_error", (
        bad
    )
    assert "error" in bad.info["compile_error"]
    by_param = CodeReward(language="cpp").score(
        Sample(completion=f"```cc\n{A_PLUS_B}```", tests=[{"input": "2 2\n", "output": "4\n"}])
    )
    assert by_param.score == 1.0, by_param
    call = {"style": "call", "language": "cpp", "entry_point": "f", "cases": [{"args": [1], "expected": 1}]}
    assert (
        CodeReward().score(Sample(completion="```cpp\nint f(int x){return x;}\n```", tests=call)).score
        is None
    )


def test_cpp_stdio_problems(backend: Backend) -> None:
    if backend.name != "embedded":
        pytest.skip("the reward's own backend is the embedded one")
    assert len(PROBLEMS) >= 5 and all(p["wrong"] for p in PROBLEMS)
    reward = CodeReward(mode="fraction")
    jobs = [(p["id"], "correct", p, p["correct"]) for p in PROBLEMS]
    jobs += [(p["id"], f"wrong{i}", p, w) for p in PROBLEMS for i, w in enumerate(p["wrong"])]

    def score(j: tuple) -> tuple:
        r = reward.score(Sample(completion=f"```cpp\n{j[3]}```", tests=j[2]["tests"]))
        return j[0], j[1], r.score

    with ThreadPoolExecutor(2) as ex:
        scores = list(ex.map(score, jobs))
    bad = [(pid, kind, s) for pid, kind, s in scores if s is None or (s == 1.0) != (kind == "correct")]
    assert not bad, bad
