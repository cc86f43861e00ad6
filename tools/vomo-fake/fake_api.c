/*
 * fake_api.c - the /v1 endpoints of the fake for one authenticated tenant:
 * lists with their filters, single reads, and the writes of vomo-api.md
 * with Laravel-style validation errors.  Every write bumps updated_at to
 * the current whole second.  Called with the fake's lock held.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_int.h"

#define MSG_INVALID "The given data was invalid."

void fake_reply_set(struct fake_reply *r, int status, const char *body)
{
    free(r->body);
    r->status = status;
    r->body = body ? xstrdup(body) : NULL;
}

void fake_reply_message(struct fake_reply *r, int status, const char *message)
{
    free(r->body);
    r->status = status;
    r->body = xasprintf("{\"message\":\"%s\"}", message);
}

static void reply_invalid(struct fake_reply *r, const char *field, const char *msg)
{
    free(r->body);
    r->status = 422;
    r->body =
        xasprintf("{\"message\":\"" MSG_INVALID "\",\"errors\":{\"%s\":[\"%s\"]}}", field, msg);
}

static void reply_record(struct fake *f, enum fake_res res, const struct fake_rec *rec, int status,
                         struct fake_reply *out)
{
    struct buf b;
    buf_init(&b, 0);
    (void)!buf_puts(&b, "{\"data\":");
    fake_rec_render(f, res, rec, &b);
    (void)!buf_puts(&b, "}");
    free(out->body);
    out->status = status;
    out->body = buf_steal(&b);
}

static int parse_bool_arg(const char *v)
{
    if (!v)
        return -1;
    if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
        return 1;
    if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
        return 0;
    return -1;
}

/* Fills a list query from the request's arguments; false after a 422. */
static bool list_query(struct fake *f, enum fake_res res,
                       const char *(*arg)(void *cls, const char *key), void *cls,
                       struct fake_listq *q, struct fake_reply *out)
{
    memset(q, 0, sizeof(*q));
    int64_t page = 1;
    if (parse_i64(arg(cls, "page"), &page) < 0 || page < 1 || page > 10000000)
        page = 1;
    q->page = (int)page;
    const char *after = arg(cls, "updated_after");
    if (after && !(res == FAKE_GROUPS && f->o.groups_ignore_updated_after)) {
        if (ts_parse(after, &q->after_ms) < 0) {
            reply_invalid(out, "updated_after", "The updated after is not a valid date.");
            return false;
        }
        q->has_after = true;
    }
    const char *created = arg(cls, "created_after");
    if (created) {
        if (ts_parse(created, &q->created_after_ms) < 0) {
            reply_invalid(out, "created_after", "The created after is not a valid date.");
            return false;
        }
        q->has_created_after = true;
    }
    q->email_like = arg(cls, "email_like");
    q->name_like = arg(cls, "name_like");
    q->active = parse_bool_arg(arg(cls, "active"));
    q->published = parse_bool_arg(arg(cls, "published"));
    return true;
}

static void do_list(struct fake *f, struct fake_tenant *t, enum fake_res res,
                    const struct fake_rec *group, const char *self_url,
                    const char *(*arg)(void *cls, const char *key), void *cls,
                    struct fake_reply *out)
{
    struct fake_listq q;
    if (!list_query(f, group ? FAKE_USERS : res, arg, cls, &q, out))
        return;
    q.self_url = self_url;
    struct buf b;
    buf_init(&b, 0);
    if (group)
        fake_list_render_locked(f, &t->sets[FAKE_USERS], FAKE_USERS, &q, group->members,
                                group->nmembers, &b);
    else
        fake_list_render_locked(f, &t->sets[res], res, &q, NULL, 0, &b);
    if (!group)
        fake_after_page_apply_locked(f, t, res, q.page);
    free(out->body);
    out->status = 200;
    out->body = buf_steal(&b);
}

/* The body's object: {"data": {...}} or the bare object; NULL otherwise. */
static const cJSON *body_object(const cJSON *root)
{
    if (!cJSON_IsObject(root))
        return NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
    return cJSON_IsObject(d) ? d : root;
}

/* A string field: 0 and *out (NULL when absent or null), or -EINVAL. */
static int opt_string(const cJSON *o, const char *key, const char **out)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -EINVAL;
    *out = v->valuestring;
    return 0;
}

