/*
 * fake_data.c - the datasets of the fake: deterministic generation from a
 * seed, records kept in arrays sorted by id (new ids are always the
 * largest, so appending keeps the order), their JSON as VOMO spells it, and
 * Laravel pages.  A page without filters is a slice of the array (O(page));
 * an updated_after filter is one O(n) pass whose result is cached until the
 * set changes, so paging through a filtered scan stays cheap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fake_int.h"

static const char *const first_names[] = {
    "Ann",  "Bob",    "Carla", "Dmitri", "Eve",  "Farah", "Gus",   "Hana",  "Ivan", "Jo",
    "Kofi", "Lena",   "Mateo", "Nia",    "Omar", "Priya", "Quinn", "Rosa",  "Sven", "Tariq",
    "Uma",  "Viktor", "Wen",   "Xavier", "Yara", "Zoe",   "Amara", "Bjorn", "Chen", "Dalia"};
static const char *const last_names[] = {
    "Lee",    "Smith", "Garcia", "Okafor", "Novak", "Khan",   "Muller", "Rossi",  "Silva", "Tanaka",
    "Dubois", "Kim",   "Haddad", "Jensen", "Costa", "Nguyen", "Popov",  "Murphy", "Singh", "Berg"};
static const char *const group_words[] = {"Food Bank", "Park Cleanup", "Tutoring", "Shelter",
                                          "Library",   "Choir",        "Garden",   "Seniors",
                                          "Youth",     "Animal Care",  "Clinic",   "Coastal"};
static const char *const project_words[] = {"Spring Drive", "Winter Coats",  "Fun Run",
                                            "Book Fair",    "Tree Planting", "Meal Prep",
                                            "Beach Day",    "Toy Drive",     "Reading Hour"};

const char *fake_res_name(enum fake_res r)
{
    static const char *const names[] = {"users",         "groups", "projects",    "campaigns",
                                        "organizations", "forms",  "certificates"};
    return r < FAKE_NRES ? names[r] : "?";
}

int fake_res_parse(const char *s, enum fake_res *out)
{
    for (int r = 0; s && r < FAKE_NRES; r++) {
        if (strcmp(s, fake_res_name((enum fake_res)r)) == 0) {
            *out = (enum fake_res)r;
            return 0;
        }
    }
    return -ENOENT;
}

/* Accepts decimal ids, as the URL or a test spells them. */
int fake_id_parse(const char *s, int64_t *id)
{
    int64_t v;
    if (parse_i64(s, &v) < 0 || v <= 0)
        return -ENOENT;
    *id = v;
    return 0;
}

static uint64_t gen_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *pick(uint64_t *s, const char *const *list, size_t n)
{
    return list[gen_next(s) % n];
}

static void gen_user(struct fake_rec *r, uint64_t *s)
{
    const char *fn = pick(s, first_names, ARRAY_SIZE(first_names));
    const char *ln = pick(s, last_names, ARRAY_SIZE(last_names));
    r->a = xstrdup(fn);
    r->b = xstrdup(ln);
    r->c = xasprintf("%s.%s.%lld@example.org", fn, ln, (long long)r->id);
    for (char *p = r->c; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (gen_next(s) % 10 != 0)
        r->d = xasprintf("+1 555 %04u", (unsigned)(gen_next(s) % 10000));
}

static void gen_group(struct fake_rec *r, uint64_t *s, const struct fake_set *users)
{
    r->a = xasprintf("%s %lld", pick(s, group_words, ARRAY_SIZE(group_words)), (long long)r->id);
    r->b = xasprintf("Volunteers of group %lld", (long long)r->id);
    size_t n = users && users->n ? (size_t)(gen_next(s) % 12) : 0;
    r->members = xcalloc(n ? n : 1, sizeof(*r->members));
    for (size_t i = 0; i < n; i++)
        r->members[i] = users->recs[gen_next(s) % users->n].id;
    r->nmembers = n;
}

static void gen_project(struct fake_rec *r, uint64_t *s)
{
    r->a =
        xasprintf("%s %lld", pick(s, project_words, ARRAY_SIZE(project_words)), (long long)r->id);
    r->active = gen_next(s) % 4 != 0;
    r->published = gen_next(s) % 3 != 0;
}

struct fake_rec *fake_set_append(struct fake_set *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->recs = xrealloc(s->recs, s->cap * sizeof(*s->recs));
    }
    struct fake_rec *r = &s->recs[s->n++];
    memset(r, 0, sizeof(*r));
    r->id = s->next_id++;
    s->gen++;
    return r;
}

