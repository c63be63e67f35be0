"""Fixtures for the sandbox tests.

`backend` is parametrized by backend name; the Docker helper adds "docker" to `BACKENDS` (or overrides the
fixture in tests/sandbox/docker/). Each backend is started once per session and closed at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.backend import Backend

# "embedded-pyloop": the embedded backend with its zygotes' pure-Python job loop, the fallback where the
# C loop (sandbox/_zygote_fast.c) was not built; every sandbox test holds for both loops.
BACKENDS = ["embedded", "embedded-pyloop", pytest.param("docker", marks=pytest.mark.docker)]
DATA = Path(__file__).resolve().parents[1] / "data" / "code"
SHARED = Path(__file__).resolve().parents[3] / "shared"
_started: dict[str, Backend] = {}


def make_backend(name: str) -> Backend:
    if name not in _started:
        if name == "embedded":
            from sandbox.embedded import EmbeddedBackend, fast_loop_built

            _started[name] = EmbeddedBackend(workers=2)
            if fast_loop_built():  # built here: a test run that silently fell back would test one loop twice
                assert _started[name].fast_loop, "the C job loop is built but the zygote did not use it"
        elif name == "embedded-pyloop":
            from sandbox.embedded import EmbeddedBackend

            _started[name] = EmbeddedBackend(workers=2, fast_loop=False)
            assert not _started[name].fast_loop
        elif name == "docker":
            from sandbox.docker_backend import DockerBackend, engine_available
            from sandbox.docker_engine import dockerd_path

            # skip only where no engine can exist; an installed engine that fails is a test failure
            if (dockerd_path() is None or os.geteuid() != 0) and not engine_available():
                pytest.skip("no Docker engine: install docker.io (scripts/setup.sh does) or set $DOCKER_HOST")
            _started[name] = DockerBackend(workers=2)  # its own private engine, stopped by close()
        else:
            raise ValueError(name)
    return _started[name]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield make_backend(request.param)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for b in _started.values():
        b.close()
    _started.clear()
