/*
 * tenant.h - the runtime of one VOMO organization: its token and the lane,
 * rate gate and retry budget of its VOMO requests; its destination with
 * the destination's lane and breaker; one schedule slot per resource; and
 * the watch on its token and secret files.
 *
 * A tenant copies everything it needs from its [tenant.NAME] section, so a
 * reload can free the old configuration at once.  Ownership: created by
 * tenant_new(), started by tenant_start(); tenant_close() stops it and frees
 * it once its handles are closed and no scan of it runs.
 */
#ifndef VOMO_TENANT_H
#define VOMO_TENANT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "breaker.h"
#include "budget.h"
#include "config.h"
#include "lane.h"
#include "rategate.h"

struct engine;
struct call;
struct scan;
struct dest;

enum tenant_status { TENANT_OK, TENANT_AUTH_FAILED };

/* The schedule of one (tenant, resource). */
struct slot {
    uv_timer_t timer;
    struct tenant *tenant;
    enum resource res;
    struct scan *scan;      /* the running scan, or NULL */
    bool forbidden;         /* 403: stopped until the token changes or SIGHUP */
    bool dlq_forbidden;     /* 403 on a DLQ re-fetch: its dead letters wait */
    int64_t dlq_probe_at;   /* monotonic ms: when one of them may probe again */
    int64_t scans_finished; /* counters, for status lines and tests */
    int64_t scans_complete;
    int64_t scans_failed;
};

struct tenant {
    struct engine *eng;
    struct tenant *next; /* engine's list */
    char *name;
    char *token_file, *token, *auth_header;
    uint64_t token_gen; /* bumped whenever the token changes */
    char *secret_file, *secret;
    char *webhook_url;
    char *token_problem, *secret_problem; /* last problem logged by the file watch */
    unsigned resources;
    enum dest_kind dest_kind;
    enum checkpoint_mode mode;

    struct lane vomo_lane;
    struct rategate gate;
    struct retry_budget budget;
    struct lane dest_lane;
    struct breaker dest_breaker;
    bool dest_paused;
    struct dest *dest;

    enum tenant_status status;
    struct slot slots[RES_COUNT];
    uv_timer_t watch; /* polls the token and secret files */
    int open_handles;
    int busy;             /* references: running scans, DLQ jobs, tenant_close itself */
    bool closing;         /* tenant_close was called: nothing new starts */
    bool handles_closing; /* the handles are being closed (once) */
    char lane_name[96], dest_lane_name[96], dest_breaker_name[96];
};

struct tenant *tenant_new(struct engine *eng, const struct tenant_cfg *tc);
void tenant_start(struct tenant *t);
/* Whether the section's settings differ from what the tenant runs with. */
bool tenant_cfg_changed(const struct tenant *t, const struct tenant_cfg *tc);
/* Re-reads token and secret (SIGHUP): resumes a stopped tenant or paused
 * destination. */
void tenant_refresh(struct tenant *t, bool forced);
/* before_send of every VOMO call of a tenant (c->arg is the tenant): sets
 * the Authorization header (header 0) from the token in force now. */
void tenant_authorize(struct call *c);
/* 401 on a call sent with token generation `gen`: stop the tenant until its
 * token file changes - unless the token already changed since that call
 * left, in which case the next request uses the new one. */
void tenant_auth_failed(struct tenant *t, uint64_t gen, const char *trace_id, const char *message);
/* The destination answered as misconfigured: pause it for open_timeout. */
void tenant_dest_pause(struct tenant *t, long status, const char *message);
void tenant_dest_ok(struct tenant *t);
/* A scan or DLQ job of this tenant ended: drops the reference it took with
 * busy++ when it started (tenant_close waits for these). */
void tenant_unbusy(struct tenant *t);
/* Stops scheduling, cancels queued work, frees when every reference has
 * gone.  Safe from any state and from within a cancelled job's callback;
 * a second call before the tenant is freed does nothing. */
void tenant_close(struct tenant *t);
/* Schedules the slot's next scan `delay_ms` from now. */
void slot_schedule(struct slot *s, int64_t delay_ms);

#endif