static bool need_string(const cJSON *o, const char *key, const char **out, struct fake_reply *r)
{
    char msg[96];
    if (opt_string(o, key, out) < 0) {
        snprintf(msg, sizeof(msg), "The %s must be a string.", key);
        reply_invalid(r, key, msg);
        return false;
    }
    if (!*out || !**out) {
        snprintf(msg, sizeof(msg), "The %s field is required.", key);
        reply_invalid(r, key, msg);
        return false;
    }
    return true;
}

static bool maybe_string(const cJSON *o, const char *key, const char **out, struct fake_reply *r)
{
    if (opt_string(o, key, out) == 0)
        return true;
    char msg[96];
    snprintf(msg, sizeof(msg), "The %s must be a string.", key);
    reply_invalid(r, key, msg);
    return false;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? xstrdup(v) : NULL;
}

static struct fake_rec *user_by_email(struct fake_set *s, const char *email)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->recs[i].c && strcasecmp(s->recs[i].c, email) == 0)
            return &s->recs[i];
    return NULL;
}

static void post_user(struct fake *f, struct fake_set *s, const cJSON *o, struct fake_reply *out)
{
    const char *email, *fn, *ln, *phone;
    if (!need_string(o, "email", &email, out))
        return;
    if (!strchr(email, '@')) {
        reply_invalid(out, "email", "The email must be a valid email address.");
        return;
    }
    if (!maybe_string(o, "first_name", &fn, out) || !maybe_string(o, "last_name", &ln, out) ||
        !maybe_string(o, "phone", &phone, out))
        return;
    struct fake_rec *r = user_by_email(s, email);
    int status = 200;
    if (!r) {
        r = fake_set_append(s);
        r->created = fake_now_s();
        r->c = xstrdup(email);
        status = 201;
    }
    if (fn || status == 201)
        set_str(&r->a, fn ? fn : "");
    if (ln || status == 201)
        set_str(&r->b, ln ? ln : "");
    if (phone || status == 201)
        set_str(&r->d, phone);
    fake_rec_touch(s, r);
    reply_record(f, FAKE_USERS, r, status, out);
}

/* Groups: POST creates (200, as VOMO documents), PUT replaces. */
static void write_group(struct fake *f, struct fake_set *s, struct fake_rec *r, const cJSON *o,
                        struct fake_reply *out)
{
    const char *name, *desc;
    if (!need_string(o, "name", &name, out) || !maybe_string(o, "description", &desc, out))
        return;
    if (!r) {
        r = fake_set_append(s);
        r->created = fake_now_s();
    }
    set_str(&r->a, name);
    set_str(&r->b, desc);
    fake_rec_touch(s, r);
    reply_record(f, FAKE_GROUPS, r, 200, out);
}

static bool need_bool(const cJSON *o, const char *key, bool *out, struct fake_reply *r)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v || cJSON_IsNull(v)) {
        *out = false;
        return true;
    }
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = v->valuedouble == 1;
        return true;
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "The %s field must be true or false.", key);
    reply_invalid(r, key, msg);
    return false;
}

/* Projects: POST creates (201), PUT is a full replacement. */
static void write_project(struct fake *f, struct fake_set *s, struct fake_rec *r, const cJSON *o,
                          struct fake_reply *out)
{
    const char *name;
    bool active, published;
    if (!need_string(o, "name", &name, out) || !need_bool(o, "active", &active, out) ||
        !need_bool(o, "published", &published, out))
        return;
    int status = 200;
    if (!r) {
        r = fake_set_append(s);
        r->created = fake_now_s();
        status = 201;
    }
    set_str(&r->a, name);
    r->active = active;
    r->published = published;
    fake_rec_touch(s, r);
    reply_record(f, FAKE_PROJECTS, r, status, out);
}

