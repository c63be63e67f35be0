"""The seccomp filters of the sandbox, built once with libseccomp (via `pyseccomp`).

Filters come in two layers, because attaching a filter is not free: the kernel checks, converts and
JIT-compiles it and precomputes its per-syscall cache on every attach (about 180 us for the full
102-instruction filter on a Firecracker VM, against about 55 us for a short one).

* The **base** layer (``"zygote"``) is loaded ONCE, by the zygote itself, after its start-up (namespaces,
  mounts) and before it forks any child; every child inherits it and can never remove it. Default
  action: allow. Denied with EPERM: creating sockets (``socket``, ``socketpair``, ``accept*``,
  ``connect``, ``bind``, ``listen``), ptrace and cross-process memory access, ``pidfd_getfd`` and
  ``pidfd_send_signal``, namespace and mount changes, bpf, keyrings, perf, userfaultfd, io_uring,
  module, reboot and clock calls, and System V / POSIX IPC objects (they outlive the process that made
  them). ``clone3`` returns ENOSYS, not EPERM, so glibc falls back to ``clone`` for threads (with EPERM,
  glibc 2.36 cannot start threads at all). The zygote itself still needs process creation, exec (for the
  C++ compiler), ``pidfd_open`` and message I/O on the socket it already holds, so the base allows those.
* A **child** layer per policy, loaded by each child on top of the base before it runs any job code:

  - ``"python"``: also denies message I/O (``sendto``/``recvfrom``/``sendmsg``/``recvmsg``; the child has
    no socket and cannot make one, this is belt and braces), ``pidfd_open``, execve/execveat (Python runs
    in-process), fork/vfork and ``clone`` without CLONE_THREAD (threads stay allowed, bounded by
    RLIMIT_NPROC).
  - ``"native"`` (a compiled C++ solution): as ``"python"``, but ``execveat`` is allowed when its
    descriptor argument is `NATIVE_FD` and its flags are exactly ``AT_EMPTY_PATH``: the child execs the
    cached binary that the supervisor opened read-only and passed as that descriptor. ``execve`` stays
    denied. (A running binary could open another file on that descriptor number and exec it; that gains
    nothing, because the filters, rlimits, uid and no_new_privs all survive exec and the new program
    can do no more than native code already can.)
  - ``"compile"``: the compiler driver must start cc1plus, as and ld, so fork, vfork, process-creating
    clone, execve and execveat stay allowed (bounded by the compile job's RLIMIT_NPROC); message I/O and
    ``pidfd_open`` are denied.

What a child may do is the intersection of both layers (`effective_denied` lists it per policy).
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

__all__ = [
    "BASE_DENIED",
    "CHILD_DENIED",
    "NATIVE_FD",
    "POLICIES",
    "SeccompUnavailable",
    "effective_denied",
    "filter_bpf",
]

CLONE_THREAD = 0x00010000
AT_EMPTY_PATH = 0x1000
NATIVE_FD = 4
"""The descriptor on which a native child receives its binary (the job descriptor of `_zygote`)."""
POLICIES = ("zygote", "python", "native", "compile")
"""``"zygote"`` is the base layer; the other three are child layers loaded on top of it."""
_EXEC = ("execve", "execveat")
_PROCESS = ("fork", "vfork")
_MESSAGES = ("sendto", "recvfrom", "sendmsg", "recvmsg")

BASE_DENIED = (
    "socket socketpair connect bind listen accept accept4 sendmmsg recvmmsg "
    "ptrace process_vm_readv process_vm_writev process_madvise kcmp "
    "pidfd_getfd pidfd_send_signal "
    "unshare setns mount umount2 pivot_root chroot move_mount open_tree fsopen fsmount fsconfig fspick "
    "mount_setattr bpf keyctl add_key request_key perf_event_open userfaultfd "
    "io_uring_setup io_uring_enter io_uring_register "
    "init_module finit_module delete_module kexec_load kexec_file_load reboot swapon swapoff "
    "acct quotactl setdomainname sethostname settimeofday clock_settime "
    "adjtimex iopl ioperm personality lookup_dcookie name_to_handle_at open_by_handle_at "
    # System V and POSIX IPC objects outlive the process that made them (state between tests)
    "msgget msgsnd msgrcv msgctl semget semop semtimedop semctl shmget shmat shmdt shmctl "
    "mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr"
).split()
"""Denied to the zygote and, through inheritance, to every child."""
CHILD_DENIED = {
    "python": (*_MESSAGES, "pidfd_open", *_EXEC, *_PROCESS),
    "native": (*_MESSAGES, "pidfd_open", "execve", *_PROCESS),
    "compile": (*_MESSAGES, "pidfd_open"),
}
"""Denied outright by each child layer, on top of `BASE_DENIED` (the argument rules on ``clone`` and
``execveat`` come in addition, see the module docstring)."""


def effective_denied(policy: str) -> frozenset[str]:
    """Every syscall a child of `policy` gets EPERM for outright (base plus child layer)."""
    return frozenset(BASE_DENIED) | frozenset(CHILD_DENIED[policy])


class SeccompUnavailable(RuntimeError):
    """libseccomp / pyseccomp is missing or cannot build filters here."""


@functools.lru_cache(maxsize=4)
def filter_bpf(policy: str = "python") -> bytes:
    """The compiled filter layer for `policy` (one of `POLICIES`) as raw BPF (8 bytes per instruction).

    ``"zygote"`` is the base layer; ``"python"``, ``"native"`` and ``"compile"`` are the child layers that
    only mean something on top of it.

    Raises:
        SeccompUnavailable: pyseccomp is not installed (``pip install r1-verifiers[sandbox]``) or
            libseccomp is missing (Debian: ``apt-get install libseccomp2``).
    """
    try:
        import pyseccomp as sc
    except (ImportError, OSError) as exc:  # OSError: the shared library is missing
        raise SeccompUnavailable(
            f"seccomp filters need pyseccomp and libseccomp ({exc}); install r1-verifiers[sandbox]"
        ) from exc
    if policy not in POLICIES:
        raise ValueError(f"seccomp policy must be one of {POLICIES}, got {policy!r}")
    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    names = BASE_DENIED if policy == "zygote" else CHILD_DENIED[policy]
    for name in names:
        try:
            f.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # a syscall this architecture lacks
            continue
    if policy == "native":  # exec only the passed descriptor, only with AT_EMPTY_PATH (rules OR together)
        f.add_rule(deny, "execveat", sc.Arg(0, sc.NE, NATIVE_FD))
        f.add_rule(deny, "execveat", sc.Arg(4, sc.NE, AT_EMPTY_PATH))
    if policy in ("python", "native"):  # clone: threads only (CLONE_THREAD set); a new process gets EPERM
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    if policy == "zygote":
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.flush()
        tmp.seek(0)
        data = tmp.read()
    if not data or len(data) % 8:
        raise SeccompUnavailable(f"libseccomp exported a malformed filter ({len(data)} bytes)")
    return data


if __name__ == "__main__":  # pragma: no cover
    for p in POLICIES:
        print(p, len(filter_bpf(p)) // 8, "instructions", os.uname().machine)