/*
 * Fills a set with n records: ids rise with small gaps, created_at within two
 * years before `anchor`, updated_at between created_at and anchor, all a
 * function of the seed alone.
 */
void fake_set_generate(struct fake_set *s, enum fake_res res, int n, uint64_t seed, int64_t anchor,
                       const struct fake_set *users)
{
    memset(s, 0, sizeof(*s));
    s->next_id = 1 + (int64_t)(seed % 50);
    for (int i = 0; i < n; i++) {
        s->next_id += (int64_t)(gen_next(&seed) % 3);
        struct fake_rec *r = fake_set_append(s);
        r->created = anchor - 86400 - (int64_t)(gen_next(&seed) % (2 * 365 * 86400));
        r->updated = r->created + (int64_t)(gen_next(&seed) % (uint64_t)(anchor - r->created));
        if (res == FAKE_USERS)
            gen_user(r, &seed);
        else if (res == FAKE_GROUPS)
            gen_group(r, &seed, users);
        else if (res == FAKE_PROJECTS)
            gen_project(r, &seed);
        else
            r->a = xasprintf("%s %lld", fake_res_name(res), (long long)r->id);
    }
}

static void rec_free(struct fake_rec *r)
{
    free(r->a);
    free(r->b);
    free(r->c);
    free(r->d);
    free(r->members);
}

void fake_set_free(struct fake_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        rec_free(&s->recs[i]);
    free(s->recs);
    free(s->cache_idx);
    memset(s, 0, sizeof(*s));
}

struct fake_rec *fake_set_find(struct fake_set *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->recs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->recs[lo].id == id ? &s->recs[lo] : NULL;
}

void fake_set_remove(struct fake_set *s, struct fake_rec *r)
{
    size_t i = (size_t)(r - s->recs);
    rec_free(r);
    memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof(*s->recs));
    s->n--;
    s->gen++;
}

void fake_rec_touch(struct fake_set *s, struct fake_rec *r)
{
    r->updated = fake_now_s();
    s->gen++;
}

/* Appends ,"key": without a printf: rendering is the hot path of a list. */
static void put_key(struct buf *out, const char *key)
{
    (void)!buf_puts(out, ",\"");
    (void)!buf_puts(out, key);
    (void)!buf_puts(out, "\":");
}

