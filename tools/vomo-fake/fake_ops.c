/*
 * fake_ops.c - changes a test makes to a running fake's data (mutate,
 * delete, corrupt) and the snapshots it reads back (records, dump, count).
 * The same operations back the /_admin endpoints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_int.h"

/* Finds tenant and set; NULL (with the lock still held) when unknown. */
static struct fake_set *set_locked(struct fake *f, const char *tenant, const char *resource,
                                   enum fake_res *res)
{
    struct fake_tenant *t = fake_tenant_by_name_locked(f, tenant);
    enum fake_res r;
    if (!t || fake_res_parse(resource, &r) < 0)
        return NULL;
    if (res)
        *res = r;
    return &t->sets[r];
}

int fake_mutate(struct fake *f, const char *tenant, const char *resource, int n)
{
    pthread_mutex_lock(&f->mu);
    struct fake_set *s = set_locked(f, tenant, resource, NULL);
    int done = -ENOENT;
    if (s) {
        size_t want = n < 0 ? 0 : (size_t)n;
        if (want > s->n)
            want = s->n;
        /* Partial Fisher-Yates over indexes picks distinct records. */
        size_t *idx = xmalloc((s->n ? s->n : 1) * sizeof(*idx));
        for (size_t i = 0; i < s->n; i++)
            idx[i] = i;
        for (size_t i = 0; i < want; i++) {
            size_t j = i + (size_t)(fake_rand_locked(f) % (s->n - i));
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            fake_rec_touch(s, &s->recs[idx[i]]);
        }
        free(idx);
        done = (int)want;
    }
    pthread_mutex_unlock(&f->mu);
    return done;
}

static struct fake_rec *rec_locked(struct fake *f, const char *tenant, const char *resource,
                                   const char *id, struct fake_set **set)
{
    int64_t v;
    struct fake_set *s = set_locked(f, tenant, resource, NULL);
    if (!s || !id || fake_id_parse(id, &v) < 0)
        return NULL;
    *set = s;
    return fake_set_find(s, v);
}

int fake_mutate_id(struct fake *f, const char *tenant, const char *resource, const char *id)
{
    struct fake_set *s;
    pthread_mutex_lock(&f->mu);
    struct fake_rec *r = rec_locked(f, tenant, resource, id, &s);
    if (r)
        fake_rec_touch(s, r);
    pthread_mutex_unlock(&f->mu);
    return r ? 0 : -ENOENT;
}

int fake_delete_id(struct fake *f, const char *tenant, const char *resource, const char *id)
{
    struct fake_set *s;
    pthread_mutex_lock(&f->mu);
    struct fake_rec *r = rec_locked(f, tenant, resource, id, &s);
    if (r)
        fake_set_remove(s, r);
    pthread_mutex_unlock(&f->mu);
    return r ? 0 : -ENOENT;
}

int fake_delete_random(struct fake *f, const char *tenant, const char *resource, int n)
{
    pthread_mutex_lock(&f->mu);
    struct fake_set *s = set_locked(f, tenant, resource, NULL);
    int done = s ? 0 : -ENOENT;
    for (int i = 0; s && i < n && s->n > 0; i++, done++)
        fake_set_remove(s, &s->recs[fake_rand_locked(f) % s->n]);
    pthread_mutex_unlock(&f->mu);
    return done;
}

