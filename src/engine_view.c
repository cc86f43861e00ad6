/*
 * engine_view.c - the read API's view of the engine (see apiview.h): the
 * one place that turns tenants, slots and the VOMO breaker into the few
 * facts the API needs, so that the HTTP side depends on apiview.h alone.
 * Live reads of one record go through recordfetch.h (the tenant's lane,
 * its rate gate, breaker and retry budget; what VOMO sends is applied to
 * the mirror like a scan's record), answered at VOMO's first answer or
 * live_timeout, whichever comes first.
 */
#include "apiview.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "recordfetch.h"
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

/* The API's callback and argument, carried through recordfetch's. */
struct view_fetch {
    struct recordfetch *rf;
    api_fetch_fn fn;
    void *arg;
};

/* What recordfetch learnt, as the API reads it: VOMO's status when one
 * arrived (0 when none did: a timeout, a connection, the breaker held it
 * back), or the 401 of a token VOMO already refused. */
static void on_record(const struct recordfetch_result *r, void *arg)
{
    struct view_fetch *vf = arg;
    struct api_fetch_result res = {.status = r->status,
                                   .body = r->body ? r->body : "",
                                   .body_len = r->body ? r->body_len : 0,
                                   .cancelled = r->cancelled};
    if (r->auth_failed && !r->status)
        res.status = 401;
    api_fetch_fn fn = vf->fn;
    void *fn_arg = vf->arg;
    free(vf);
    fn(&res, fn_arg);
}

static struct api_fetch *view_fetch(void *ctx, const char *tenant, enum resource r, const char *id,
                                    int64_t timeout_ms, api_fetch_fn fn, void *arg)
{
    struct view_fetch *vf = xcalloc(1, sizeof(*vf));
    vf->fn = fn;
    vf->arg = arg;
    struct recordfetch_opts opts = {.timeout_ms = timeout_ms, .first_answer = true};
    if (recordfetch_start(ctx, tenant, resource_name(r), id, &opts, on_record, vf, &vf->rf) < 0) {
        free(vf);
        return NULL;
    }
    return (struct api_fetch *)vf;
}

/* The callback will not run: its carrier goes now. */
static void view_fetch_cancel(void *ctx, struct api_fetch *f)
{
    (void)ctx;
    struct view_fetch *vf = (struct view_fetch *)f;
    recordfetch_cancel(vf->rf);
    free(vf);
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
