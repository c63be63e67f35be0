/* The zygote's job loop for Python jobs, in C (optional: `sandbox/_zygote.py` has the same loop in
 * Python and uses it when this module is not built).
 *
 * Why C: every page the zygote or a child writes after a fork is copied (copy-on-write), and a Python
 * loop writes to many: reference counts of the functions, modules, ints and strings it touches, frames,
 * argument tuples. Per job the Python loop cost the zygote ~110 page faults and the child's set-up ~90
 * more, about as much CPU as the job itself. This loop touches its own stack and a few static pages,
 * and the child's whole set-up (session, descriptors, rlimits, uid, death signal, seccomp layer) runs
 * here before the child goes back to Python.
 *
 * The protocol, the set-up order and every reply are those of `sandbox/_zygote.py` (read it first: its
 * docstring is the specification). `serve()` handles every Python job ("script", "call", "check") and
 * returns to Python:
 *   - None when the supervisor hung up;
 *   - (message, descriptor or -1) for any other job: the caller runs it in Python, then calls serve()
 *     again. Before returning, no child of this loop is left (the prepared one is dropped, killed ones
 *     are reaped), so the Python loop starts from a clean state;
 *   - bytes, in a CHILD: its go line. The child is prepared (set-up done, seccomp layer loaded) and runs
 *     the harness in Python (`_zygote.run_child`), which never returns.
 *
 * Single-threaded by construction (the zygote is): fork() here needs no after-fork repairs. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ABI 1          /* bumped whenever `_zygote.py` must change with this file */
#define GO_FD 5
#define LIMITS_MAX 256 /* the rlimit fields of a job line */
#define MSG_MAX 4096
#define GO_MAX 512
#define EXIT_SETUP 126 /* the child failed its set-up: the zygote sees its go unread (infrastructure) */
#define EXIT_REPARENTED 125

static const int RLIMITS[6] = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_STACK};

typedef struct {
    pid_t pid; /* 0: none */
    int go_w;
    int turn;
    char limits[LIMITS_MAX];
} child_t;

static struct {
    int configured;
    int sock;
    int nuids; /* 0: no uid drop (not root); 1: one uid; 2: two uids taking turns */
    uid_t uids[2];
    gid_t gid;
    pid_t me;
    char scratch[4096];
    struct sock_fprog layer; /* the "python" child layer; len 0: no filters */
    PyObject *wipe;          /* Python callable: empties the scratch directory (rarely needed) */
    child_t ahead;           /* prepared for the next Python job */
    pid_t dying[2];          /* per turn: killed, not yet reaped */
    int turn;
    char last_limits[LIMITS_MAX];
} S;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void reap(pid_t pid) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

static void drop(child_t *c) {
    if (!c->pid) return;
    close(c->go_w);
    kill(c->pid, SIGKILL);
    reap(c->pid);
    c->pid = 0;
}

static void reap_dying(int block) {
    for (int t = 0; t < 2; t++) {
        if (!S.dying[t]) continue;
        pid_t r = waitpid(S.dying[t], NULL, block ? 0 : WNOHANG);
        if (r != 0) S.dying[t] = 0; /* reaped, or not ours any more (ECHILD) */
    }
}

/* No child of this loop is left: the Python loop may fork as it likes. */
static void settle(void) {
    drop(&S.ahead);
    reap_dying(1);
}

/* ---------------------------------------------------------------------------------------------- */
/* child side: the set-up of `_zygote.prepare`, in the same order */

static void close_from(int lo) {
    if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) == 0) return;
    struct rlimit rl;
    long hi = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1 << 20;
    for (long fd = lo; fd < hi; fd++) close((int)fd);
}