int fake_after_page(struct fake *f, const char *tenant, const char *resource, int page,
                    const char *delete_id, int create)
{
    enum fake_res res;
    int64_t del = 0;
    if (delete_id && fake_id_parse(delete_id, &del) < 0)
        return -ENOENT;
    pthread_mutex_lock(&f->mu);
    int rc = set_locked(f, tenant, resource, &res) ? 0 : -ENOENT;
    if (rc == 0) {
        free(f->after.tenant);
        f->after.tenant = xstrdup(tenant);
        f->after.res = res;
        f->after.page = page;
        f->after.delete_id = del;
        f->after.create = create;
        f->after.armed = true;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void fake_after_page_apply_locked(struct fake *f, struct fake_tenant *t, enum fake_res res,
                                  int page)
{
    if (!f->after.armed || res != f->after.res || page != f->after.page ||
        strcmp(t->name, f->after.tenant) != 0)
        return;
    f->after.armed = false;
    struct fake_set *s = &t->sets[res];
    struct fake_rec *gone = f->after.delete_id ? fake_set_find(s, f->after.delete_id) : NULL;
    if (gone)
        fake_set_remove(s, gone);
    for (int i = 0; i < f->after.create; i++) {
        struct fake_rec *r = fake_set_append(s);
        r->created = fake_now_s();
        r->a = xasprintf("New %lld", (long long)r->id);
        if (res == FAKE_USERS) {
            r->b = xstrdup("Created mid-scan");
            r->c = xasprintf("new%lld@example.org", (long long)r->id);
        }
        fake_rec_touch(s, r);
    }
}

int fake_corrupt(struct fake *f, const char *tenant, const char *resource, const char *id, int kind)
{
    if (kind < FAKE_CORRUPT_NONE || kind > FAKE_CORRUPT_ID_OBJECT)
        return -EINVAL;
    struct fake_set *s;
    pthread_mutex_lock(&f->mu);
    struct fake_rec *r = rec_locked(f, tenant, resource, id, &s);
    if (r) {
        r->corrupt = kind;
        fake_rec_touch(s, r);
    }
    pthread_mutex_unlock(&f->mu);
    return r ? 0 : -ENOENT;
}

int fake_corrupt_kind_parse(const char *s, int *out)
{
    static const char *const names[] = {"none", "missing_updated_at", "missing_id",
                                        "bad_updated_at", "id_object"};
    for (size_t i = 0; s && i < ARRAY_SIZE(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return -EINVAL;
}

int fake_count(struct fake *f, const char *tenant, const char *resource)
{
    pthread_mutex_lock(&f->mu);
    struct fake_set *s = set_locked(f, tenant, resource, NULL);
    int n = s ? (int)s->n : -ENOENT;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void ts_of(int64_t secs, char out[TS_LEN])
{
    ts_format(secs * 1000, out);
}

int fake_records(struct fake *f, const char *tenant, const char *resource, struct fake_record **out,
                 size_t *n)
{
    enum fake_res res;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&f->mu);
    struct fake_set *s = set_locked(f, tenant, resource, &res);
    if (!s) {
        pthread_mutex_unlock(&f->mu);
        return -ENOENT;
    }
    struct fake_record *v = xcalloc(s->n ? s->n : 1, sizeof(*v));
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < s->n; i++) {
        const struct fake_rec *r = &s->recs[i];
        snprintf(v[i].id, sizeof(v[i].id), "%lld", (long long)r->id);
        ts_of(r->updated, v[i].updated_at);
        buf_reset(&b);
        fake_rec_render(f, res, r, &b);
        v[i].payload = xstrdup(b.data);
    }
    buf_free(&b);
    *out = v;
    *n = s->n;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

void fake_records_free(struct fake_record *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].payload);
    free(r);
}

static void dump_set_locked(struct fake *f, struct fake_tenant *t, enum fake_res res, struct buf *b)
{
    struct fake_set *s = &t->sets[res];
    (void)!buf_printf(b, ",\"%s\":[", fake_res_name(res));
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            (void)!buf_puts(b, ",");
        fake_rec_render(f, res, &s->recs[i], b);
    }
    (void)!buf_puts(b, "]");
}

char *fake_dump(struct fake *f, const char *tenant, const char *resource)
{
    enum fake_res only;
    if (resource && *resource && fake_res_parse(resource, &only) < 0)
        return NULL;
    pthread_mutex_lock(&f->mu);
    struct fake_tenant *t = fake_tenant_by_name_locked(f, tenant);
    char *out = NULL;
    if (t) {
        struct buf b;
        buf_init(&b, 0);
        (void)!buf_puts(&b, "{\"tenant\":\"");
        (void)!buf_json_escape(&b, t->name);
        (void)!buf_printf(&b, "\",\"revoked\":%s", t->revoked ? "true" : "false");
        for (int r = 0; r < FAKE_NRES; r++)
            if (!(resource && *resource) || (enum fake_res)r == only)
                dump_set_locked(f, t, (enum fake_res)r, &b);
        (void)!buf_puts(&b, "}");
        out = buf_steal(&b);
    }
    pthread_mutex_unlock(&f->mu);
    return out;
}
