"""The supervised worker pool: deadlines by kill-and-respawn, crash isolation, threads and asyncio."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.verifiers import pool_tasks as t
from verifiers import ConfigError, PoolError, TaskFailed, TaskTimeout, WorkerCrashed, WorkerPool


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(2, default_deadline=5.0, memory_limit_mb=512)
    yield p
    p.shutdown()


def test_results_come_back_in_order(pool):
    futures = pool.map(t.double, list(range(50)))
    assert [f.result() for f in futures] == [2 * i for i in range(50)]


def test_hung_task_costs_at_most_deadline_plus_half_a_second(pool):
    before = len(pool.pids())
    t0 = time.monotonic()
    fut = pool.submit(t.hang, deadline=0.3)
    with pytest.raises(TaskTimeout):
        fut.result()
    assert time.monotonic() - t0 <= 0.3 + 0.5
    assert len(pool.pids()) == before
    assert pool.submit(t.double, 21).result() == 42  # the replacement worker works


def test_sleeping_task_is_killed_too(pool):
    with pytest.raises(TaskTimeout):
        pool.submit(t.sleep_forever, deadline=0.2).result(timeout=2)


def test_kill_reaches_processes_the_task_started(pool, tmp_path):
    marker = tmp_path / "grandchild.pid"
    with pytest.raises(TaskTimeout):
        pool.submit(t.spawn_grandchild_and_hang, str(marker), deadline=2.0).result(timeout=10)
    gpid = int(marker.read_text())
    for _ in range(300):
        if not _alive(gpid):  # gone, or a zombie waiting for init to reap it: dead either way
            break
        time.sleep(0.01)
    else:
        pytest.fail("the grandchild survived the deadline kill")


def test_crash_fails_only_that_task(pool):
    crash = pool.submit(t.die)
    fine = pool.submit(t.double, 1)
    with pytest.raises(WorkerCrashed):
        crash.result(timeout=5)
    assert fine.result(timeout=5) == 2


def test_exception_is_reported_with_its_type(pool):
    with pytest.raises(TaskFailed) as info:
        pool.submit(t.boom).result(timeout=5)
    assert info.value.remote_type == "ValueError"
    assert "broken reward" in str(info.value)


def test_memory_limit_fails_the_task_not_the_pool(pool):
    with pytest.raises((TaskFailed, WorkerCrashed)):
        pool.submit(t.allocate, 2048).result(timeout=10)
    assert pool.submit(t.allocate, 8).result(timeout=5) == 8 * 1024 * 1024


def test_memory_limit_counts_from_a_big_forking_parent():
    # a trainer maps gigabytes (torch, CUDA, thread stacks); a worker forked from it starts with that
    # address space. The limit is what a task may add: 512 MB more works, far more still fails.
    import mmap

    reserved = mmap.mmap(-1, 1536 << 20, prot=mmap.PROT_READ)  # address space, no memory
    try:
        with WorkerPool(1, default_deadline=10.0, memory_limit_mb=512, start_method="fork") as p:
            assert p.submit(t.allocate, 64).result(timeout=10) == 64 * 1024 * 1024
            with pytest.raises((TaskFailed, WorkerCrashed)):
                p.submit(t.allocate, 2048).result(timeout=10)
    finally:
        reserved.close()


def test_unpicklable_task_is_refused_at_submit(pool):
    with pytest.raises(PoolError, match="cannot be sent"):
        pool.submit(lambda: 1)


def test_process_count_constant_over_1000_tasks_with_hangs():
    before = {c for c in os.listdir("/proc") if c.isdigit() and _ppid(int(c)) == os.getpid()}
    with WorkerPool(2, default_deadline=5.0) as p:
        start = len(p.pids())
        futures = []
        for i in range(1000):
            if i % 100 == 0:
                futures.append(p.submit(t.hang, deadline=0.1))
            else:
                futures.append(p.submit(t.double, i))
        timeouts = 0
        for f in futures:
            try:
                f.result(timeout=30)
            except TaskTimeout:
                timeouts += 1
        assert timeouts == 10
        for _ in range(200):  # a timed-out task is reported before its replacement worker starts
            if p.stats.respawns == 10:
                break
            time.sleep(0.01)
        assert p.stats.respawns == 10
        assert len(p.pids()) == start
        children = {c for c in os.listdir("/proc") if c.isdigit() and _ppid(int(c)) == os.getpid()} - before
        # this pool's workers, plus the forkserver if this pool started it, and nothing leaked
        assert len([c for c in children if _alive(int(c))]) <= start + 1


def test_works_from_threads(pool):
    def call(i):
        return pool.submit(t.double, i).result(timeout=10)

    with ThreadPoolExecutor(8) as ex:
        assert list(ex.map(call, range(64))) == [2 * i for i in range(64)]


def test_works_from_asyncio_and_a_hang_does_not_block_the_loop(pool):
    async def main():
        hung = asyncio.wrap_future(pool.submit(t.hang, deadline=0.3))
        ok = await asyncio.gather(*(asyncio.wrap_future(pool.submit(t.double, i)) for i in range(10)))
        with pytest.raises(TaskTimeout):
            await hung
        return ok

    assert asyncio.run(main()) == [2 * i for i in range(10)]


def test_hang_from_a_non_main_thread_is_still_bounded(pool):
    out = {}

    def run():
        t0 = time.monotonic()
        try:
            pool.submit(t.hang, deadline=0.25).result()
        except TaskTimeout:
            out["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=run)
    th.start()
    th.join(5)
    assert out["elapsed"] <= 0.25 + 0.5


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ConfigError, match="at least 1 worker"):
        WorkerPool(0)
    with pytest.raises(ConfigError, match="start_method"):
        WorkerPool(1, start_method="teleport")


def test_shutdown_fails_pending_tasks():
    p = WorkerPool(1)
    p.submit(t.sleep_forever, deadline=30)
    queued = p.submit(t.double, 1)
    p.shutdown()
    with pytest.raises(PoolError):
        queued.result(timeout=5)
    with pytest.raises(PoolError, match="shut down"):
        p.submit(t.double, 1)


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_that_die_at_start_up_fail_tasks_instead_of_respawning_forever():
    p = WorkerPool(1, initializer=t.die)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                p.submit(t.double, 1).result(timeout=10)
            except PoolError as exc:
                if "keep dying before serving any task" in str(exc):
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the pool kept respawning workers that die at start-up")
    finally:
        p.shutdown()


def test_loading_the_task_module_is_not_charged_to_the_task_deadline():
    # A fresh worker that must import a slow module (1 s) still runs a 0.3 s-deadline task: under load,
    # charging imports to the task made every first task after a respawn time out, and each timeout respawned.
    with WorkerPool(1, start_method="forkserver") as p:
        from tests.verifiers import slow_import_task

        assert p.submit(slow_import_task.quick, 1, deadline=0.3).result(timeout=30) == 2
        assert p.stats.timeouts == 0
