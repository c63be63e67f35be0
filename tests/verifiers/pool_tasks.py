"""Module-level task functions for pool tests (workers must be able to import them)."""

import os
import time


def double(x: int) -> int:
    return 2 * x


def hang(_: object = None) -> None:
    while True:
        pass


def sleep_forever(_: object = None) -> None:
    time.sleep(1e9)


def die(_: object = None) -> None:
    os._exit(3)


def boom(_: object = None) -> None:
    raise ValueError("broken reward")


def allocate(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def pid(_: object = None) -> int:
    return os.getpid()


def spawn_grandchild_and_hang(path: str) -> None:
    """Start a grandchild that writes its pid to `path`, then hang; the kill must reach both."""
    import subprocess

    child = subprocess.Popen(["sleep", "1000"])
    with open(path, "w") as fh:
        fh.write(str(child.pid))
    while True:
        time.sleep(0.01)
