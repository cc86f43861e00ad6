/*
 * fake_admin.c - the control interface /_admin/... : the operations of
 * fake.h over HTTP with JSON bodies, so that scripts and out-of-process
 * tests can script faults and data changes while the fake runs.  Only
 * loopback peers get here (fake_http.c checks).  Runs without the lock and
 * goes through the public, locking functions.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_int.h"

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jint(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

/* An id given as a number or a string, as text in buf; NULL when absent. */
static const char *jid(const cJSON *o, char *buf, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%lld", (long long)v->valuedouble);
        return buf;
    }
    return NULL;
}

static void reply_json(struct fake_reply *r, int status, char *owned)
{
    free(r->body);
    r->status = status;
    r->body = owned;
}

static void reply_rc(struct fake_reply *r, int rc, const char *what)
{
    if (rc >= 0)
        reply_json(r, 200, xasprintf("{\"ok\":true,\"count\":%d}", rc));
    else if (rc == -ENOENT)
        reply_json(r, 404,
                   xasprintf("{\"message\":\"%s: no such tenant, resource or id.\"}", what));
    else
        reply_json(r, 400, xasprintf("{\"message\":\"%s: invalid request.\"}", what));
}

static void add_fault(struct fake *f, const cJSON *o, struct fake_reply *r)
{
    struct fake_fault ft = {0};
    ft.method = jstr(o, "method");
    ft.path = jstr(o, "path");
    ft.tenant = jstr(o, "tenant");
    ft.body_contains = jstr(o, "body_contains");
    ft.retry_after = jstr(o, "retry_after");
    ft.body = jstr(o, "body");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "probability");
    ft.probability = cJSON_IsNumber(p) ? p->valuedouble : 0;
    ft.count = jint(o, "count", 0);
    ft.status = jint(o, "status", 0);
    ft.delay_ms = jint(o, "delay_ms", 0);
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(o, "retry_after");
    char rabuf[24];
    if (cJSON_IsNumber(ra)) {
        snprintf(rabuf, sizeof(rabuf), "%d", (int)ra->valuedouble);
        ft.retry_after = rabuf;
    }
    int id = -EINVAL;
    if (fake_fault_kind_parse(jstr(o, "kind"), &ft.kind) == 0)
        id = fake_add_fault(f, &ft);
    if (id < 0)
        reply_json(r, 400,
                   xstrdup("{\"message\":\"bad fault rule: kind must be status|delay|reset|hang|"
                           "malformed|lose|stall; status needs a code 100-599\"}"));
    else
        reply_json(r, 201, xasprintf("{\"id\":%d}", id));
}

static char *requests_json(struct fake *f)
{
    struct fake_request *q;
    size_t n;
    if (fake_requests(f, &q, &n) < 0)
        return xstrdup("[]");
    struct buf b;
    buf_init(&b, 0);
    (void)!buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        (void)!buf_printf(&b, "%s{\"time_ms\":%lld,\"method\":\"", i ? "," : "",
                          (long long)q[i].time_ms);
        (void)!buf_json_escape(&b, q[i].method);
        (void)!buf_puts(&b, "\",\"path\":\"");
        (void)!buf_json_escape(&b, q[i].path);
        (void)!buf_puts(&b, "\",\"query\":\"");
        (void)!buf_json_escape(&b, q[i].query);
        (void)!buf_puts(&b, "\",\"tenant\":\"");
        (void)!buf_json_escape(&b, q[i].tenant);
        (void)!buf_printf(&b, "\",\"status\":%d,\"fault\":\"%s\",\"body\":\"", q[i].status,
                          q[i].fault);
        (void)!buf_json_escape(&b, q[i].body);
        (void)!buf_puts(&b, "\"}");
    }
    (void)!buf_puts(&b, "]");
    fake_requests_free(q, n);
    return buf_steal(&b);
}

static char *deliveries_json(struct fake *f)
{
    struct fake_delivery *d;
    size_t n;
    if (fake_deliveries(f, &d, &n) < 0)
        return xstrdup("[]");
    struct buf b;
    buf_init(&b, 0);
    (void)!buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        (void)!buf_printf(&b, "%s{\"time_ms\":%lld,\"tenant\":\"", i ? "," : "",
                          (long long)d[i].time_ms);
        (void)!buf_json_escape(&b, d[i].tenant);
        (void)!buf_puts(&b, "\",\"signature\":\"");
        (void)!buf_json_escape(&b, d[i].signature);
        (void)!buf_puts(&b, "\",\"idempotency_key\":\"");
        (void)!buf_json_escape(&b, d[i].idempotency_key);
        (void)!buf_printf(&b, "\",\"status\":%d,\"signature_ok\":%s,\"body\":\"", d[i].status,
                          d[i].signature_ok ? "true" : "false");
        (void)!buf_json_escape(&b, d[i].body);
        (void)!buf_puts(&b, "\"}");
    }
    (void)!buf_puts(&b, "]");
    fake_deliveries_free(d, n);
    return buf_steal(&b);
}

