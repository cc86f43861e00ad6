/*
 * fake_core.c - the life of a struct fake: options, tenants and their
 * tokens, webhook secrets, and the request and delivery logs (bounded, the
 * oldest half dropped when full, so a long benchmark cannot eat memory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fake_int.h"

#define FAKE_LOG_MAX 200000

/* Generated timestamps end here (or a day ago on a machine whose clock is
 * earlier), so datasets do not depend on when the fake was started. */
#define FAKE_ANCHOR_S 1761955200 /* 2025-11-01T00:00:00Z */

void fake_opts_default(struct fake_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->bind_addr = "127.0.0.1";
    o->seed = 1;
    o->page_size = 15;
}

int64_t fake_now_s(void)
{
    return clock_wall_ms() / 1000;
}

struct fake *fake_new(const struct fake_opts *o)
{
    struct fake *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->timer_cv, &ca);
    pthread_condattr_destroy(&ca);
    f->o = *o;
    f->bind_addr = xstrdup(o->bind_addr && *o->bind_addr ? o->bind_addr : "127.0.0.1");
    f->o.bind_addr = f->bind_addr;
    if (f->o.page_size <= 0)
        f->o.page_size = 15;
    f->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)o->seed << 17) ^ (uint64_t)clock_mono_ms();
    f->next_rule_id = 1;
    f->listen_fd = -1;
    int64_t day_ago = fake_now_s() - 86400;
    f->anchor = day_ago < FAKE_ANCHOR_S ? day_ago : FAKE_ANCHOR_S;
    return f;
}

