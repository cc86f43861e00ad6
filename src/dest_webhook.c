/*
 * dest_webhook.c - delivery of records to the tenant's webhook: one signed
 * POST per record in the format of the contract (ARCHITECTURE.md, "Webhook
 * delivery"), through the tenant's destination lane and breaker.  A 2xx is
 * delivered; transient failures are retried by the call; 400/413/422 come
 * back as validation; 401/403/404/410 mean the endpoint or its secret is
 * misconfigured: the destination pauses and the record waits in the lane
 * (it is not dead-lettered), to be probed again after breaker.open_timeout
 * or at once when the secret file changes or on SIGHUP.
 *
 * Such an answer means "misconfigured" only while it is the answer to every
 * record.  A record that paused the destination and gets the same answer
 * again after other records were delivered meanwhile is this record's
 * problem (a receiver that 404s one id): it comes back as TR_DEAD_LETTER
 * (manual review) and the rest go on, so no single record holds its
 * resource back.  Until another record is delivered the answer stands for
 * all of them and the record keeps waiting, as the endpoint may be broken.
 */
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "engine.h"
#include "log.h"
#include "sign.h"
#include "tenant.h"
#include "util.h"

#define WEBHOOK_MAX_RESPONSE (64 * 1024)

char *dest_webhook_body(const char *tenant, const struct delivery *dl)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_puts(&b, "{\"tenant\":\"");
    rc |= buf_json_escape(&b, tenant);
    rc |= buf_puts(&b, "\",\"resource\":\"");
    rc |= buf_json_escape(&b, dl->resource);
    rc |= buf_printf(&b, "\",\"action\":\"%s\",\"id\":\"", dl->is_delete ? "delete" : "upsert");
    rc |= buf_json_escape(&b, dl->id);
    rc |= buf_puts(&b, "\",\"updated_at\":\"");
    rc |= buf_json_escape(&b, dl->updated_at);
    rc |= buf_puts(&b, "\",\"data\":");
    rc |= buf_puts(&b, dl->is_delete || !dl->payload ? "null" : dl->payload);
    rc |= buf_puts(&b, "}");
    (void)rc; /* an uncapped buffer cannot refuse */
    return buf_steal(&b);
}

/* The webhook destination: struct dest plus what it learns over time. */
struct webhook {
    struct dest base;
    /* Deliveries the endpoint accepted: each one shows the endpoint is
     * configured, so a record refused the same way before and after it is
     * refused for itself. */
    uint64_t delivered;
};

static void on_webhook_done(struct call *c, const struct call_result *r);

#define SIGNATURE_HEADER 1 /* index in the call's headers */

/* Signs the body with the secret in force now: a delivery that waited in a
 * paused lane goes out signed with the secret that was fixed meanwhile. */
static void sign_now(struct call *c)
{
    struct tenant *t = c->arg;
    char sig[SHA256_HEX_LEN];
    sign_hmac_sha256_hex(t->secret, strlen(t->secret), c->body, c->body_len, sig);
    char *sig_h = xasprintf("X-Vomo-Sync-Signature: sha256=%s", sig);
    call_set_header(c, SIGNATURE_HEADER, sig_h);
    free(sig_h);
}

/* Builds the request; sign_now() signs it before each attempt. */
static void prepare(struct tenant *t, struct delivery *dl)
{
    struct engine *e = t->eng;
    char *body = dest_webhook_body(t->name, dl);
    size_t len = strlen(body);
    char *key_h =
        xasprintf("Idempotency-Key: %s:%s:%s:%s", t->name, dl->resource, dl->id, dl->updated_at);
    const char *headers[] = {"Content-Type: application/json", "X-Vomo-Sync-Signature: unsigned",
                             key_h, NULL};
    call_init(&dl->call, "POST", t->webhook_url, body, len, headers);
    free(body);
    free(key_h);
    struct call *c = &dl->call;
    c->lane = &t->dest_lane;
    c->http = &e->http;
    c->ctx = OP_WEBHOOK;
    c->backoff = &e->retry_policy;
    c->budget = &t->budget;
    c->breaker = &t->dest_breaker;
    c->gate = NULL;
    c->timeout_ms = e->cfg->webhook_timeout_ms;
    c->connect_timeout_ms = e->cfg->connect_timeout_ms;
    c->max_response = WEBHOOK_MAX_RESPONSE;
    c->tenant = t->name;
    c->resource = dl->resource;
    c->record_id = dl->id;
    c->trace_id = dl->trace_id;
    c->check = NULL;
    c->done = on_webhook_done;
    c->before_send = sign_now;
    c->arg = t;
    dl->paused_status = 0;
    dl->paused_at_mark = 0;
}

static void webhook_deliver(struct dest *d, struct delivery *dl)
{
    prepare(d->tenant, dl);
    call_start(&dl->call);
}

/*
 * A "misconfigured endpoint" answer for this record: whether it is this
 * record's own (it paused the destination with the same answer before, and
 * the endpoint has accepted other records since).
 */
static bool refused_alone(const struct webhook *w, const struct delivery *dl, long status)
{
    return dl->paused_status == status && w->delivered != dl->paused_at_mark;
}

static void on_webhook_done(struct call *c, const struct call_result *r)
{
    struct delivery *dl = container_of(c, struct delivery, call);
    struct tenant *t = c->arg;
    struct webhook *w = container_of(t->dest, struct webhook, base);
    enum treatment tr = r->treatment;
    if (!r->cancelled && tr == TR_PAUSE_DESTINATION) {
        if (!refused_alone(w, dl, r->status)) {
            dl->paused_status = r->status;
            dl->paused_at_mark = w->delivered;
            tenant_dest_pause(t, r->status, r->message);
            call_start(c); /* waits in the paused lane: records wait, they are not dead-lettered */
            return;
        }
        tr = TR_DEAD_LETTER;
    }
    if (!r->cancelled && r->cls == EC_NONE)
        w->delivered++;
    if (!r->cancelled && t->dest_paused)
        tenant_dest_ok(t);
    struct delivery_result res = {
        .cls = r->cls, .treatment = tr, .status = r->status, .cancelled = r->cancelled};
    if (tr != r->treatment)
        snprintf(res.message, sizeof(res.message),
                 "%.180s (this record only: other records were delivered since)", r->message);
    else
        snprintf(res.message, sizeof(res.message), "%s", r->message);
    call_release(c);
    dl->done(dl, &res);
}

static void webhook_free(struct dest *d)
{
    claims_free(&d->claims);
    free(container_of(d, struct webhook, base));
}

static const struct dest_ops webhook_ops = {
    .kind = "webhook",
    .deliver = webhook_deliver,
    .free = webhook_free,
};

struct dest *dest_webhook_new(struct tenant *t)
{
    struct webhook *w = xcalloc(1, sizeof(*w));
    w->base.ops = &webhook_ops;
    w->base.tenant = t;
    claims_init(&w->base.claims);
    return &w->base;
}
