/*
 * outbox_int.h - what outboxproc.c (the processor: ticks, order, gates)
 * and outbox_job.c (one write: its request, its search, its outcome)
 * share.  Nobody else includes it.
 */
#ifndef VOMO_OUTBOX_INT_H
#define VOMO_OUTBOX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "call.h"
#include "outbox_ops.h"
#include "outboxproc.h"
#include "store_outbox.h"
#include "util.h"
#include "vomo.h"

struct engine;
struct tenant;

struct paused_tenant {
    char *name;
    struct paused_tenant *next;
};

struct outboxproc {
    struct engine *e;
    uv_timer_t timer;
    struct ob_job *jobs;
    int running;
    bool stopped, closing, timer_closed;
    size_t turn; /* which tenant a tick asks first */
    struct paused_tenant *paused;
    struct outboxproc_stats stats;
};

struct ob_job {
    struct outboxproc *p;
    struct tenant *t;
    struct outbox_row row; /* as read before the job started */
    const struct outbox_op *op;
    struct call call;
    struct call reread; /* the GET of a 409's re-read */
    bool reread_cancelled; /* shutting down during it: the write was not applied */
    bool searching;
    int page;
    char search_after[TS_LEN];
    struct vomo_record rec; /* the record VOMO returned (have_rec) */
    bool have_rec;
    struct vomo_page found; /* a search page (have_page) */
    bool have_page;
    char trace_id[TRACE_ID_LEN];
    struct ob_job *next;
};

/* outbox_job.c: starts a write whose row the processor already moved to
 * in_flight, or (search = true) the search of an unknown create. */
void outbox_job_send(struct ob_job *j);
void outbox_job_search(struct ob_job *j);
/* outboxproc.c: a job ended (frees it and lets the processor go on). */
void outbox_job_end(struct ob_job *j);

#endif