/* splitmix64 over the fake's own state: used under the lock only. */
uint64_t fake_rand_locked(struct fake *f)
{
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct fake_tenant *fake_tenant_by_name_locked(struct fake *f, const char *name)
{
    for (size_t i = 0; name && i < f->ntenants; i++)
        if (strcmp(f->tenants[i]->name, name) == 0)
            return f->tenants[i];
    return NULL;
}

struct fake_tenant *fake_tenant_by_token_locked(struct fake *f, const char *token)
{
    for (size_t i = 0; token && i < f->ntenants; i++)
        if (strcmp(f->tenants[i]->token, token) == 0)
            return f->tenants[i];
    return NULL;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int fake_add_tenant(struct fake *f, const char *name, const char *token, int users, int groups,
                    int projects)
{
    if (!name || !*name || !token || !*token || users < 0 || groups < 0 || projects < 0)
        return -EINVAL;
    struct fake_tenant *t = xcalloc(1, sizeof(*t));
    t->name = xstrdup(name);
    t->token = xstrdup(token);
    uint64_t seed = name_hash(name) ^ ((uint64_t)f->o.seed * 0x9e3779b97f4a7c15ULL);
    /* Generation runs outside the lock: the tenant is not visible yet. */
    fake_set_generate(&t->sets[FAKE_USERS], FAKE_USERS, users, seed + 1, f->anchor, NULL);
    fake_set_generate(&t->sets[FAKE_GROUPS], FAKE_GROUPS, groups, seed + 2, f->anchor,
                      &t->sets[FAKE_USERS]);
    fake_set_generate(&t->sets[FAKE_PROJECTS], FAKE_PROJECTS, projects, seed + 3, f->anchor, NULL);
    for (int r = FAKE_CAMPAIGNS; r < FAKE_NRES; r++)
        fake_set_generate(&t->sets[r], (enum fake_res)r, FAKE_REFERENCE_SIZE,
                          seed + (uint64_t)r + 1, f->anchor, NULL);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    if (fake_tenant_by_name_locked(f, name) || fake_tenant_by_token_locked(f, token)) {
        rc = -EEXIST;
    } else {
        f->tenants = xrealloc(f->tenants, (f->ntenants + 1) * sizeof(*f->tenants));
        f->tenants[f->ntenants++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&f->mu);
    if (t) {
        for (int r = 0; r < FAKE_NRES; r++)
            fake_set_free(&t->sets[r]);
        free(t->name);
        free(t->token);
        free(t);
    }
    return rc;
}

int fake_set_webhook_secret(struct fake *f, const char *tenant, const char *secret)
{
    if (!tenant || !*tenant)
        return -EINVAL;
    pthread_mutex_lock(&f->mu);
    size_t i;
    for (i = 0; i < f->nsecrets; i++)
        if (strcmp(f->secrets[i].tenant, tenant) == 0)
            break;
    if (i == f->nsecrets) {
        f->secrets = xrealloc(f->secrets, (f->nsecrets + 1) * sizeof(*f->secrets));
        f->secrets[f->nsecrets++] = (struct fake_secret){xstrdup(tenant), NULL};
    }
    free(f->secrets[i].secret);
    f->secrets[i].secret = secret ? xstrdup(secret) : NULL;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

const char *fake_secret_locked(struct fake *f, const char *tenant)
{
    for (size_t i = 0; i < f->nsecrets; i++)
        if (strcmp(f->secrets[i].tenant, tenant) == 0)
            return f->secrets[i].secret;
    return NULL;
}

int fake_revoke(struct fake *f, const char *tenant, bool revoked)
{
    pthread_mutex_lock(&f->mu);
    struct fake_tenant *t = fake_tenant_by_name_locked(f, tenant);
    if (t)
        t->revoked = revoked;
    pthread_mutex_unlock(&f->mu);
    return t ? 0 : -ENOENT;
}

int fake_set_token(struct fake *f, const char *tenant, const char *token)
{
    pthread_mutex_lock(&f->mu);
    struct fake_tenant *t = fake_tenant_by_name_locked(f, tenant);
    if (t) {
        free(t->token);
        t->token = xstrdup(token);
    }
    pthread_mutex_unlock(&f->mu);
    return t ? 0 : -ENOENT;
}

static void request_free(struct fake_request *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->tenant);
    free(r->fault);
    free(r->body);
}

static void delivery_free(struct fake_delivery *d)
{
    free(d->tenant);
    free(d->signature);
    free(d->idempotency_key);
    free(d->body);
}

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

static void request_copy(struct fake_request *dst, const struct fake_request *src)
{
    *dst = *src;
    dst->method = dup_or_empty(src->method);
    dst->path = dup_or_empty(src->path);
    dst->query = dup_or_empty(src->query);
    dst->tenant = dup_or_empty(src->tenant);
    dst->fault = dup_or_empty(src->fault);
    dst->body = dup_or_empty(src->body);
}

static void delivery_copy(struct fake_delivery *dst, const struct fake_delivery *src)
{
    *dst = *src;
    dst->tenant = dup_or_empty(src->tenant);
    dst->signature = dup_or_empty(src->signature);
    dst->idempotency_key = dup_or_empty(src->idempotency_key);
    dst->body = dup_or_empty(src->body);
}

void fake_log_request_locked(struct fake *f, const struct fake_request *r)
{
    if (f->nreqs == FAKE_LOG_MAX) {
        size_t drop = FAKE_LOG_MAX / 2;
        for (size_t i = 0; i < drop; i++)
            request_free(&f->reqs[i]);
        memmove(f->reqs, f->reqs + drop, (f->nreqs - drop) * sizeof(*f->reqs));
        f->nreqs -= drop;
    }
    if (f->nreqs == f->reqs_cap) {
        f->reqs_cap = f->reqs_cap ? f->reqs_cap * 2 : 64;
        f->reqs = xrealloc(f->reqs, f->reqs_cap * sizeof(*f->reqs));
    }
    request_copy(&f->reqs[f->nreqs++], r);
}

void fake_log_delivery_locked(struct fake *f, const struct fake_delivery *d)
{
    if (f->ndels == FAKE_LOG_MAX) {
        size_t drop = FAKE_LOG_MAX / 2;
        for (size_t i = 0; i < drop; i++)
            delivery_free(&f->dels[i]);
        memmove(f->dels, f->dels + drop, (f->ndels - drop) * sizeof(*f->dels));
        f->ndels -= drop;
    }
    if (f->ndels == f->dels_cap) {
        f->dels_cap = f->dels_cap ? f->dels_cap * 2 : 64;
        f->dels = xrealloc(f->dels, f->dels_cap * sizeof(*f->dels));
    }
    delivery_copy(&f->dels[f->ndels++], d);
}

int fake_requests(struct fake *f, struct fake_request **out, size_t *n)
{
    pthread_mutex_lock(&f->mu);
    *n = f->nreqs;
    *out = xcalloc(f->nreqs ? f->nreqs : 1, sizeof(**out));
    for (size_t i = 0; i < f->nreqs; i++)
        request_copy(&(*out)[i], &f->reqs[i]);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

void fake_requests_free(struct fake_request *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        request_free(&r[i]);
    free(r);
}

void fake_requests_clear(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nreqs; i++)
        request_free(&f->reqs[i]);
    f->nreqs = 0;
    pthread_mutex_unlock(&f->mu);
}

int fake_deliveries(struct fake *f, struct fake_delivery **out, size_t *n)
{
    pthread_mutex_lock(&f->mu);
    *n = f->ndels;
    *out = xcalloc(f->ndels ? f->ndels : 1, sizeof(**out));
    for (size_t i = 0; i < f->ndels; i++)
        delivery_copy(&(*out)[i], &f->dels[i]);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

void fake_deliveries_free(struct fake_delivery *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        delivery_free(&d[i]);
    free(d);
}

void fake_deliveries_clear(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->ndels; i++)
        delivery_free(&f->dels[i]);
    f->ndels = 0;
    pthread_mutex_unlock(&f->mu);
}

void fake_free(struct fake *f)
{
    if (!f)
        return;
    fake_http_stop(f);
    for (size_t i = 0; i < f->ntenants; i++) {
        for (int r = 0; r < FAKE_NRES; r++)
            fake_set_free(&f->tenants[i]->sets[r]);
        free(f->tenants[i]->name);
        free(f->tenants[i]->token);
        free(f->tenants[i]);
    }
    free(f->tenants);
    for (size_t i = 0; i < f->nsecrets; i++) {
        free(f->secrets[i].tenant);
        free(f->secrets[i].secret);
    }
    free(f->secrets);
    fake_rules_free_locked(f);
    fake_requests_clear(f);
    free(f->reqs);
    fake_deliveries_clear(f);
    free(f->dels);
    free(f->bind_addr);
    free(f->after.tenant);
    pthread_cond_destroy(&f->timer_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
