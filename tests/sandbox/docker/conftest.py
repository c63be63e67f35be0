"""Docker backend tests share one private engine per session (see `fixtures`)."""

from __future__ import annotations

from tests.sandbox.docker.fixtures import docker_backend, docker_engine  # noqa: F401  (fixtures)
