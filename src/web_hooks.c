/*
 * web_hooks.c - POST /hooks/vomo/{tenant}: VOMO's own webhooks, for the
 * tenants with vomo_webhook_secret_file.  The body is checked against
 * `vomo-signature` (constant time) before anything else is read from it;
 * a valid event is recorded in vomo_hints and answered 202 at once: VOMO
 * waits only 3 s and retries twice, and the work is the hint processor's
 * (hintproc.h), told through the hook the owner set (web.h on_hint).  A
 * replay of an event recorded before is answered 202 too and changes
 * nothing.  Refusals: 404 for a tenant without a secret (or unknown), 413
 * for a body over VOMOHINT_MAX_BODY, 401 for a missing or wrong signature
 * (logged without the body, at most once a minute, with a count
 * of those not logged), 400 for a body that is not an event.
 */
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "obs.h"
#include "store_hints.h"
#include "vomohint.h"
#include "web_int.h"

#define HOOKS_PREFIX "/hooks/vomo/"
#define HOOKS_LOG_EVERY_MS 60000

static const struct tenant_cfg *hook_tenant(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntenants; i++)
        if (strcmp(cfg->tenants[i].name, name) == 0)
            return cfg->tenants[i].vomo_webhook_secret ? &cfg->tenants[i] : NULL;
    return NULL;
}

/* The 401 line, without the body, rate limited. */
static void log_refused(struct web *w, const char *tenant, const char *why, size_t len)
{
    int64_t now = clock_mono_ms();
    w->hook_refused++;
    if (w->hook_logged_at && now - w->hook_logged_at < HOOKS_LOG_EVERY_MS)
        return;
    struct log_fields f = {.tenant = tenant, .http_status = 401, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_WARN, &f,
             "VOMO webhook for tenant %s refused (401): vomo-signature %s (%zu byte body, not "
             "logged; %lld refused in all). Check that VOMO signs with the secret in "
             "vomo_webhook_secret_file",
             tenant, why, len, (long long)w->hook_refused);
    w->hook_logged_at = now;
}

static void reply_json(struct httpd_reply *rep, int status, const char *state, int64_t id)
{
    rep->status = status;
    (void)!buf_printf(&rep->body, "{\"status\": \"%s\", \"hint\": %lld}\n", state, (long long)id);
}

/* Records a verified event; answers 202 (or 500 when it cannot be kept,
 * so that VOMO sends it again). */
static void record(struct web *w, const char *tenant, const char *body, size_t len,
                   struct httpd_reply *rep)
{
    struct vomohint h;
    const char *why = NULL;
    if (vomohint_parse(body, len, &h, &why) < 0) {
        struct log_fields f = {.tenant = tenant, .http_status = 400, .delay_ms = LOG_NO_DELAY};
        log_emit(LOG_WARN, &f, "VOMO webhook for tenant %s refused (400): %s", tenant, why);
        httpd_reply_error(rep, 400, why);
        return;
    }
    char now[TS_LEN];
    ts_format(clock_wall_ms(), now);
    struct hint_new n = {.tenant = tenant,
                         .event_key = h.event_key,
                         .type = h.type,
                         .resource = h.known ? resource_name(h.resource) : NULL,
                         .record_id = h.record_id[0] ? h.record_id : NULL,
                         .organization_id = h.organization_id[0] ? h.organization_id : NULL,
                         .outcome = h.known ? "pending" : "ignored",
                         .now = now};
    int64_t id = 0;
    bool replay = false;
    if (store_hint_add(w->e->store, &n, &id, &replay) < 0) {
        log_error("VOMO webhook for tenant %s not recorded (%s): answered 500, VOMO retries it",
                  tenant, store_errmsg(w->e->store));
        httpd_reply_error(rep, 500, "the hint could not be recorded; send it again");
        return;
    }
    struct log_fields f = {.tenant = tenant, .delay_ms = LOG_NO_DELAY};
    log_emit(LOG_DEBUG, &f, "VOMO webhook %s (%s%s%s): hint %lld%s", h.type,
             n.resource ? n.resource : "not synced", n.record_id ? " " : "",
             n.record_id ? n.record_id : "", (long long)id, replay ? ", a replay" : "");
    if (replay || !h.known)
        obs_hint(tenant, h.type_label, replay ? "replay" : "ignored");
    reply_json(rep, 202, replay ? "replay" : h.known ? "accepted" : "ignored", id);
    if (!replay && h.known && w->on_hint)
        w->on_hint(w->hint_arg);
}

static void on_hook(const struct httpd_request *req, struct httpd_reply *rep, void *ctx)
{
    struct web *w = ctx;
    const char *tenant = req->path + strlen(HOOKS_PREFIX);
    const struct tenant_cfg *tc =
        *tenant && !strchr(tenant, '/') ? hook_tenant(w->e->cfg, tenant) : NULL;
    if (!tc) {
        httpd_reply_error(rep, 404, "no such tenant, or it has no vomo_webhook_secret_file");
        return;
    }
    if (req->body_len > VOMOHINT_MAX_BODY) {
        httpd_reply_error(rep, 413, "the event is larger than 256 KiB");
        return;
    }
    const char *sig = httpd_header(req, "vomo-signature");
    if (!vomohint_signature_ok(tc->vomo_webhook_secret, req->body, req->body_len, sig)) {
        obs_hint_bad_signature(tc->name);
        log_refused(w, tc->name, sig ? "does not match the body" : "is missing", req->body_len);
        httpd_reply_error(rep, 401, "vomo-signature missing or wrong");
        return;
    }
    record(w, tc->name, req->body, req->body_len, rep);
}

int web_hooks_routes(struct web *w)
{
    return httpd_route_add(w->srv, "POST", HOOKS_PREFIX, on_hook, w);
}