/* PUT /groups/{id}/members: {"members": [ids]} (or "user_ids") replaces. */
static void put_members(struct fake *f, struct fake_set *s, struct fake_rec *r, const cJSON *o,
                        struct fake_reply *out)
{
    const cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(o, "members") : NULL;
    if (!m && o)
        m = cJSON_GetObjectItemCaseSensitive(o, "user_ids");
    if (!cJSON_IsArray(m)) {
        reply_invalid(out, "members",
                      m ? "The members must be an array." : "The members field is required.");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(m), k = 0;
    int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
    const cJSON *it;
    cJSON_ArrayForEach(it, m)
    {
        int64_t id = 0;
        if (cJSON_IsNumber(it))
            id = (int64_t)it->valuedouble;
        else if (!cJSON_IsString(it) || fake_id_parse(it->valuestring, &id) < 0)
            id = 0;
        if (id <= 0) {
            free(ids);
            reply_invalid(out, "members", "The members must be user ids.");
            return;
        }
        ids[k++] = id;
    }
    free(r->members);
    r->members = ids;
    r->nmembers = k;
    fake_rec_touch(s, r);
    reply_record(f, FAKE_GROUPS, r, 200, out);
}

struct route {
    enum fake_res res;
    bool has_id;
    int64_t id;
    bool members;
};

/* Splits "users", "groups/12", "groups/12/members"; false when unknown. */
static bool route_parse(const char *path, struct route *rt)
{
    char buf[160];
    memset(rt, 0, sizeof(*rt));
    if (strlen(path) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", path);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    if (fake_res_parse(buf, &rt->res) < 0)
        return false;
    if (!slash || !*slash)
        return true;
    char *rest = strchr(slash, '/');
    if (rest)
        *rest++ = '\0';
    if (fake_id_parse(slash, &rt->id) < 0)
        return false;
    rt->has_id = true;
    if (!rest)
        return true;
    rt->members = rt->res == FAKE_GROUPS && strcmp(rest, "members") == 0;
    return rt->members;
}

static void handle_write(struct fake *f, struct fake_tenant *t, const char *method,
                         const struct route *rt, struct fake_rec *rec, const char *body,
                         struct fake_reply *out)
{
    struct fake_set *s = &t->sets[rt->res];
    cJSON *root = body && *body ? cJSON_Parse(body) : NULL;
    const cJSON *o = body_object(root);
    bool post = strcmp(method, "POST") == 0;
    if (post && !rt->has_id && rt->res == FAKE_USERS)
        post_user(f, s, o, out);
    else if (post && !rt->has_id && rt->res == FAKE_GROUPS)
        write_group(f, s, NULL, o, out);
    else if (post && !rt->has_id)
        write_project(f, s, NULL, o, out);
    else if (rt->members && rec)
        put_members(f, s, rec, o, out);
    else if (rt->res == FAKE_GROUPS && rec)
        write_group(f, s, rec, o, out);
    else if (rt->res == FAKE_PROJECTS && rec)
        write_project(f, s, rec, o, out);
    else
        fake_reply_message(out, 404, "Not found.");
    cJSON_Delete(root);
}

static bool method_allowed(const char *method, const struct route *rt)
{
    if (strcmp(method, "GET") == 0)
        return true;
    if (rt->res > FAKE_PROJECTS)
        return false; /* reference resources are read-only */
    if (strcmp(method, "POST") == 0)
        return !rt->has_id;
    if (strcmp(method, "PUT") == 0)
        return rt->has_id && rt->res != FAKE_USERS;
    if (strcmp(method, "DELETE") == 0)
        return rt->has_id && !rt->members && rt->res == FAKE_GROUPS;
    return false;
}

void fake_api_handle_locked(struct fake *f, struct fake_tenant *t, const char *method,
                            const char *path, const char *body, const char *self_base,
                            const char *(*arg)(void *cls, const char *key), void *arg_cls,
                            struct fake_reply *out)
{
    struct route rt;
    if (strncmp(path, "/v1/", 4) != 0 || !route_parse(path + 4, &rt)) {
        fake_reply_message(out, 404, "Not found.");
        return;
    }
    if (!method_allowed(method, &rt)) {
        fake_reply_message(out, 405, "Method not allowed.");
        return;
    }
    struct fake_set *s = &t->sets[rt.res];
    struct fake_rec *rec = rt.has_id ? fake_set_find(s, rt.id) : NULL;
    if (rt.has_id && !rec) {
        fake_reply_message(out, 404, "Not found.");
        return;
    }
    char *self_url = xasprintf("%s%s", self_base, path);
    if (strcmp(method, "GET") == 0 && (!rt.has_id || rt.members))
        do_list(f, t, rt.res, rt.members ? rec : NULL, self_url, arg, arg_cls, out);
    else if (strcmp(method, "GET") == 0)
        reply_record(f, rt.res, rec, 200, out);
    else if (strcmp(method, "DELETE") == 0) {
        fake_set_remove(s, rec);
        fake_reply_message(out, 200, "Deleted.");
    } else
        handle_write(f, t, method, &rt, rec, body, out);
    free(self_url);
}