static void put_ts(struct buf *out, const char *key, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char ts[64];
    int n = snprintf(ts, sizeof(ts), "\"%04d-%02d-%02dT%02d:%02d:%02d+00:00\"",
                     (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    put_key(out, key);
    (void)!buf_append(out, ts, (size_t)n);
}

static void put_str(struct buf *out, const char *key, const char *v)
{
    put_key(out, key);
    if (!v) {
        (void)!buf_puts(out, "null");
        return;
    }
    (void)!buf_puts(out, "\"");
    (void)!buf_json_escape(out, v);
    (void)!buf_puts(out, "\"");
}

static void put_id(const struct fake *f, const struct fake_rec *r, struct buf *out)
{
    if (r->corrupt == FAKE_CORRUPT_NO_ID)
        return;
    if (r->corrupt == FAKE_CORRUPT_ID_OBJECT)
        (void)!buf_printf(out, "\"id\":{\"value\":%lld}", (long long)r->id);
    else if (f->o.string_ids)
        (void)!buf_printf(out, "\"id\":\"%lld\"", (long long)r->id);
    else
        (void)!buf_printf(out, "\"id\":%lld", (long long)r->id);
}

/* Compact JSON in the key order and spelling cJSON_PrintUnformatted uses. */
void fake_rec_render(const struct fake *f, enum fake_res res, const struct fake_rec *r,
                     struct buf *out)
{
    size_t start = out->len;
    (void)!buf_puts(out, "{");
    put_id(f, r, out);
    if (res == FAKE_USERS) {
        put_str(out, "first_name", r->a);
        put_str(out, "last_name", r->b);
        put_str(out, "email", r->c);
        put_str(out, "phone", r->d);
    } else if (res == FAKE_GROUPS) {
        put_str(out, "name", r->a);
        put_str(out, "description", r->b);
        (void)!buf_printf(out, ",\"members_count\":%zu", r->nmembers);
    } else if (res != FAKE_PROJECTS) {
        put_str(out, "name", r->a);
    } else {
        put_str(out, "name", r->a);
        (void)!buf_printf(out, ",\"active\":%s,\"published\":%s", r->active ? "true" : "false",
                          r->published ? "true" : "false");
    }
    put_ts(out, "created_at", r->created);
    if (r->corrupt == FAKE_CORRUPT_BAD_UPDATED_AT)
        (void)!buf_puts(out, ",\"updated_at\":\"not a timestamp\"");
    else if (r->corrupt != FAKE_CORRUPT_NO_UPDATED_AT)
        put_ts(out, "updated_at", r->updated);
    (void)!buf_puts(out, "}");
    if (out->data[start + 1] == ',') { /* the id was left out */
        memmove(out->data + start + 1, out->data + start + 2, out->len - start - 1);
        out->len--;
    }
}

static bool contains_ci(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

static bool rec_matches(enum fake_res res, const struct fake_rec *r, const struct fake_listq *q)
{
    if (q->has_after && r->updated * 1000 < q->after_ms)
        return false;
    if (q->has_created_after && r->created * 1000 < q->created_after_ms)
        return false;
    /* Filters a resource does not have are ignored, as Laravel does. */
    if (res == FAKE_USERS && q->email_like && *q->email_like && !contains_ci(r->c, q->email_like))
        return false;
    if (q->name_like && *q->name_like) {
        bool hit = contains_ci(r->a, q->name_like) ||
                   (res == FAKE_USERS && contains_ci(r->b, q->name_like));
        if (!hit)
            return false;
    }
    if (res == FAKE_PROJECTS && q->active >= 0 && (int)r->active != q->active)
        return false;
    if (res == FAKE_PROJECTS && q->published >= 0 && (int)r->published != q->published)
        return false;
    return true;
}

static bool only_after(const struct fake_listq *q)
{
    return q->has_after && !q->has_created_after && !(q->email_like && *q->email_like) &&
           !(q->name_like && *q->name_like) && q->active < 0 && q->published < 0;
}

static bool no_filter(const struct fake_listq *q)
{
    return !q->has_after && !q->has_created_after && !(q->email_like && *q->email_like) &&
           !(q->name_like && *q->name_like) && q->active < 0 && q->published < 0;
}

/* Indexes of the records that pass the filter; cached for updated_after. */
static size_t *filter_idx(struct fake_set *s, enum fake_res res, const struct fake_listq *q,
                          size_t *n, bool *owned)
{
    if (only_after(q) && s->cache_valid && s->cache_gen == s->gen &&
        s->cache_after == q->after_ms) {
        *n = s->cache_n;
        *owned = false;
        return s->cache_idx;
    }
    size_t *idx = xmalloc((s->n ? s->n : 1) * sizeof(*idx));
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (rec_matches(res, &s->recs[i], q))
            idx[k++] = i;
    *n = k;
    if (only_after(q)) {
        free(s->cache_idx);
        s->cache_idx = idx;
        s->cache_n = k;
        s->cache_gen = s->gen;
        s->cache_after = q->after_ms;
        s->cache_valid = true;
        *owned = false;
        return idx;
    }
    *owned = true;
    return idx;
}

static void put_link(struct buf *out, const char *key, const char *url, int page, bool present)
{
    if (present)
        (void)!buf_printf(out, "\"%s\":\"%s?page=%d\"", key, url, page);
    else
        (void)!buf_printf(out, "\"%s\":null", key);
}

static void put_envelope_tail(struct fake *f, struct buf *out, const struct fake_listq *q,
                              size_t total, size_t from, size_t to)
{
    int per = f->o.page_size;
    int last = total ? (int)((total + (size_t)per - 1) / (size_t)per) : 1;
    int page = q->page;
    (void)!buf_puts(out, "],\"links\":{");
    put_link(out, "first", q->self_url, 1, true);
    (void)!buf_puts(out, ",");
    put_link(out, "last", q->self_url, last, true);
    (void)!buf_puts(out, ",");
    put_link(out, "prev", q->self_url, page - 1, page > 1);
    if (page < last) {
        (void)!buf_puts(out, ",");
        put_link(out, "next", q->self_url, page + 1, true);
    } else if (f->o.next_style == FAKE_NEXT_STRING) {
        (void)!buf_puts(out, ",\"next\":\"null\"");
    } else if (f->o.next_style != FAKE_NEXT_OMIT) {
        (void)!buf_puts(out, ",\"next\":null");
    }
    (void)!buf_printf(out, "},\"meta\":{\"current_page\":%d,", page);
    if (from)
        (void)!buf_printf(out, "\"from\":%zu,", from);
    else
        (void)!buf_puts(out, "\"from\":null,");
    (void)!buf_printf(out, "\"last_page\":%d,\"path\":\"%s\",\"per_page\":%d,", last, q->self_url,
                      per);
    if (from)
        (void)!buf_printf(out, "\"to\":%zu,", to);
    else
        (void)!buf_puts(out, "\"to\":null,");
    (void)!buf_printf(out, "\"total\":%zu}}", total);
}

/* Partial Fisher-Yates: only the first k positions need to be random. */
static void shuffle_prefix(struct fake *f, size_t *idx, size_t n, size_t k)
{
    for (size_t i = 0; i < k && i + 1 < n; i++) {
        size_t j = i + (size_t)(fake_rand_locked(f) % (n - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

static size_t *only_idx(struct fake_set *s, enum fake_res res, const struct fake_listq *q,
                        const int64_t *only, size_t nonly, size_t *n)
{
    size_t *idx = xmalloc((nonly ? nonly : 1) * sizeof(*idx));
    size_t k = 0;
    for (size_t i = 0; i < nonly; i++) {
        struct fake_rec *r = fake_set_find(s, only[i]);
        if (r && rec_matches(res, r, q))
            idx[k++] = (size_t)(r - s->recs);
    }
    *n = k;
    return idx;
}

void fake_list_render_locked(struct fake *f, struct fake_set *s, enum fake_res res,
                             const struct fake_listq *q, const int64_t *only, size_t nonly,
                             struct buf *out)
{
    size_t total, *idx = NULL;
    bool owned = false;
    if (only) {
        idx = only_idx(s, res, q, only, nonly, &total);
        owned = true;
    } else if (!no_filter(q)) {
        idx = filter_idx(s, res, q, &total, &owned);
    } else {
        total = s->n;
    }
    size_t per = (size_t)f->o.page_size;
    size_t start = (size_t)(q->page - 1) * per;
    size_t end = start < total ? (start + per < total ? start + per : total) : start;
    if (f->o.shuffle && total > 1) {
        if (!owned) {
            size_t *copy = xmalloc(total * sizeof(*copy));
            for (size_t i = 0; i < total; i++)
                copy[i] = idx ? idx[i] : i;
            idx = copy;
            owned = true;
        }
        shuffle_prefix(f, idx, total, end);
    }
    (void)!buf_puts(out, "{\"data\":[");
    for (size_t i = start; i < end; i++) {
        if (i > start)
            (void)!buf_puts(out, ",");
        fake_rec_render(f, res, &s->recs[idx ? idx[i] : i], out);
    }
    put_envelope_tail(f, out, q, total, start < end ? start + 1 : 0, end);
    if (owned)
        free(idx);
}
