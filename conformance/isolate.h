/*
 * Case isolation for elattn-conformance (isolate.c). GPU runtimes do not
 * survive fork(), so the runner re-executes itself: the supervisor (the
 * process the user started) runs a worker child, `/proc/self/exe` with the
 * same arguments plus `--worker FD:CASE:TARGET`, which runs the cases in order
 * from that position and reports each result over a pipe. When the worker
 * dies, the supervisor records the (case, target) it was running as FAIL
 * ("crashed: signal N") and starts a new worker at the next one. A case that
 * has not reported after the case timeout (a kernel that deadlocks) is failed
 * the same way: the supervisor kills the worker ("hung: ...").
 */
#ifndef ELATTN_CONF_ISOLATE_H
#define ELATTN_CONF_ISOLATE_H

#include "conf.h"

/* Receives every result in order, the crashed ones included. oracle_failed: the
 * reference could not run the case (the result says why). */
typedef void (*conf_emit_fn)(void *ctx, int case_index, int target, const case_result *r, double seconds,
                             int oracle_failed);

/* Supervisor: runs the (case, target) pairs of `cases` (indices into the case
 * list, in order) x targets 0..nt-1 in workers; a pair without a result
 * case_timeout_s seconds after it began (0: no limit) is failed and its worker
 * killed. Returns 0 when every pair has a result, -1 when a worker could not be
 * started or died before its first case (the message is on stderr). */
int conf_isolate_run(int argc, char **argv, const int *cases, int num_cases, int nt, double case_timeout_s,
                     conf_emit_fn emit, void *ctx);

/* Worker side. conf_worker_parse reads "FD:CASE:TARGET" (0 on success). */
typedef struct conf_worker {
    int fd;          /* -1: not a worker */
    int first_case;  /* index into the case list */
    int first_target;
} conf_worker;
int conf_worker_parse(const char *arg, conf_worker *w);
/* Before (case, target) starts, and with its result. */
void conf_worker_begin(const conf_worker *w, int case_index, int target);
void conf_worker_result(const conf_worker *w, int case_index, int target, const case_result *r, double seconds,
                        int oracle_failed);
/* Every case ran: the supervisor may stop waiting. */
void conf_worker_done(const conf_worker *w);
/* In a worker, before any device is opened: close every descriptor it
 * inherited but stdin/stdout/stderr and the pipe (a GPU runtime's open device
 * files belong to the supervisor's process). */
void conf_worker_close_inherited(const conf_worker *w);

#endif /* ELATTN_CONF_ISOLATE_H */
