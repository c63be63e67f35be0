"""HTTP reward server speaking OpenRLHF's remote reward-model protocol.

    python -m verifiers serve --rewards math,format:0.5 --host 127.0.0.1 --port 8000
    # OpenRLHF: --remote_rm_url http://127.0.0.1:8000/get_reward

Endpoints:
    POST /get_reward   ``{"query": [...], "prompts": [...], "labels": [...]}`` (prompts and labels
                       optional) -> ``{"rewards": [...], "scores": [...], "extra_logs": {term: [...],
                       "judged": [...]}, "reasons": [{term: code}, ...]}``. A term that cannot judge
                       is NaN in ``extra_logs`` (Python's JSON reads it; OpenRLHF's client is Python).
    POST /score        ``{"samples": [record, ...]}`` in our record schema (`verifiers.types`) ->
                       ``{"results": [{"rewards", "reasons", "reward"}, ...]}`` (null = cannot judge).
    GET  /health       ``{"status": "ok", "rewards": {term: weight}, "workers": N}``.
    GET  /metrics      per-term mean/std/none/errors/timeouts/latency since start.

Scoring goes through one `Composition` whose heavy rewards run in the supervised worker pool (a
hung reward is killed at its deadline and scores None). Limits, each answered with a JSON
``{"detail": ...}`` that says what was wrong, while the server keeps serving:
413 body larger than ``max_body_bytes`` or more than ``max_batch`` items; 400 not JSON;
422 JSON of the wrong shape; 504 scoring took longer than ``request_timeout``; 503 too many
requests already waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import math
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from verifiers.adapters._common import RewardsSpec, resolve_terms
from verifiers.adapters.openrlhf import build_samples, reply
from verifiers.compose import Composition, ScoredSample
from verifiers.errors import ConfigError, RecordError
from verifiers.pool import WorkerPool
from verifiers.registry import Registry
from verifiers.types import Sample

__all__ = ["ServerConfig", "create_app", "run_server", "serve_in_thread", "serve_main"]


@dataclass(frozen=True)
class ServerConfig:
    """Options of the reward server."""

    max_body_bytes: int = 32 * 1024 * 1024
    """Largest request body accepted (413 above)."""
    max_batch: int = 4096
    """Most items (queries or samples) in one request (413 above)."""
    request_timeout: float = 120.0
    """Seconds one request may spend scoring before it is answered 504 (OpenRLHF's client waits 180 s)."""
    max_pending: int = 64
    """Requests scoring or waiting at once; more are answered 503 at once."""
    threads: int = 8
    """Threads that run scoring calls (heavy rewards run in the worker pool, not here)."""
    none_score: float = 0.0
    """Reward returned for a sample no reward could judge (flagged by ``extra_logs["judged"]`` = 0)."""
    label_field: str | None = None
    """Record field for OpenRLHF ``labels`` (default: ``answer``, or ``tests`` for code rewards)."""

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_batch", "max_pending", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ServerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.request_timeout > 0:
            raise ConfigError(f"ServerConfig.request_timeout must be > 0 seconds, got {self.request_timeout}")


class NanJSONResponse(JSONResponse):
    """JSON with NaN allowed (a term that cannot judge, in extra_logs; Python clients read it)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=True, separators=(",", ":")).encode("utf-8")


class _HTTPError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def create_app(
    rewards: RewardsSpec,
    *,
    config: ServerConfig | None = None,
    registry: Registry | None = None,
    pool: WorkerPool | None | bool = None,
) -> Any:
    """The FastAPI app. `pool`: the worker pool for heavy rewards (None: the shared pool)."""
    cfg = config or ServerConfig()
    comp = Composition(resolve_terms(rewards, registry=registry), pool=pool)
    keys = [t.key for t in comp.terms]
    executor = concurrent.futures.ThreadPoolExecutor(cfg.threads, thread_name_prefix="reward-score")
    pending = threading.BoundedSemaphore(cfg.max_pending)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="r1-verifiers reward server", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.composition = comp

    async def score(samples: list[Sample]) -> list[ScoredSample]:
        if not pending.acquire(blocking=False):
            raise _HTTPError(503, f"server busy: {cfg.max_pending} requests already pending; retry later")
        try:
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(executor, _score_blocking, comp, samples, cfg.request_timeout)
            try:
                # the outer guard also catches a slow *inline* reward, which the job timeout cannot see
                return await asyncio.wait_for(job, cfg.request_timeout + 0.5)
            except (asyncio.TimeoutError, concurrent.futures.TimeoutError, TimeoutError):
                raise _HTTPError(
                    504,
                    f"scoring {len(samples)} item(s) took longer than the server's request_timeout "
                    f"({cfg.request_timeout:g} s); send smaller batches or raise --timeout",
                ) from None
        finally:
            pending.release()

    async def openrlhf(request: Request) -> dict[str, Any]:
        body = await _read_json(request, cfg.max_body_bytes)
        query, prompts, labels = _openrlhf_fields(body, cfg.max_batch)
        try:
            samples = build_samples(query, prompts, labels, terms=comp.terms, label_field=cfg.label_field)
        except RecordError as exc:
            raise _HTTPError(422, str(exc)) from None
        out = reply(await score(samples), keys, none_score=cfg.none_score)
        out["extra_logs"] = {k: [math.nan if v is None else v for v in vals] for k, vals in out["extra_logs"].items()}
        return out

    async def records(request: Request) -> dict[str, Any]:
        body = await _read_json(request, cfg.max_body_bytes)
        items = body.get("samples") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _HTTPError(422, f"expected a JSON object {{\"samples\": [record, ...]}}, got {_shape(body)}")
        if len(items) > cfg.max_batch:
            raise _HTTPError(413, f"{len(items)} samples in one request; the limit is {cfg.max_batch}")
        samples = []
        for i, record in enumerate(items):
            try:
                samples.append(Sample.from_record(record))
            except ValueError as exc:
                raise _HTTPError(422, f"samples[{i}]: {exc}") from None
        return {"results": [s.to_record() for s in await score(samples)]}

    async def answer(handler: Any, request: Request) -> NanJSONResponse:
        try:
            return NanJSONResponse(await handler(request))
        except _HTTPError as exc:
            return NanJSONResponse({"detail": exc.detail}, status_code=exc.status)
        except Exception as exc:  # a bug in a reward with on_error="raise": answer it, keep serving
            return NanJSONResponse({"detail": f"internal error while scoring: {type(exc).__name__}: {exc}"},
                                   status_code=500)

    @app.post("/get_reward")
    async def get_reward(request: Request) -> NanJSONResponse:
        return await answer(openrlhf, request)

    @app.post("/score")
    async def score_records(request: Request) -> NanJSONResponse:
        return await answer(records, request)

    @app.get("/health")
    async def health() -> NanJSONResponse:
        workers = comp._pool()  # the pool this composition uses, if any
        return NanJSONResponse({"status": "ok", "rewards": dict(comp.weights),
                                "workers": workers.size if workers is not None else 0})

    @app.get("/metrics")
    async def metrics() -> NanJSONResponse:
        return NanJSONResponse(comp.metrics())

    return app


def _score_blocking(comp: Composition, samples: list[Sample], timeout: float) -> list[ScoredSample]:
    return comp.submit(samples).result(timeout=timeout)


async def _read_json(request: Any, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _HTTPError(400, f"Content-Length must be an integer, got {declared!r}") from None
        if size > limit:
            raise _HTTPError(413, f"request body is {size} bytes; the limit is {limit} bytes (send smaller batches)")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _HTTPError(413, f"request body exceeds the limit of {limit} bytes (send smaller batches)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _HTTPError(400, "request body is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise _HTTPError(400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _openrlhf_fields(body: Any, max_batch: int) -> tuple[list[Any], list[Any] | None, list[Any] | None]:
    if not isinstance(body, dict):
        raise _HTTPError(422, f"expected a JSON object with 'query' (and 'prompts', 'labels'), got {_shape(body)}")
    query = body.get("query")
    if query is None:
        raise _HTTPError(422, f"missing field 'query' (a list of prompt+response strings); got keys {sorted(body)}")
    if isinstance(query, str):
        query = [query]
    if not isinstance(query, list):
        raise _HTTPError(422, f"'query' must be a list of strings, got {_shape(query)}")
    if len(query) > max_batch:
        raise _HTTPError(413, f"{len(query)} queries in one request; the limit is {max_batch}")
    out: list[list[Any] | None] = []
    for name in ("prompts", "labels"):
        value = body.get(name)
        if isinstance(value, str) and len(query) == 1:
            value = [value]
        if value is not None and not isinstance(value, list):
            raise _HTTPError(422, f"'{name}' must be a list (one per query) or null, got {_shape(value)}")
        out.append(value)
    return query, out[0], out[1]


def _shape(value: Any) -> str:
    return "null" if value is None else type(value).__name__ if not isinstance(value, dict) else "object"


# -- running ----------------------------------------------------------------------------------
@contextmanager
def serve_in_thread(
    rewards: RewardsSpec,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    config: ServerConfig | None = None,
    registry: Registry | None = None,
    pool: WorkerPool | None | bool = None,
) -> Iterator[str]:
    """Run the server in a background thread (port 0: a free port); yields its base URL and stops
    it on exit. For tests, benchmarks and notebooks."""
    import uvicorn

    app = create_app(rewards, config=config, registry=registry, pool=pool)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this; without it Nagle + delayed ACK add ~40 ms per response
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="reward-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"reward server did not start on {host}:{bound}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_server(
    rewards: RewardsSpec,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int | None = None,
    deadline: float = 10.0,
    config: ServerConfig | None = None,
    log_level: str = "info",
) -> None:
    """Serve `rewards` until interrupted. `workers`: pool processes (None: CPU count; 0: score inline);
    `deadline`: default seconds per heavy-reward task before its worker is killed."""
    import uvicorn

    terms = resolve_terms(rewards)
    heavy = any(t.reward.heavy and t.reward.scope == "sample" for t in terms)
    pool: WorkerPool | bool = WorkerPool(workers, default_deadline=deadline) if heavy and workers != 0 else False
    try:
        app = create_app(terms, config=config, pool=pool)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if isinstance(pool, WorkerPool):
            pool.shutdown()


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``python -m verifiers serve ...``: parse `argv` and run the server (returns the exit code)."""
    p = argparse.ArgumentParser(prog="python -m verifiers serve", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rewards", required=True, help="comma list NAME[:WEIGHT] (e.g. math,format:0.5) or a .toml file")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count; 0: inline)")
    p.add_argument("--deadline", type=float, default=10.0, help="default seconds per heavy task before its worker is killed")
    p.add_argument("--timeout", type=float, default=ServerConfig.request_timeout, help="seconds per request (504 after)")
    p.add_argument("--max-body-mb", type=float, default=ServerConfig.max_body_bytes / 2**20, help="413 above this")
    p.add_argument("--max-batch", type=int, default=ServerConfig.max_batch, help="413 above this many items")
    p.add_argument("--none-score", type=float, default=0.0, help="reward for a sample no reward can judge")
    p.add_argument("--label-field", default=None, help="record field for OpenRLHF labels (default: answer, or tests)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    args = p.parse_args(list(argv) if argv is not None else None)
    config = ServerConfig(
        max_body_bytes=int(args.max_body_mb * 2**20), max_batch=args.max_batch, request_timeout=args.timeout,
        none_score=args.none_score, label_field=args.label_field,
    )
    run_server(args.rewards, host=args.host, port=args.port, workers=args.workers, deadline=args.deadline,
               config=config, log_level=args.log_level)
    return 0
