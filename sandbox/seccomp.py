"""The seccomp filter every sandboxed child loads, built once with libseccomp (via `pyseccomp`).

The supervisor compiles the filter to raw BPF and hands the bytes to each zygote, which loads them in
every child with two ``prctl`` calls (no libseccomp in the zygote). Default action: allow. Denied with
EPERM: every socket (network and local), ptrace and cross-process memory access, pidfd tricks,
namespace and mount changes, bpf, keyrings, perf, userfaultfd, io_uring, module and reboot calls,
execve/execveat (Python mode runs in-process), fork/vfork and ``clone`` without CLONE_THREAD (threads
stay allowed, bounded by RLIMIT_NPROC). ``clone3`` returns ENOSYS, not EPERM, so glibc falls back to
``clone`` for threads (with EPERM, glibc 2.36 cannot start threads at all).

Three policies (`filter_bpf(policy)`), differing only in process creation and exec:

* ``"python"``: the above; the child runs Python in-process and never execs.
* ``"native"`` (a compiled C++ solution): as ``"python"``, but ``execveat`` is allowed when its
  descriptor argument is `NATIVE_FD` and its flags are exactly ``AT_EMPTY_PATH``: the child execs the
  cached binary that the supervisor opened read-only and passed as that descriptor. ``execve`` stays
  denied. (A running binary could open another file on that descriptor number and exec it; that gains
  nothing, because the filter, rlimits, uid and no_new_privs all survive exec and the new program
  can do no more than native code already can.)
* ``"compile"``: the compiler driver must start cc1plus, as and ld, so fork, vfork, process-creating
  clone, execve and execveat are allowed (bounded by the compile job's RLIMIT_NPROC); everything else
  (sockets, ptrace, namespaces, mounts, IPC objects...) stays denied.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

__all__ = ["DENIED", "NATIVE_FD", "POLICIES", "SeccompUnavailable", "filter_bpf"]

CLONE_THREAD = 0x00010000
AT_EMPTY_PATH = 0x1000
NATIVE_FD = 4
"""The descriptor on which a native child receives its binary (the job descriptor of `_zygote`)."""
POLICIES = ("python", "native", "compile")
_EXEC = ("execve", "execveat")
_PROCESS = ("fork", "vfork")

DENIED = (
    "socket socketpair connect bind listen accept accept4 sendto sendmsg sendmmsg recvfrom recvmsg "
    "ptrace process_vm_readv process_vm_writev process_madvise kcmp "
    "pidfd_open pidfd_getfd pidfd_send_signal "
    "unshare setns mount umount2 pivot_root chroot move_mount open_tree fsopen fsmount fsconfig fspick "
    "mount_setattr bpf keyctl add_key request_key perf_event_open userfaultfd "
    "io_uring_setup io_uring_enter io_uring_register "
    "init_module finit_module delete_module kexec_load kexec_file_load reboot swapon swapoff "
    "execve execveat fork vfork acct quotactl setdomainname sethostname settimeofday clock_settime "
    "adjtimex iopl ioperm personality lookup_dcookie name_to_handle_at open_by_handle_at "
    # System V and POSIX IPC objects outlive the process that made them (state between tests)
    "msgget msgsnd msgrcv msgctl semget semop semtimedop semctl shmget shmat shmdt shmctl "
    "mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr"
).split()


class SeccompUnavailable(RuntimeError):
    """libseccomp / pyseccomp is missing or cannot build filters here."""


@functools.lru_cache(maxsize=4)
def filter_bpf(policy: str = "python") -> bytes:
    """The compiled filter for `policy` (one of `POLICIES`) as raw BPF (8 bytes per instruction).

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
    allowed: tuple[str, ...] = ()
    if policy == "native":
        allowed = ("execveat",)
    elif policy == "compile":
        allowed = _EXEC + _PROCESS
    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED:
        if name in allowed:
            continue
        try:
            f.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # a syscall this architecture lacks
            continue
    if policy == "native":  # exec only the passed descriptor, only with AT_EMPTY_PATH (rules OR together)
        f.add_rule(deny, "execveat", sc.Arg(0, sc.NE, NATIVE_FD))
        f.add_rule(deny, "execveat", sc.Arg(4, sc.NE, AT_EMPTY_PATH))
    # clone: allow threads only (CLONE_THREAD set); a process-creating clone gets EPERM
    if policy != "compile":
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
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