/* mutate, delete, corrupt: by "id", or "n" random records. */
static void data_op(struct fake *f, const char *op, const cJSON *o, struct fake_reply *r)
{
    const char *tenant = jstr(o, "tenant"), *res = jstr(o, "resource");
    char idbuf[32];
    const char *id = jid(o, idbuf, sizeof(idbuf));
    int n = jint(o, "n", 1), rc;
    if (strcmp(op, "mutate") == 0)
        rc = id ? fake_mutate_id(f, tenant, res, id) : fake_mutate(f, tenant, res, n);
    else if (strcmp(op, "delete") == 0)
        rc = id ? fake_delete_id(f, tenant, res, id) : fake_delete_random(f, tenant, res, n);
    else {
        int kind = -1;
        const char *k = jstr(o, "kind");
        if (k && fake_corrupt_kind_parse(k, &kind) < 0)
            kind = -1;
        if (!k)
            kind = jint(o, "kind", -1);
        rc = id && kind >= 0 ? fake_corrupt(f, tenant, res, id, kind) : -EINVAL;
    }
    if (rc == 0 && id)
        rc = 1;
    reply_rc(r, rc, op);
}

static void tenant_op(struct fake *f, const char *op, const cJSON *o, struct fake_reply *r)
{
    int rc;
    if (strcmp(op, "revoke") == 0 || strcmp(op, "restore") == 0)
        rc = fake_revoke(f, jstr(o, "tenant"), strcmp(op, "revoke") == 0);
    else if (strcmp(op, "webhook-secret") == 0)
        rc = fake_set_webhook_secret(f, jstr(o, "tenant"), jstr(o, "secret"));
    else
        rc = fake_add_tenant(f, jstr(o, "name"), jstr(o, "token"), jint(o, "users", 0),
                             jint(o, "groups", 0), jint(o, "projects", 0));
    if (rc == -EEXIST)
        reply_json(r, 409, xstrdup("{\"message\":\"tenant name or token already exists\"}"));
    else
        reply_rc(r, rc, op);
}

static void admin_get(struct fake *f, const char *op, const char *(*arg)(void *, const char *),
                      void *cls, struct fake_reply *r)
{
    if (strcmp(op, "requests") == 0)
        reply_json(r, 200, requests_json(f));
    else if (strcmp(op, "deliveries") == 0)
        reply_json(r, 200, deliveries_json(f));
    else if (strcmp(op, "faults") == 0) {
        pthread_mutex_lock(&f->mu);
        char *s = fake_rules_json_locked(f);
        pthread_mutex_unlock(&f->mu);
        reply_json(r, 200, s);
    } else if (strcmp(op, "dump") == 0) {
        char *s = fake_dump(f, arg(cls, "tenant"), arg(cls, "resource"));
        if (s)
            reply_json(r, 200, s);
        else
            reply_rc(r, -ENOENT, op);
    } else
        reply_json(r, 404, xstrdup("{\"message\":\"unknown admin endpoint, see --help\"}"));
}

void fake_admin_handle(struct fake *f, const char *method, const char *path, const char *body,
                       const char *(*arg)(void *cls, const char *key), void *arg_cls,
                       struct fake_reply *out)
{
    const char *op = path + strlen("/_admin");
    op += *op == '/';
    if (strcmp(method, "GET") == 0) {
        admin_get(f, op, arg, arg_cls, out);
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        bool known = true;
        if (strcmp(op, "faults") == 0)
            fake_clear_faults(f);
        else if (strcmp(op, "requests") == 0)
            fake_requests_clear(f);
        else if (strcmp(op, "deliveries") == 0)
            fake_deliveries_clear(f);
        else
            known = false;
        reply_rc(out, known ? 0 : -EINVAL, op);
        return;
    }
    cJSON *o = cJSON_Parse(body);
    if (strcmp(method, "POST") != 0 || !cJSON_IsObject(o))
        reply_json(out, 400, xstrdup("{\"message\":\"POST a JSON object, see --help\"}"));
    else if (strcmp(op, "faults") == 0)
        add_fault(f, o, out);
    else if (strcmp(op, "mutate") == 0 || strcmp(op, "delete") == 0 || strcmp(op, "corrupt") == 0)
        data_op(f, op, o, out);
    else if (strcmp(op, "revoke") == 0 || strcmp(op, "restore") == 0 ||
             strcmp(op, "tenants") == 0 || strcmp(op, "webhook-secret") == 0)
        tenant_op(f, op, o, out);
    else
        reply_json(out, 404, xstrdup("{\"message\":\"unknown admin endpoint, see --help\"}"));
    cJSON_Delete(o);
}
