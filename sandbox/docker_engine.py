"""Find, start and stop a Docker engine, and build the sandbox image locally.

Two ways to get an engine:

* an engine that already answers: ``$DOCKER_HOST`` or ``/var/run/docker.sock`` (`find_engine`);
* a **private** engine that this process starts and owns (`start_private_engine`): Debian's ``dockerd``
  with its socket, data, state and pid file in one short temporary directory, no bridge, no iptables rules
  and no IP masquerading, so it never touches the machine's networking; containers get ``network_mode=none``.
  `Engine.stop` removes its containers, stops the daemon (SIGTERM, then SIGKILL), unmounts what it left
  mounted, deletes the directory, and removes the empty directories and cgroups the daemon created outside it.

No registry is needed: `ensure_image` imports a tiny tar (mount points, the top-level symlinks of a merged-/usr
host, and the embedded backend's zygote, `sandbox/_zygote.py` with its `sandbox/canonical.py`) and the
containers run the host's ``/usr/bin/python3`` through read-only bind mounts of ``/usr`` (and of ``/bin``,
``/lib``, ``/lib64``, ``/sbin`` where those are real directories). The tag is a hash of the tar's content, so a
changed zygote builds a new image and an unchanged one is reused.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sysconfig
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "IMAGE_REPO",
    "LABEL",
    "DockerEngineError",
    "Engine",
    "dockerd_path",
    "ensure_image",
    "find_engine",
    "host_mounts",
    "image_tar",
    "clean_stale_engines",
    "start_private_engine",
]

IMAGE_REPO = "r1-sandbox"
"""Repository name of the locally built image; the tag is a content hash."""
LABEL = "r1-verifiers.sandbox"
"""Label put on every container we create, so a stop can find and remove them."""
IMAGE_FILES = {"opt/r1/_zygote.py": "_zygote.py", "opt/r1/canonical.py": "canonical.py"}
"""Files copied into the image: path in the image -> file beside this module."""


def image_files() -> dict[str, str]:
    """`IMAGE_FILES`, plus the zygote's C loop when it was built (`sandbox/_zygote_fast.c`; only
    the build for this interpreter's ABI, which the container's interpreter loads if it is the same)."""
    files = dict(IMAGE_FILES)
    built = "_zygote_fast" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so")
    if (Path(__file__).parent / built).is_file():
        files["opt/r1/" + built] = built
    return files


HOST_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/sbin")
# Paths a daemon creates outside its own directories whatever its flags say; removed at stop when they
# were absent before and are empty after (containerd keeps shim sockets under /run/containerd/s).
_STRAY_PATHS = ("/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd")


class DockerEngineError(RuntimeError):
    """The Docker engine could not be found, started, or used."""


def dockerd_path() -> str | None:
    """Path of the ``dockerd`` binary, or None when it is not installed.

    Returns:
        e.g. ``"/usr/sbin/dockerd"``; ``$PATH`` is searched first, then ``/usr/sbin`` and ``/usr/bin``.
    """
    found = shutil.which("dockerd")
    if found:
        return found
    for d in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        if os.access(f"{d}/dockerd", os.X_OK):
            return f"{d}/dockerd"
    return None


def _ping(base_url: str, timeout: float = 2.0) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=base_url, timeout=timeout)
    except docker.errors.DockerException:
        return False
    try:
        return bool(client.ping())
    except Exception:  # any transport error means "not answering"
        return False
    finally:
        client.close()


def find_engine() -> str | None:
    """Base URL of a Docker engine that already answers, or None.

    Looks at ``$R1_DOCKER_HOST``, then ``$DOCKER_HOST``, then ``unix:///var/run/docker.sock``.
    """
    candidates = [
        os.environ.get("R1_DOCKER_HOST"),
        os.environ.get("DOCKER_HOST"),
        "unix:///var/run/docker.sock",
    ]
    for url in candidates:
        if not url:
            continue
        if url.startswith("unix://") and not os.path.exists(url[len("unix://") :]):
            continue
        if _ping(url):
            return url
    return None


def _pdeathsig() -> None:  # runs in the forked child before exec
    # A private engine should not outlive a crashed owner: SIGTERM it when the owner thread dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


@dataclass
class Engine:
    """A Docker engine to talk to; `owned` engines were started by us and are stopped by `stop`."""

    base_url: str
    """Where the engine listens, e.g. ``unix:///tmp/r1-dockerd-123-ab/docker.sock``."""
    workdir: Path | None = None
    """The private engine's directory (socket, data root, exec root, pid file, log); None if not owned."""
    process: subprocess.Popen[bytes] | None = None
    """The ``dockerd`` process when we started it."""
    cgroup_parent: str | None = None
    """The cgroup parent our private engine puts containers in (removed at stop)."""
    _strays: list[str] = field(default_factory=list)

    @property
    def owned(self) -> bool:
        """True when this process started the engine and must stop it."""
        return self.process is not None

    def client(self, timeout: float = 60.0) -> Any:
        """A ``docker.DockerClient`` for this engine (close it when done)."""
        import docker

        return docker.DockerClient(base_url=self.base_url, timeout=timeout)

    def log_tail(self, n: int = 20) -> str:
        """The last `n` lines of the private engine's log, for error messages."""
        if self.workdir is None:
            return ""
        try:
            return "\n".join((self.workdir / "dockerd.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def remove_containers(self) -> int:
        """Force-remove every container carrying our label; returns how many were removed."""
        n = 0
        with contextlib.closing(self.client(timeout=30)) as client:
            for c in client.containers.list(all=True, filters={"label": LABEL}):
                with contextlib.suppress(Exception):
                    c.remove(force=True)
                    n += 1
        return n

    def stop(self, timeout: float = 15.0) -> None:
        """Stop a private engine and remove everything it left; a no-op for an engine we did not start."""
        if self.process is None:
            return
        proc, self.process = self.process, None
        if proc.poll() is None:
            with contextlib.suppress(Exception):
                self.remove_containers()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        assert self.workdir is not None
        _kill_leftovers(self.workdir)  # a containerd, shim or container process that outlived dockerd
        _unmount_under(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)
        # Daemon litter outside our directory: ours to remove when we made it, or when we are the last
        # private engine still running (another one may have made it while ours ran). Only empty
        # directories go: whatever someone else keeps there stays.
        last = not any(d != self.workdir for d in Path("/tmp").glob("r1d-*-*"))
        for path in _STRAY_PATHS if last else self._strays:
            with contextlib.suppress(OSError):
                os.rmdir(path)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cgroup_parent(workdir: Path) -> str:
    return f"r1-sandbox-{workdir.name}"


def _kill_leftovers(workdir: Path) -> None:
    """Kill what a private engine left running, then remove its cgroups.

    Its daemon, containerd and shims name `workdir` in their arguments; its containers' processes do not,
    but they all sit in the engine's own cgroup parent (``r1-sandbox-<workdir name>``) in every hierarchy.
    """
    _kill_processes_naming(workdir)
    groups = [
        g
        for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/*")
        for g in Path("/").glob(f"{root.lstrip('/')}/{_cgroup_parent(workdir)}")
    ]
    for _ in range(50):
        alive = False
        for group in groups:
            for procs in group.rglob("cgroup.procs"):
                with contextlib.suppress(OSError, ValueError):
                    for pid in procs.read_text().split():
                        alive = True
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(int(pid), signal.SIGKILL)
        if not alive:
            break
        time.sleep(0.05)
    _remove_dead_shim_sockets()
    for group in groups:  # children before parents; a cgroup goes once its last task is reaped
        for d in sorted(
            (p for p in group.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            group.rmdir()


def _remove_dead_shim_sockets(directory: str = "/run/containerd/s") -> None:
    """Unlink the sockets of killed containerd shims: only those that refuse connections (no listener)."""
    for path in Path(directory).glob("*"):
        with contextlib.suppress(OSError):
            if not stat.S_ISSOCK(path.lstat().st_mode):
                continue
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(path))
                except ConnectionRefusedError:
                    path.unlink()


def _kill_processes_naming(workdir: Path) -> list[int]:
    """SIGKILL every process whose command line names `workdir` (our daemon, its containerd, its shims).

    Only a private engine's own processes carry its directory (a fresh random name) in their arguments.
    """
    needle = str(workdir).encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return killed


def _unmount_under(root: Path) -> None:
    prefix = str(root.resolve()) + "/"
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    points = [ln.split()[1] for ln in lines if len(ln.split()) > 1]
    for mp in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, check=False)


def start_private_engine(*, timeout: float = 40.0, dockerd: str | None = None) -> Engine:
    """Start a private ``dockerd`` owned by this process and wait until it answers.

    Args:
        timeout: seconds to wait for the engine's first answer (it usually takes 1-5 s).
        dockerd: the binary; default `dockerd_path()`.

    Returns:
        A running, owned `Engine`; call `Engine.stop` (or use it as a context manager).

    Raises:
        DockerEngineError: dockerd is not installed, we are not root, or it did not come up in time
            (the message carries the end of its log).
    """
    binary = dockerd or dockerd_path()
    if binary is None:
        raise DockerEngineError(
            "dockerd is not installed; install Debian's docker.io (`apt-get install docker.io`, which "
            "scripts/setup.sh does) or point $DOCKER_HOST at a running engine"
        )
    if os.geteuid() != 0:
        raise DockerEngineError(
            f"a private dockerd needs root (euid is {os.geteuid()}); run as root or point $DOCKER_HOST at an engine"
        )
    clean_stale_engines()
    # Unix socket paths are limited to 107 bytes: keep the directory short.
    workdir = Path(tempfile.mkdtemp(prefix=f"r1d-{os.getpid()}-", dir="/tmp"))
    strays = [p for p in _STRAY_PATHS if not os.path.exists(p)]
    sock = workdir / "docker.sock"
    cgroup_parent = "/" + _cgroup_parent(workdir)
    config = workdir / "daemon.json"
    # Our own config file, so /etc/docker/daemon.json is ignored and the trust key stays in our directory.
    config.write_text(json.dumps({"deprecated-key-path": str(workdir / "key.json")}))
    args = [
        binary,
        f"--host=unix://{sock}",
        f"--data-root={workdir / 'root'}",
        f"--exec-root={workdir / 'exec'}",
        f"--pidfile={workdir / 'docker.pid'}",
        f"--config-file={config}",
        f"--cgroup-parent={cgroup_parent}",
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        "--log-level=warn",
    ]
    # PR_SET_PDEATHSIG fires when the parent *thread* exits: only tie the daemon to the main thread,
    # which lives as long as the process (an engine started from a pool thread is stopped by close/atexit).
    tie = _pdeathsig if threading.current_thread() is threading.main_thread() else None
    log = open(workdir / "dockerd.log", "wb")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=tie
        )
    finally:
        log.close()
    engine = Engine(
        base_url=f"unix://{sock}", workdir=workdir, process=proc, cgroup_parent=cgroup_parent, _strays=strays
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = engine.log_tail()
            engine.stop()
            raise DockerEngineError(f"dockerd exited with status {proc.returncode} while starting:\n{tail}")
        if sock.exists() and _ping(engine.base_url, timeout=2.0):
            return engine
        time.sleep(0.1)
    tail = engine.log_tail()
    engine.stop()
    raise DockerEngineError(f"dockerd did not answer within {timeout:.0f} s:\n{tail}")


def clean_stale_engines() -> list[str]:
    """Remove what private engines of dead processes left (their owner was SIGKILLed before `Engine.stop`).

    A private engine's directory is ``/tmp/r1d-<owner pid>-*``; when that pid is gone, the engine's daemon
    got SIGTERM with it (PR_SET_PDEATHSIG) and the directory is only litter. Returns the removed paths.
    """
    removed = []
    for d in Path("/tmp").glob("r1d-*-*"):
        try:
            owner = int(d.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        _kill_leftovers(d)  # a daemon that outlived its owner, its shims, its containers' processes
        _unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(str(d))
    if removed and not any(Path("/tmp").glob("r1d-*-*")):
        for path in _STRAY_PATHS:
            with contextlib.suppress(OSError):
                os.rmdir(path)  # only when empty
    return removed


def host_mounts() -> tuple[list[str], dict[str, str]]:
    """How the host's interpreter is made visible in the image.

    Returns:
        (bind, links): `bind` lists the real host system directories to bind-mount read-only at the same
        path; `links` maps a top-level name to its symlink target for merged-/usr hosts (``lib -> usr/lib``).
    """
    bind, links = [], {}
    for d in HOST_SYSTEM_DIRS:
        if os.path.islink(d):
            links[d.lstrip("/")] = os.readlink(d).lstrip("/")
        elif os.path.isdir(d):
            bind.append(d)
    return bind, links


def image_tar() -> bytes:
    """The image's whole root filesystem as an uncompressed tar (a few kB).

    Holds empty mount points, the top-level symlinks of a merged-/usr host, a two-line ``/etc/passwd``
    and the zygote at ``/opt/r1/_zygote.py`` (with ``canonical.py`` and, when built, the C loop). Deterministic (fixed mtimes and owners), so its hash is a
    stable tag.
    """
    bind, links = host_mounts()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o444) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))

        for d in ("dev", "proc", "sys", "etc", "opt", "opt/r1", "r1"):
            add_dir(d)
        add_dir("tmp", 0o755)
        for d in bind:
            add_dir(d.lstrip("/"))
        for name, target in sorted(links.items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 0
            tar.addfile(info)
        add_file("etc/passwd", b"root:x:0:0::/:/bin/false\nsandbox:x:61000:61000::/tmp:/bin/false\n")
        add_file("etc/group", b"root:x:0:\nsandbox:x:61000:\n")
        here = Path(__file__).parent
        for name, src in sorted(image_files().items()):
            add_file(name, (here / src).read_bytes())
    return buf.getvalue()


def ensure_image(client: Any) -> str:
    """Build (once) and return the sandbox image tag, e.g. ``"r1-sandbox:3f2a9c01b7de"``.

    Args:
        client: a ``docker.DockerClient``.

    The tag is the first 12 hex digits of the tar's SHA-256: an engine that already has it is not asked
    to import again.
    """
    import docker

    data = image_tar()
    tag = hashlib.sha256(data).hexdigest()[:12]
    ref = f"{IMAGE_REPO}:{tag}"
    try:
        client.images.get(ref)
        return ref
    except docker.errors.ImageNotFound:
        pass
    client.api.import_image_from_data(data, repository=IMAGE_REPO, tag=tag)
    client.images.get(ref)  # raises if the import did not produce it
    return ref
