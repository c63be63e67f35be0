"""A supervised pool of persistent worker processes whose tasks can be killed at a deadline.

Why not `multiprocessing.Pool` / `ProcessPoolExecutor`: neither can kill one hung task, so a
pathological input (a sympy power tower, Math-Verify#65, `while True`) keeps a worker forever
(AReaL#1426, verl#3290). Here:

* each worker is a long-lived process with its own duplex pipe, in its own process group;
* a supervisor thread in the parent dispatches tasks, watches deadlines, and on expiry
  SIGKILLs the worker's whole process group and starts a replacement (process count constant);
* a crash (signal, OOM, ``os._exit``) fails only the task that was running;
* `submit` returns a `concurrent.futures.Future`, so callers may be any thread or asyncio
  (`asyncio.wrap_future`); nothing here uses `signal.alarm`.

Start method: ``forkserver`` by default (safe after CUDA is initialised, as the trainer needs;
pays ~1 s once per pool), ``fork`` on request where the parent is known single-threaded.

Threat model: tasks are *our* reward functions on untrusted *data*; the pool bounds time and
memory (RLIMIT_AS per worker) but is not a sandbox for untrusted *code* (see `sandbox`).
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from verifiers.errors import ConfigError, PoolError, TaskFailed, TaskTimeout, WorkerCrashed

__all__ = ["PoolStats", "WorkerPool", "get_pool", "shutdown_pool"]


@dataclass
class PoolStats:
    """Counters since the pool started."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    timeouts: int = 0
    crashes: int = 0
    respawns: int = 0


@dataclass
class _Task:
    id: int
    payload: bytes
    deadline: float
    future: Future[Any]


class _Worker:
    def __init__(self, proc: Any, conn: Connection) -> None:
        self.proc = proc
        self.conn = conn
        self.task: _Task | None = None
        self.expires = float("inf")
        self.served = False
        """True once the worker has returned a result (start-up went fine)."""