static void prepare(int go_r, int turn, const char *limits) {
    sigset_t none;
    sigemptyset(&none);
    if (setsid() < 0 || sigprocmask(SIG_SETMASK, &none, NULL) != 0) _exit(EXIT_SETUP);
    if (go_r != GO_FD && dup2(go_r, GO_FD) < 0) _exit(EXIT_SETUP);
    close_from(GO_FD + 1);
    const char *p = limits;
    for (int i = 0; i < 6; i++) {
        char *end;
        long long n = strtoll(p, &end, 10);
        if (end == p) _exit(EXIT_SETUP);
        p = end;
        if (n < 0) continue;
        struct rlimit rl = {(rlim_t)n, (rlim_t)(RLIMITS[i] == RLIMIT_CPU ? n + 1 : n)};
        if (setrlimit(RLIMITS[i], &rl) != 0) _exit(EXIT_SETUP);
    }
    struct rlimit core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &core) != 0) _exit(EXIT_SETUP);
    if (S.nuids) {
        if (setgroups(0, NULL) != 0 || setresgid(S.gid, S.gid, S.gid) != 0) _exit(EXIT_SETUP);
        uid_t uid = S.uids[turn];
        if (setresuid(uid, uid, uid) != 0) _exit(EXIT_SETUP);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(EXIT_SETUP); /* after setresuid */
    if (getppid() != S.me) _exit(EXIT_REPARENTED);
    if (chdir(S.scratch) != 0) _exit(EXIT_SETUP);
    if (S.layer.len && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &S.layer, 0, 0) != 0) _exit(EXIT_SETUP);
}

/* Fork a child prepared with `limits` as the uid of `turn`. Parent: the child's pid (> 0), or -1 with
 * errno. Child: 0 once its go arrived (in `go`, `*go_len` bytes; GO_FD stays open for the harness). */
static pid_t fork_prepared(child_t *c, int turn, const char *limits, char *go, ssize_t *go_len) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        prepare(p[0], turn, limits);
        ssize_t n;
        do {
            n = read(GO_FD, go, GO_MAX);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) _exit(n == 0 ? 0 : EXIT_SETUP); /* dropped unused, or the zygote is gone */
        *go_len = n;
        return 0;
    }
    close(p[0]);
    c->pid = pid;
    c->go_w = p[1];
    c->turn = turn;
    snprintf(c->limits, sizeof c->limits, "%s", limits);
    return pid;
}

/* A new child for the next turn; the last child of that uid is reaped first. */
static pid_t new_child(child_t *c, const char *limits, char *go, ssize_t *go_len) {
    int turn = S.turn;
    if (S.dying[turn]) {
        reap(S.dying[turn]);
        S.dying[turn] = 0;
    }
    pid_t pid = fork_prepared(c, turn, limits, go, go_len);
    if (pid > 0) S.turn = (turn + 1) % (S.nuids > 1 ? S.nuids : 1);
    return pid;
}

/* ---------------------------------------------------------------------------------------------- */
/* zygote side */

static long peak_rss_kb(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *at = strstr(buf, "VmHWM:");
    return at ? strtol(at + 6, NULL, 10) : 0;
}

/* Whether the scratch directory has no entries (getdents64 into a stack buffer: no allocation). */
static int scratch_empty(void) {
    int fd = open(S.scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0; /* let the Python wipe find out */
    char buf[1024];
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    close(fd);
    for (long off = 0; off < n;) {
        struct dirent64 *e = (struct dirent64 *)(buf + off);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) return 0;
        off += e->d_reclen;
    }
    return n >= 0;
}

