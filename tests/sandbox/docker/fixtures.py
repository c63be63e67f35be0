"""Session fixtures for tests that need a real Docker engine (imported by conftest files).

`docker_engine` starts a private ``dockerd`` (socket, data and state in one temporary directory; no bridge,
no iptables) once per session and stops it at the end, checking that it left nothing behind. It skips
only when no engine can exist here: ``dockerd`` is not installed (``scripts/setup.sh`` installs Debian's
``docker.io``) or we are not root, and no engine answers at ``$DOCKER_HOST``. A dockerd that is installed
but fails to start is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.docker_engine import Engine, dockerd_path, find_engine, start_private_engine

__all__ = ["docker_backend", "docker_engine"]


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    """A running engine: private (started and stopped here) when possible, else one that already answers."""
    if dockerd_path() is not None and os.geteuid() == 0:
        engine = start_private_engine()
        try:
            yield engine
        finally:
            workdir = engine.workdir
            engine.stop()
            assert workdir is not None and not workdir.exists(), f"the private engine left {workdir} behind"
        return
    url = find_engine()
    if url is None:
        pytest.skip(
            "no Docker engine: dockerd is not installed (apt-get install docker.io, as scripts/setup.sh does) "
            "or we are not root, and nothing answers at $DOCKER_HOST or /var/run/docker.sock"
        )
    yield Engine(base_url=url)


@pytest.fixture(scope="session")
def docker_backend(docker_engine: Engine) -> Iterator[object]:
    """A `DockerBackend` with two containers on the session's engine (closed at the end)."""
    from sandbox.docker_backend import DockerBackend

    backend = DockerBackend(engine=docker_engine, workers=2)
    try:
        yield backend
    finally:
        backend.close()