def _address_space_bytes() -> int:
    """This process's mapped address space (VmSize), 0 where /proc does not say."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _worker_main(conn: Connection, memory_limit_mb: int | None, initializer: Callable[[], Any] | None) -> None:
    """Worker loop: receive ``(id, fn, args)``, reply ``(id, ok, payload)``. Runs in the main thread."""
    try:
        os.setpgid(0, 0)  # own process group: a kill reaches whatever the task started
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    if memory_limit_mb:
        import resource

        # on top of what the worker already maps: a worker forked from a big process (a trainer with
        # torch loaded maps gigabytes) would otherwise start above its limit and fail every allocation
        limit = _address_space_bytes() + memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if initializer is not None:
        initializer()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        task_id, payload = msg
        try:
            fn, args = pickle.loads(payload)  # may import the reward's modules: not the task's time
            conn.send((task_id, None, None))  # "started": the deadline counts from here
            result = fn(*args)
            reply = (task_id, True, result)
        except MemoryError:
            reply = (task_id, False, ("MemoryError", "task exceeded the worker memory limit"))
        except BaseException as exc:  # the task's failure is data for the parent
            tb = traceback.format_exc(limit=5)
            reply = (task_id, False, (type(exc).__name__, f"{exc}\n{tb}"))
        try:
            conn.send(reply)
        except Exception as exc:  # unpicklable result
            conn.send((task_id, False, ("PicklingError", f"task result could not be sent: {exc}")))


class WorkerPool:
    """Persistent worker processes with a per-task deadline enforced by kill-and-respawn.

    Args:
        workers: number of processes (default: CPU count).
        default_deadline: seconds a task may run when `submit` gives none.
        memory_limit_mb: address space a worker may add to what it maps when it starts (RLIMIT_AS set
            to that sum; None: no limit). A task that exceeds it fails with MemoryError or crashes;
            either way only that task is lost.
        start_method: "forkserver" (default; safe after CUDA init) or "fork" or "spawn".
        initializer: called once in each new worker (e.g. to warm a detector); must be picklable.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        default_deadline: float = 10.0,
        memory_limit_mb: int | None = 2048,
        start_method: str = "forkserver",
        initializer: Callable[[], Any] | None = None,
    ) -> None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise ConfigError(f"WorkerPool needs at least 1 worker, got workers={workers}")
        if default_deadline <= 0:
            raise ConfigError(f"default_deadline must be > 0 seconds, got {default_deadline}")
        if start_method not in mp.get_all_start_methods():
            raise ConfigError(
                f"start_method {start_method!r} is not available here; use one of {mp.get_all_start_methods()}"
            )
        self.size = n
        self.default_deadline = default_deadline
        self.memory_limit_mb = memory_limit_mb
        self.stats = PoolStats()
        self._ctx: Any = mp.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(["verifiers"])
        self._initializer = initializer
        self._queue: deque[_Task] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._startup_deaths = 0
        self._broken: PoolError | None = None
        self._workers = [self._spawn() for _ in range(n)]
        self._thread = threading.Thread(target=self._supervise, name="verifiers-pool", daemon=True)
        self._thread.start()

    # -- public API ---------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, deadline: float | None = None) -> Future[Any]:
        """Run ``fn(*args)`` in a worker. The future raises TaskTimeout, WorkerCrashed or TaskFailed.

        `fn` and `args` must be picklable (module-level functions, `Reward` objects, plain data).
        The deadline counts from when a worker has loaded the task and starts it, not from submission
        (loading, which may import the reward's modules, has its own `LOAD_DEADLINE`).
        """
        limit = self.default_deadline if deadline is None else float(deadline)
        if limit <= 0:
            raise ConfigError(f"deadline must be > 0 seconds, got {deadline}")
        try:
            payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise PoolError(
                f"task {getattr(fn, '__qualname__', fn)!r} cannot be sent to a worker: {exc}; use module-level "
                "functions and picklable arguments (Reward objects, plain data), not lambdas or closures"
            ) from exc
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                if self._broken is not None:
                    raise PoolError(f"the pool stopped: {self._broken}")
                raise PoolError("the pool is shut down; create a new WorkerPool")
            self._queue.append(_Task(next(self._ids), payload, limit, future))
            self.stats.submitted += 1
        self._wake()
        return future

    def map(self, fn: Callable[..., Any], items: list[Any], *, deadline: float | None = None) -> list[Future[Any]]:
        """Submit ``fn(item)`` for each item; returns the futures in order."""
        return [self.submit(fn, item, deadline=deadline) for item in items]

    def pids(self) -> list[int]:
        """PIDs of the current workers (changes when a worker is replaced)."""
        return [w.proc.pid for w in self._workers]

    def shutdown(self, *, wait_for_tasks: bool = False) -> None:
        """Stop the workers. Pending tasks fail with PoolError unless `wait_for_tasks`."""
        if wait_for_tasks:
            while True:
                with self._lock:
                    busy = self._queue or any(w.task for w in self._workers)
                if not busy:
                    break
                time.sleep(0.005)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._queue)
            self._queue.clear()
        for task in pending:
            _set_exception(task.future, PoolError("the pool was shut down before the task ran"))
        self._wake()
        self._thread.join(timeout=5)
        for w in self._workers:
            if w.task is not None:
                _set_exception(w.task.future, PoolError("the pool was shut down while the task ran"))
            self._kill(w)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- supervisor ---------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=_worker_main, args=(child, self.memory_limit_mb, self._initializer), daemon=True
        )
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _kill(self, w: _Worker) -> None:
        if w.conn.closed:
            return  # already killed (a timeout or crash path kills, reports, then replaces)
        pid = w.proc.pid
        for kill in (os.killpg, os.kill):  # the group first: whatever the task started dies with it
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass
        w.proc.join(timeout=2)
        w.conn.close()

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        new = self._spawn()
        w.proc, w.conn, w.task, w.expires, w.served = new.proc, new.conn, None, float("inf"), False
        self.stats.respawns += 1

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                for w in self._workers:
                    if w.task is None and self._queue:
                        task = self._queue.popleft()
                        if not task.future.set_running_or_notify_cancel():
                            continue
                        try:
                            w.conn.send((task.id, task.payload))
                        except Exception as exc:  # unpicklable task, or the worker died idle
                            if isinstance(exc, (BrokenPipeError, ConnectionResetError, EOFError)):
                                self._replace(w)
                            _set_exception(task.future, TaskFailed(type(exc).__name__, f"could not send task: {exc}"))
                            self.stats.failed += 1
                            continue
                        w.task, w.expires = task, time.monotonic() + max(LOAD_DEADLINE, task.deadline)
            now = time.monotonic()
            busy = [w for w in self._workers if w.task is not None]
            timeout = min((w.expires for w in busy), default=now + 1.0) - now
            ready = wait([w.conn for w in busy] + [self._wake_r], timeout=max(0.0, timeout))
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            with self._lock:
                for w in busy:
                    if w.conn in ready:
                        self._collect(w)
                now = time.monotonic()
                for w in self._workers:
                    if w.task is not None and now >= w.expires:
                        task = w.task
                        self._kill(w)  # report first, respawn after: the caller is not kept waiting
                        self.stats.timeouts += 1
                        _set_exception(
                            task.future,
                            TaskTimeout(f"task ran past its {task.deadline:g} s deadline; the worker was killed"),
                        )
                        self._replace(w)
                    elif not w.proc.is_alive() and w.task is None:
                        code = w.proc.exitcode
                        self._replace(w)  # died while idle (e.g. killed from outside)
                        if self._count_startup_death(code):
                            return

    def _count_startup_death(self, exitcode: int | None) -> bool:
        """Count a worker that died before serving any task; past a limit the pool gives up (True)."""
        self._startup_deaths += 1
        if self._startup_deaths <= _MAX_STARTUP_DEATHS:
            return False
        self._fail_everything(
            PoolError(
                f"workers keep dying before serving any task ({self._startup_deaths} in a row, last exit code "
                f"{exitcode}); check the initializer and memory_limit_mb"
            )
        )
        return True

    def _fail_everything(self, exc: PoolError) -> None:
        """Called with the lock held when the pool cannot go on: fail queued tasks, refuse new ones."""
        self._closed = True
        self._broken = exc
        for task in self._queue:
            _set_exception(task.future, exc)
        self._queue.clear()

    def _collect(self, w: _Worker) -> None:
        task = w.task
        assert task is not None
        try:
            task_id, ok, payload = w.conn.recv()
        except (EOFError, OSError, ConnectionResetError):
            self._kill(w)
            self.stats.crashes += 1
            code = w.proc.exitcode
            _set_exception(task.future, WorkerCrashed(f"the worker died while running the task (exit code {code})"))
            fresh = not w.served
            self._replace(w)
            if fresh:
                self._count_startup_death(code)
            return
        if ok is None:  # the worker has loaded the task and starts it now
            w.expires = time.monotonic() + task.deadline
            return
        w.task, w.expires, w.served = None, float("inf"), True
        self._startup_deaths = 0
        if ok:
            self.stats.completed += 1
            if not task.future.done():
                task.future.set_result(payload)
        else:
            self.stats.failed += 1
            _set_exception(task.future, TaskFailed(*payload))


_MAX_STARTUP_DEATHS = 20

LOAD_DEADLINE = 60.0
"""Seconds a worker may take to load a task (unpickle it, importing the reward's modules: math-verify
and sympy take seconds on a loaded machine) before the task's own deadline starts. Charging imports to
the task would make every first task after a respawn time out under load, and each timeout respawns."""


def _set_exception(future: Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def get_pool(**kwargs: Any) -> WorkerPool:
    """The process-wide shared pool, started on first use (kwargs apply only to that first call)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = WorkerPool(**kwargs)
            atexit.register(shutdown_pool)
        return _default


def shutdown_pool() -> None:
    """Shut the shared pool down (it restarts on the next `get_pool`)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.shutdown()
            _default = None