/* Receive one message and at most one descriptor; the length, 0 on hang-up, -1 on error. */
static ssize_t recv_job(char *msg, int *fd) {
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {msg, MSG_MAX - 1};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.space;
    mh.msg_controllen = sizeof ctl.space;
    ssize_t n;
    do {
        n = recvmsg(S.sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    *fd = -1;
    if (n > 0) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
                memcpy(fd, CMSG_DATA(c), sizeof(int));
        msg[n] = 0;
    }
    return n;
}

static int send_reply(const char *reply) {
    ssize_t n;
    do {
        n = send(S.sock, reply, strlen(reply), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

static int is_python_mode(const char *msg, size_t len) {
    static const char *modes[] = {"script ", "call ", "check "};
    for (int i = 0; i < 3; i++) {
        size_t k = strlen(modes[i]);
        if (len >= k && memcmp(msg, modes[i], k) == 0) return 1;
    }
    return 0;
}

/* The fields of "<mode> <compiled> <wall> <limits...>": wall seconds and the limits' offset. */
static int parse_job(const char *msg, double *wall, const char **limits) {
    const char *p = msg;
    for (int field = 0; field < 2; field++) {
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    char *end;
    *wall = strtod(p, &end);
    if (end == p) return -1;
    p = end;
    while (*p == ' ') p++;
    if (!*p || strlen(p) >= LIMITS_MAX) return -1;
    *limits = p;
    return 0;
}

typedef enum { RUN_DONE, RUN_IN_CHILD } run_t;

/* One Python job, as `Zygote.run` + the reply part of `Zygote.serve`. `*gone`: the supervisor hung up. */
static run_t run_python(const char *msg, size_t len, char *go, ssize_t *go_len, int *gone) {
    double wall_s;
    const char *limits;
    char reply[512];
    *gone = 0;
    if (parse_job(msg, &wall_s, &limits) != 0) {
        *gone = send_reply("error ValueError: malformed job line") != 0;
        return RUN_DONE;
    }
    snprintf(S.last_limits, sizeof S.last_limits, "%s", limits);
    child_t child = {0};
    if (S.ahead.pid && strcmp(S.ahead.limits, limits) == 0) {
        child = S.ahead;
        S.ahead.pid = 0;
    } else {
        drop(&S.ahead);
        pid_t pid = new_child(&child, limits, go, go_len);
        if (pid == 0) return RUN_IN_CHILD;
        if (pid < 0) {
            snprintf(reply, sizeof reply, "error OSError: fork: %s", strerror(errno));
            *gone = send_reply(reply) != 0;
            return RUN_DONE;
        }
    }
    double t0 = now(), deadline = t0 + wall_s;
    int lost = 0;
    ssize_t w;
    do {
        w = write(child.go_w, msg, len);
    } while (w < 0 && errno == EINTR);
    if (w < 0) lost = 1; /* EPIPE: it died during its set-up, before it could read its go */
    if (S.nuids > 1 && !lost) { /* the next child prepares while this one runs (the other uid) */
        pid_t pid = new_child(&S.ahead, limits, go, go_len);
        if (pid == 0) return RUN_IN_CHILD;
        if (pid < 0) S.ahead.pid = 0;
    }
    int timed_out = 0;
    siginfo_t info;
    int have = 0;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)child.pid, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) == 0 && info.si_pid) {
            have = 1;
            break;
        }
        double left = deadline - now();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (left > 0.25) left = 0.25;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        if (sigtimedwait(&chld, NULL, &ts) < 0 && errno == EAGAIN) {
            struct pollfd pf = {S.sock, POLLHUP | POLLERR, 0};
            if (poll(&pf, 1, 0) > 0) {
                *gone = 1;
                break;
            }
        }
    }
    double wall = now() - t0;
    if (have && info.si_code == CLD_STOPPED && info.si_status == SIGSTOP && !lost) {
        /* the harness finished with status 0 and stopped itself: answer before the teardown */
        close(child.go_w);
        struct timespec cpu = {0, 0};
        clock_gettime((clockid_t)(((~(clockid_t)child.pid) << 3) | 2), &cpu);
        snprintf(reply, sizeof reply, "ok 0 - %.9f %.9f %ld 0 0", cpu.tv_sec + cpu.tv_nsec * 1e-9, wall,
                 peak_rss_kb(child.pid));
        *gone = send_reply(reply) != 0;
        kill(child.pid, SIGKILL); /* it can run no more code; reaped when its uid is next due */
        if (S.nuids > 1)
            S.dying[child.turn] = child.pid;
        else
            reap(child.pid);
        return RUN_DONE;
    }
    if (!have || info.si_code == CLD_STOPPED) kill(child.pid, SIGKILL); /* deadline, hang-up, own stop */
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(child.pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    int unread = 0;
    if (ioctl(child.go_w, FIONREAD, &unread) != 0) unread = 0;
    close(child.go_w);
    if ((lost || unread) && !*gone) {
        snprintf(reply, sizeof reply, "infra the sandboxed child died during its set-up (wait status %d)", status);
    } else {
        char code[16] = "-", sig[16] = "-";
        if (have && info.si_code == CLD_STOPPED) {
            snprintf(sig, sizeof sig, "%d", info.si_status); /* killed by the stop it raised: never a pass */
        } else {
            if (WIFEXITED(status)) snprintf(code, sizeof code, "%d", WEXITSTATUS(status));
            if (WIFSIGNALED(status)) snprintf(sig, sizeof sig, "%d", WTERMSIG(status));
        }
        double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
        snprintf(reply, sizeof reply, "ok %s %s %.9f %.9f %ld %d %d", code, sig, cpu, wall, ru.ru_maxrss, timed_out,
                 *gone);
    }
    if (send_reply(reply) != 0) *gone = 1;
    return RUN_DONE;
}

static PyObject *py_serve(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (!S.configured) {
        PyErr_SetString(PyExc_RuntimeError, "_zygote_fast.serve: configure() first");
        return NULL;
    }
    static char msg[MSG_MAX];
    char go[GO_MAX];
    ssize_t go_len = 0;
    for (;;) {
        reap_dying(0);
        if (!S.ahead.pid) {
            pid_t pid = new_child(&S.ahead, S.last_limits, go, &go_len);
            if (pid == 0) return PyBytes_FromStringAndSize(go, go_len);
            if (pid < 0) S.ahead.pid = 0; /* try again with the job itself */
        }
        int fd;
        ssize_t n = recv_job(msg, &fd);
        if (n <= 0) {
            if (fd >= 0) close(fd);
            settle();
            Py_RETURN_NONE;
        }
        if (!is_python_mode(msg, (size_t)n)) {
            settle();
            return Py_BuildValue("(y#i)", msg, (Py_ssize_t)n, fd);
        }
        if (fd >= 0) close(fd); /* a Python job takes no descriptor */
        int gone = 0;
        if (run_python(msg, (size_t)n, go, &go_len, &gone) == RUN_IN_CHILD)
            return PyBytes_FromStringAndSize(go, go_len);
        if (!scratch_empty()) { /* the job left files: the Python wipe (rare, so not worth C) */
            PyObject *path = PyUnicode_DecodeFSDefault(S.scratch);
            PyObject *r = path ? PyObject_CallOneArg(S.wipe, path) : NULL;
            Py_XDECREF(path);
            if (!r) {
                settle();
                return NULL;
            }
            Py_DECREF(r);
        }
        if (gone) {
            settle();
            Py_RETURN_NONE;
        }
    }
}

static PyObject *py_configure(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    static char *names[] = {"sock", "uids", "gid", "scratch", "layer", "wipe", NULL};
    int sock;
    PyObject *uids, *gid, *wipe;
    const char *scratch;
    Py_buffer layer = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "iOOsy*O", names, &sock, &uids, &gid, &scratch, &layer, &wipe))
        return NULL;
    Py_ssize_t nu = PySequence_Size(uids);
    int ok = nu >= 0 && nu <= 2 && layer.len % sizeof(struct sock_filter) == 0 && PyCallable_Check(wipe) &&
             strlen(scratch) < sizeof S.scratch;
    if (!ok) {
        PyBuffer_Release(&layer);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError,
                            "_zygote_fast.configure: expected at most 2 uids, a BPF layer of whole instructions, "
                            "a callable wipe and a scratch path shorter than 4096 bytes");
        return NULL;
    }
    S.nuids = 0;
    for (Py_ssize_t i = 0; i < nu; i++) {
        PyObject *u = PySequence_GetItem(uids, i);
        if (!u) goto fail;
        if (u != Py_None) {
            S.uids[S.nuids++] = (uid_t)PyLong_AsUnsignedLong(u);
        }
        Py_DECREF(u);
        if (PyErr_Occurred()) goto fail;
    }
    if (S.nuids) {
        S.gid = (gid_t)PyLong_AsUnsignedLong(gid);
        if (PyErr_Occurred()) goto fail;
    }
    free(S.layer.filter);
    S.layer.filter = NULL;
    S.layer.len = 0;
    if (layer.len) {
        S.layer.filter = malloc((size_t)layer.len);
        if (!S.layer.filter) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(S.layer.filter, layer.buf, (size_t)layer.len);
        S.layer.len = (unsigned short)(layer.len / sizeof(struct sock_filter));
    }
    PyBuffer_Release(&layer);
    Py_XINCREF(wipe);
    Py_XSETREF(S.wipe, wipe);
    S.sock = sock;
    S.me = getpid();
    snprintf(S.scratch, sizeof S.scratch, "%s", scratch);
    snprintf(S.last_limits, sizeof S.last_limits, "%s", "1 -1 -1 -1 -1 -1");
    S.turn = 0;
    S.configured = 1;
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&layer);
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))py_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(sock, uids, gid, scratch, layer, wipe): the zygote's socket, the slot uids ([] or [None]: "
     "no drop), their gid, the scratch directory, the 'python' child seccomp layer (raw BPF, b'' for "
     "none) and the Python function that empties the scratch directory."},
    {"serve", py_serve, METH_NOARGS,
     "serve() -> None | (message, fd) | bytes: run Python jobs until the supervisor hangs up (None) or "
     "sends another kind of job (returned, no child left); in a child, its go line."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_zygote_fast",
                                    "The zygote's job loop for Python jobs in C (see _zygote_fast.c).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__zygote_fast(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "ABI", ABI) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
