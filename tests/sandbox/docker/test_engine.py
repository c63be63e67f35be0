"""The private engine and the locally built image: start, answer, stop, and leave nothing behind."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import time
from contextlib import closing
from pathlib import Path

import pytest

from sandbox.docker_engine import (
    IMAGE_REPO,
    Engine,
    clean_stale_engines,
    dockerd_path,
    ensure_image,
    image_tar,
    start_private_engine,
)

pytestmark = pytest.mark.docker


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path) + "/"
    return [
        ln.split()[1]
        for ln in Path("/proc/self/mounts").read_text().splitlines()
        if ln.split()[1].startswith(prefix)
    ]


def test_image_tar_is_deterministic_and_holds_the_zygote() -> None:
    data = image_tar()
    assert data == image_tar()  # same content, same tag: no rebuild
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert "opt/r1/_zygote.py" in names and "opt/r1/canonical.py" in names
    assert len(data) < 200_000


def test_image_is_built_once_and_reused(docker_engine: Engine) -> None:
    with closing(docker_engine.client()) as client:
        tag = ensure_image(client)
        assert tag.startswith(IMAGE_REPO + ":")
        image_id = client.images.get(tag).id
        assert ensure_image(client) == tag and client.images.get(tag).id == image_id


@pytest.mark.skipif(dockerd_path() is None or os.geteuid() != 0, reason="needs dockerd installed and root")
def test_private_engine_stops_without_leftovers() -> None:
    engine = start_private_engine()
    assert engine.owned and engine.workdir is not None
    workdir, pid = engine.workdir, engine.process.pid  # type: ignore[union-attr]
    with closing(engine.client()) as client:
        assert client.ping()
        tag = ensure_image(client)
        client.containers.run(
            tag,
            ["/usr/bin/python3", "-c", "pass"],
            volumes={"/usr": {"bind": "/usr", "mode": "ro"}},
            network_mode="none",
            detach=True,
        )  # left running on purpose: stop() removes it
    engine.stop()
    assert not workdir.exists()
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not _mounts_under(workdir)
    engine.stop()  # idempotent


def test_stale_engine_directories_of_dead_owners_are_removed(tmp_path: Path) -> None:
    # a directory named like a private engine whose owner pid cannot exist
    stale = Path("/tmp/r1d-4194999-test")
    stale.mkdir()
    (stale / "root").mkdir()
    try:
        assert str(stale) in clean_stale_engines()
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()


@pytest.mark.skipif(dockerd_path() is None or os.geteuid() != 0, reason="needs dockerd installed and root")
def test_engine_of_a_killed_owner_dies_and_is_cleaned_up_later() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", CRASHING_OWNER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    assert owner.stdout is not None
    workdir = Path(owner.stdout.readline().strip())  # the engine answers: its directory is printed
    owner.stdout.close()
    assert workdir.name.startswith(f"r1d-{owner.pid}-")
    owner.kill()  # SIGKILL: no Engine.stop, no atexit
    owner.wait()
    removed = []
    for _ in range(100):  # the daemon got SIGTERM from the kernel (PR_SET_PDEATHSIG) and shuts down
        removed = clean_stale_engines()
        if not workdir.exists():
            break
        time.sleep(0.1)
    assert str(workdir) in removed and not workdir.exists()
    for entry in Path("/proc").iterdir():  # no daemon, containerd or shim of that engine is left
        with contextlib.suppress(OSError):
            assert str(workdir).encode() not in (entry / "cmdline").read_bytes(), entry.name
    assert not _mounts_under(workdir)
    assert not list(Path("/sys/fs/cgroup").glob(f"*/r1-sandbox-{workdir.name}")), "its cgroups are left"
    assert not any(b"time.sleep(600)" in p.read_bytes() for p in Path("/proc").glob("[0-9]*/cmdline")), (
        "the container's process survived"
    )


CRASHING_OWNER = """
from contextlib import closing
from sandbox.docker_engine import ensure_image, start_private_engine
engine = start_private_engine()
with closing(engine.client()) as client:
    tag = ensure_image(client)
    client.containers.run(tag, ["/usr/bin/python3", "-c", "import time; time.sleep(600)"],
                          volumes={"/usr": {"bind": "/usr", "mode": "ro"}}, network_mode="none", detach=True)
print(engine.workdir, flush=True)
import time; time.sleep(600)
"""
