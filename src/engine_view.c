/*
 * engine_view.c - the read API's view of the engine (see apiview.h): the
 * one place that turns tenants, slots and the VOMO breaker into the few
 * facts the API needs, so that the HTTP side depends on apiview.h alone.
 * Live reads of one record go through recordfetch (the tenant's lane,
 * its rate gate, breaker and retry rules); until that module is part of
 * the build, fetch returns NULL and a live read answers from the mirror.
 */
#include "apiview.h"

#include <string.h>

#include "engine.h"
#include "scan.h"
#include "tenant.h"

static const struct config *view_config(void *ctx)
{
    return ((struct engine *)ctx)->cfg;
}

static struct store *view_store(void *ctx)
{
    return ((struct engine *)ctx)->store;
}

static struct tenant *running(struct engine *e, const char *name, enum resource r)
{
    struct tenant *t = engine_tenant(e, name);
    return t && !t->closing && (t->resources & RES_BIT(r)) ? t : NULL;
}

static bool view_slot(void *ctx, const char *tenant, enum resource r, struct api_slot_state *out)
{
    struct engine *e = ctx;
    struct tenant *t = running(e, tenant, r);
    memset(out, 0, sizeof(*out));
    if (!t)
        return false;
    const struct slot *s = &t->slots[r];
    out->scans_finished = s->scans_finished;
    out->scanning = s->scan != NULL;
    if (t->status == TENANT_AUTH_FAILED || s->forbidden) {
        out->upstream = API_UP_AUTH_FAILED;
        out->refused_status = t->status == TENANT_AUTH_FAILED ? 401 : 403;
    } else if (e->vomo_breaker.state != BREAKER_CLOSED) {
        out->upstream = API_UP_BREAKER_OPEN;
    }
    return true;
}

static void view_hasten(void *ctx, const char *tenant, enum resource r)
{
    struct engine *e = ctx;
    struct tenant *t = running(e, tenant, r);
    if (t && !e->stopping && !t->slots[r].scan)
        slot_schedule(&t->slots[r], 0);
}

static struct api_fetch *view_fetch(void *ctx, const char *tenant, enum resource r, const char *id,
                                    int64_t timeout_ms, api_fetch_fn fn, void *arg)
{
    (void)ctx;
    (void)tenant;
    (void)r;
    (void)id;
    (void)timeout_ms;
    (void)fn;
    (void)arg;
    return NULL;
}

static void view_fetch_cancel(void *ctx, struct api_fetch *f)
{
    (void)ctx;
    (void)f;
}

void engine_view(struct engine *e, struct api_view *out)
{
    *out = (struct api_view){.ctx = e,
                             .config = view_config,
                             .store = view_store,
                             .slot = view_slot,
                             .hasten = view_hasten,
                             .fetch = view_fetch,
                             .fetch_cancel = view_fetch_cancel};
}
