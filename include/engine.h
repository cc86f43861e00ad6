/*
 * engine.h - the sync engine on one libuv loop: tenants, their schedules
 * and scans, the shared HTTP client, the global VOMO breaker, and the DLQ
 * processor.  daemon.c owns process concerns (signals, systemd, config
 * files); tests drive an engine directly on their own loop.
 *
 * Ownership: engine_new() takes the configuration (freed by the engine) and
 * borrows the store, which must outlive the engine.  engine_stop() is
 * graceful: no new scans, in-flight work may finish until
 * daemon.shutdown_timeout, then everything is cancelled; `stopped` runs once
 * every handle is closed, after which engine_free() may be called.
 */
#ifndef VOMO_ENGINE_H
#define VOMO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "backoff.h"
#include "breaker.h"
#include "config.h"
#include "dlqsched.h"
#include "http.h"
#include "lane.h"
#include "store.h"
#include "tenant.h"
#include "walguard.h"

struct alerts;
struct dlqproc;
struct outboxproc;

struct engine_stats {
    int64_t scans_complete, scans_incomplete, scans_failed;
    int64_t records_applied, records_skipped, records_failed, records_deleted;
    int64_t pages;
};

struct engine {
    uv_loop_t *loop;
    struct config *cfg;
    struct store *store;
    struct http_client http;
    struct breaker vomo_breaker;
    struct backoff_policy retry_policy;
    struct dlq_policy dlq_policy;
    struct tenant *tenants;
    struct dlqproc *dlq;
    struct outboxproc *outbox; /* writes to VOMO */
    struct alerts *alerts;     /* the built-in alert evaluator */
    uv_timer_t stop_timer;
    uv_timer_t progress_timer;
    uv_timer_t commit_timer; /* group commit of decided pages (scan.c) */
    void *commit_queue;      /* pages waiting for it, owned by scan.c */
    int64_t commit_ms;       /* how long the last group commit took (scan.c) */
    struct walguard wal;     /* checkpoints left to Litestream, with a backstop */
    bool progress;           /* live progress lines on a terminal */
    bool stopping;
    bool http_closed;
    bool torn_down;
    int open_handles;
    int busy; /* scans and DLQ jobs running, all tenants */
    void (*on_stopped)(struct engine *e);
    void (*on_scan_done)(struct engine *e, struct slot *slot, const char *status);
    void *data;
    struct engine_stats stats;
};

int engine_new(uv_loop_t *loop, struct config *cfg, struct store *store, struct engine **out) WUR;
int engine_start(struct engine *e) WUR;
/* Applies a new, valid configuration (taken over): tenants added, removed
 * or changed; intervals and limits.  Nothing in flight is dropped. */
void engine_reload(struct engine *e, struct config *cfg);
void engine_stop(struct engine *e, void (*stopped)(struct engine *e));
void engine_free(struct engine *e);
struct tenant *engine_tenant(struct engine *e, const char *name);
/* While stopping: tears down once no scan or DLQ job runs any more. */
void engine_idle_check(struct engine *e);
/* A tenant (or another part) finished closing its handles. */
void engine_handle_closed(struct engine *e);
/* Publishes a breaker's state for `vomo-sync status`. */
void engine_breaker_changed(struct engine *e, const char *name, const struct breaker *b,
                            enum breaker_event ev, const char *reason);
/* One line for STATUS= and logs: tenants, scans, DLQ size. */
void engine_summary(struct engine *e, char *out, size_t len);

#endif
