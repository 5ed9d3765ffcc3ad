/*
 * Case isolation: the supervisor and the worker's side of the pipe (see
 * isolate.h). Linux: the worker is /proc/self/exe, started with posix_spawn
 * (no fork of a process that holds a GPU context).
 */
#define _GNU_SOURCE /* pipe2, environ */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "isolate.h"

enum { MSG_BEGIN = 1, MSG_RESULT, MSG_DONE };

/* One message, written whole: it is far below PIPE_BUF, so a write is atomic. */
typedef struct worker_msg {
    int kind;
    int case_index, target;
    int oracle_failed;
    double seconds;
    case_result result;
} worker_msg;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- worker ------------------------------------------------------------------------- */
int conf_worker_parse(const char *arg, conf_worker *w)
{
    char tail;
    if (sscanf(arg, "%d:%d:%d%c", &w->fd, &w->first_case, &w->first_target, &tail) != 3 || w->fd < 0 ||
        w->first_case < 0 || w->first_target < 0)
        return -1;
    /* processes the worker starts (PoCL runs its linker) must not hold the pipe open after it dies */
    return fcntl(w->fd, F_SETFD, FD_CLOEXEC) == 0 ? 0 : -1;
}

static void send_msg(const conf_worker *w, const worker_msg *m)
{
    const char *p = (const char *)m;
    size_t left = sizeof *m;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(3); /* the supervisor is gone: nobody to report to */
        p += n;
        left -= (size_t)n;
    }
}

void conf_worker_begin(const conf_worker *w, int case_index, int target)
{
    worker_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_BEGIN;
    m.case_index = case_index;
    m.target = target;
    send_msg(w, &m);
}

void conf_worker_result(const conf_worker *w, int case_index, int target, const case_result *r, double seconds,
                        int oracle_failed)
{
    worker_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_RESULT;
    m.case_index = case_index;
    m.target = target;
    m.oracle_failed = oracle_failed;
    m.seconds = seconds;
    m.result = *r;
    send_msg(w, &m);
}

void conf_worker_done(const conf_worker *w)
{
    worker_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_DONE;
    send_msg(w, &m);
}

/* ---- supervisor ------------------------------------------------------------------------ */
/* 1: a whole message; 0: end of file (the worker is gone), also in the middle of one. */
static int read_msg(int fd, worker_msg *m)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        ssize_t n = read(fd, p + got, sizeof *m - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

/* 1 when fd has something to read (or its writer is gone) within `seconds`, 0 when not. */
static int wait_readable(int fd, double seconds)
{
    const double until = now_s() + seconds;
    for (;;) {
        const double left = until - now_s();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        const int n = poll(&p, 1, left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return 1; /* let read report it */
    }
}

static pid_t spawn_worker(int argc, char **argv, int case_index, int target, int *read_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "elattn-conformance: --isolate: pipe: %s\n", strerror(errno));
        return -1;
    }
    fcntl(fds[1], F_SETFD, 0); /* the worker inherits the write end */
    char spec[64];
    snprintf(spec, sizeof spec, "%d:%d:%d", fds[1], case_index, target);
    char **args = malloc(sizeof *args * ((size_t)argc + 3));
    if (!args) {
        close(fds[0]);
        close(fds[1]);
        fprintf(stderr, "elattn-conformance: out of host memory\n");
        return -1;
    }
    for (int i = 0; i < argc; ++i) args[i] = argv[i];
    args[argc] = (char *)"--worker";
    args[argc + 1] = spec;
    args[argc + 2] = NULL;
    /* the table is printed here; the worker's own stdout (notes about targets) would repeat it */
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    /* A clean start: no blocked signals and default dispositions (a runtime of the
     * supervisor may have blocked or ignored some in this thread). */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int err = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, args, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    free(args);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        fprintf(stderr, "elattn-conformance: --isolate: cannot start /proc/self/exe: %s\n", strerror(err));
        return -1;
    }
    *read_fd = fds[0];
    return pid;
}

static void describe_exit(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(out, n, "crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, n, "crashed: the worker exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, n, "crashed: wait status 0x%x", (unsigned)status);
}

/* The pair after (case_index, target): the next target, else the next case's first. */
static void advance(const int *cases, int num_cases, int nt, int case_index, int target, int *k, int *t)
{
    while (*k < num_cases && cases[*k] != case_index) ++*k;
    if (target + 1 < nt) {
        *t = target + 1;
    } else {
        ++*k;
        *t = 0;
    }
}

int conf_isolate_run(int argc, char **argv, const int *cases, int num_cases, int nt, double case_timeout_s,
                     conf_emit_fn emit, void *ctx)
{
    int k = 0, t = 0, abnormal = 0;
    while (k < num_cases && nt > 0) {
        int fd = -1;
        pid_t pid = spawn_worker(argc, argv, cases[k], t, &fd);
        if (pid < 0) return -1;
        int pending = 0, pending_case = -1, pending_target = -1, started = 0, done = 0, hung = 0;
        double begun = 0;
        worker_msg m;
        for (;;) {
            /* a case that has begun gets case_timeout_s to report; then its worker is killed */
            if (pending && case_timeout_s > 0 && !wait_readable(fd, case_timeout_s - (now_s() - begun))) {
                hung = 1;
                kill(pid, SIGKILL);
                break;
            }
            if (!read_msg(fd, &m)) break;
            if (m.kind == MSG_BEGIN) {
                pending = 1, pending_case = m.case_index, pending_target = m.target;
                started = 1;
                begun = now_s();
            } else if (m.kind == MSG_RESULT) {
                emit(ctx, m.case_index, m.target, &m.result, m.seconds, m.oracle_failed);
                pending = 0;
                advance(cases, num_cases, nt, m.case_index, m.target, &k, &t);
            } else if (m.kind == MSG_DONE) {
                done = 1;
            }
        }
        close(fd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!hung && done && WIFEXITED(status) && WEXITSTATUS(status) == 0) break;
        char why[160];
        if (hung)
            snprintf(why, sizeof why, "hung: no result %g s after it began (--case-timeout); the worker was killed",
                     case_timeout_s);
        else
            describe_exit(status, why, sizeof why);
        if (pending) {
            case_result r;
            memset(&r, 0, sizeof r);
            r.status = ST_FAIL;
            r.guard_ok = -1;
            snprintf(r.detail, sizeof r.detail, "%s", why);
            fprintf(stderr, "elattn-conformance: case %d, target %d: %s; going on in a new worker\n", pending_case,
                    pending_target, why);
            emit(ctx, pending_case, pending_target, &r, now_s() - begun, 0);
            advance(cases, num_cases, nt, pending_case, pending_target, &k, &t);
        } else if (!started) {
            fprintf(stderr, "elattn-conformance: the worker %s before its first case\n", why);
            return -1;
        } else {
            /* between cases or after the last one (a leak report at exit): no case to blame */
            fprintf(stderr, "elattn-conformance: the worker %s outside any case\n", why);
            abnormal++;
            if (done) break;
        }
    }
    return abnormal;
}

void conf_worker_close_inherited(const conf_worker *w)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return; /* no /proc: nothing to learn, nothing closed */
    int fds[256], n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 256;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || e->d_name[0] == '.') continue;
        if (fd > 2 && fd != w->fd && fd != dirfd(d)) fds[n++] = (int)fd;
    }
    closedir(d); /* close after the listing: closing while reading /proc/self/fd would change it */
    for (int i = 0; i < n; ++i) close(fds[i]);
}
