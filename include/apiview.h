/*
 * apiview.h - what the read API (web_api.c) may know of the running
 * engine and the little it may ask of it, as a narrow accessor the engine
 * hands down (engine_view.c): whether a tenant syncs a resource, how its
 * VOMO looks from here (breaker, token, last scan), how many scans of it
 * ended, a hastened incremental scan, and a live read of one record
 * through the tenant's own lane.  The API never reaches into tenants,
 * slots, lanes or breakers itself.
 *
 * Ownership: the view borrows the engine, which must outlive every use;
 * a fetch handle lives until its callback ran or fetch_cancel() was called
 * (after which the callback never runs).
 */
#ifndef VOMO_APIVIEW_H
#define VOMO_APIVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apidoc.h"
#include "config.h"
#include "store.h"

struct engine;
struct api_fetch;

struct api_fetch_result {
    long status;      /* VOMO's HTTP status; 0 when none came (timeout, connection) */
    const char *body; /* VOMO's body (valid during the callback), "" when none */
    size_t body_len;
    bool cancelled; /* the engine dropped it (stopping, lane stopped) */
};
typedef void (*api_fetch_fn)(const struct api_fetch_result *r, void *arg);

struct api_slot_state {
    enum api_upstream upstream; /* from memory: token refused, breaker not closed, ok */
    int refused_status;         /* 401 (token refused) or 403 (resource forbidden); 0 */
    int64_t scans_finished;     /* by this process, any outcome */
    bool scanning;
};

struct api_view {
    void *ctx;
    /* The configuration in force (replaced on SIGHUP: read it per request). */
    const struct config *(*config)(void *ctx);
    struct store *(*store)(void *ctx);
    /* false when the tenant is unknown or does not sync the resource. */
    bool (*slot)(void *ctx, const char *tenant, enum resource r, struct api_slot_state *out);
    /* Starts an incremental scan of the slot now, unless one runs. */
    void (*hasten)(void *ctx, const char *tenant, enum resource r);
    /* A live read of one record (GET /{resource}/{id} in the tenant's lane,
     * applied to the mirror like a scan's record); fn runs once.  NULL when
     * it cannot start (then fn never runs). */
    struct api_fetch *(*fetch)(void *ctx, const char *tenant, enum resource r, const char *id,
                               int64_t timeout_ms, api_fetch_fn fn, void *arg);
    void (*fetch_cancel)(void *ctx, struct api_fetch *f);
};

/* The view of a running engine. */
void engine_view(struct engine *e, struct api_view *out);

#endif
