/*
 * outbox_ops.c - the table of writes vomo-sync makes to VOMO (see
 * outbox_ops.h) and the pure decisions around them.  The safety class of
 * each op follows vomo-api.md: POST /users upserts by email, PUT is a full
 * replacement, DELETE of a deleted group answers 404 (which the classifier
 * already calls success in a delete's context): all safe to send again.
 * POST /groups and POST /projects create a new record on every call: a
 * blind resend after a lost response is a duplicate, so those are unsafe
 * and an unknown outcome is searched for first (outboxproc.c).
 */
#include "outbox_ops.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct outbox_op ops[] = {
    {"users", "upsert", "POST", false, false, true, "email", OP_VOMO_WRITE},
    {"groups", "create", "POST", false, false, false, "name", OP_VOMO_WRITE},
    {"groups", "update", "PUT", true, false, true, "name", OP_VOMO_WRITE},
    {"groups", "delete", "DELETE", true, false, true, NULL, OP_VOMO_DELETE},
    {"groups", "set_members", "PUT", true, true, true, NULL, OP_VOMO_WRITE},
    {"projects", "create", "POST", false, false, false, "name", OP_VOMO_WRITE},
    {"projects", "update", "PUT", true, false, true, "name", OP_VOMO_WRITE},
};

const struct outbox_op *outbox_op_find(const char *resource, const char *op)
{
    for (size_t i = 0; resource && op && i < ARRAY_SIZE(ops); i++)
        if (strcmp(ops[i].resource, resource) == 0 && strcmp(ops[i].op, op) == 0)
            return &ops[i];
    return NULL;
}

const char *outbox_ops_list(void)
{
    return "users upsert, groups create|update|delete|set_members, projects create|update";
}

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
            return false;
    return true;
}

/* The payload's checks; 0 or -EINVAL with why. */
static int check_payload(const struct outbox_op *o, const cJSON *root, char *why, size_t len)
{
    if (!root) {
        if (o->ctx == OP_VOMO_DELETE)
            return 0;
        snprintf(why, len, "%s %s needs a JSON object as its data", o->resource, o->op);
        return -EINVAL;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(why, len, "the data of %s %s must be a JSON object", o->resource, o->op);
        return -EINVAL;
    }
    if (o->required) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, o->required);
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            snprintf(why, len, "%s %s needs \"%s\" as a non-empty string", o->resource, o->op,
                     o->required);
            return -EINVAL;
        }
        if (strcmp(o->required, "email") == 0 && !strchr(v->valuestring, '@')) {
            snprintf(why, len, "\"email\" '%.100s' is not an email address", v->valuestring);
            return -EINVAL;
        }
    }
    if (o->members && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "members"))) {
        snprintf(why, len, "groups set_members needs \"members\": [user ids]");
        return -EINVAL;
    }
    return 0;
}

static void make_key(const struct outbox_op *o, const char *target_id, const cJSON *root,
                     char key[OUTBOX_KEY_LEN])
{
    key[0] = '\0';
    if (o->needs_id) {
        snprintf(key, OUTBOX_KEY_LEN, "%s:%s", o->resource, target_id);
    } else if (o->safe) { /* users upsert: the email is the record */
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "email");
        int n = snprintf(key, OUTBOX_KEY_LEN, "%s:%s", o->resource, v->valuestring);
        for (int i = 0; i < n && i < OUTBOX_KEY_LEN; i++)
            key[i] = (char)tolower((unsigned char)key[i]);
    }
}

int outbox_validate(const char *resource, const char *op, const char *target_id,
                    const char *payload, char *why, size_t why_len, char key[OUTBOX_KEY_LEN])
{
    const struct outbox_op *o = outbox_op_find(resource, op);
    if (!o) {
        snprintf(why, why_len, "vomo-sync cannot write '%s %s' (it writes: %s)",
                 resource ? resource : "", op ? op : "", outbox_ops_list());
        return -EINVAL;
    }
    bool has_id = target_id && *target_id;
    if (o->needs_id && !id_ok(target_id)) {
        snprintf(why, why_len,
                 "%s %s needs the VOMO id of the record (--id: 1 to 64 of "
                 "A-Z a-z 0-9 _ -)",
                 resource, op);
        return -EINVAL;
    }
    if (!o->needs_id && has_id) {
        snprintf(why, why_len, "%s %s takes no id", resource, op);
        return -EINVAL;
    }
    cJSON *root = payload && *payload ? cJSON_Parse(payload) : NULL;
    if (payload && *payload && !root) {
        snprintf(why, why_len, "the data is not valid JSON");
        return -EINVAL;
    }
    int rc = check_payload(o, root, why, why_len);
    if (rc == 0)
        make_key(o, target_id, root, key);
    cJSON_Delete(root);
    return rc;
}

char *outbox_url(const char *base_url, const struct outbox_op *op, const char *target_id)
{
    if (!op->needs_id)
        return xasprintf("%s/%s", base_url, op->resource);
    return xasprintf("%s/%s/%s%s", base_url, op->resource, target_id,
                     op->members ? "/members" : "");
}

enum outbox_verdict outbox_verdict_for(enum err_class cls, enum treatment tr, bool maybe_applied)
{
    switch (cls) {
    case EC_NONE:
        return OBV_DONE;
    case EC_AUTH:
        return OBV_WAIT;
    case EC_VALIDATION:
    case EC_FORBIDDEN:
    case EC_NOT_FOUND:
        return OBV_REVIEW;
    case EC_CONFLICT:
        return tr == TR_DEAD_LETTER ? OBV_REVIEW : OBV_RETRY;
    case EC_BAD_DATA:
        return OBV_UNKNOWN; /* a 2xx we cannot read: applied, id unknown */
    default:
        return maybe_applied ? OBV_UNKNOWN : OBV_RETRY;
    }
}

const char *outbox_verdict_name(enum outbox_verdict v)
{
    static const char *const names[] = {"done", "retry", "unknown", "review", "wait"};
    return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "?";
}

/* Equal as an intent means: same string, same number, a bool equal to a
 * bool or to 1/0, null equal to null or absence; arrays and objects as
 * cJSON compares them. */
static bool value_matches(const cJSON *want, const cJSON *got)
{
    if (cJSON_IsNull(want))
        return !got || cJSON_IsNull(got);
    if (!got)
        return false;
    if (cJSON_IsBool(want) || cJSON_IsBool(got)) {
        int w = cJSON_IsBool(want)     ? cJSON_IsTrue(want)
                : cJSON_IsNumber(want) ? (int)want->valuedouble
                                       : -1;
        int g = cJSON_IsBool(got)     ? cJSON_IsTrue(got)
                : cJSON_IsNumber(got) ? (int)got->valuedouble
                                      : -2;
        return w == g && (w == 0 || w == 1);
    }
    return cJSON_Compare(want, got, true);
}

bool outbox_matches(const char *intent_payload, const char *record_json)
{
    cJSON *want = cJSON_Parse(intent_payload ? intent_payload : "");
    cJSON *got = cJSON_Parse(record_json ? record_json : "");
    bool ok = cJSON_IsObject(want) && cJSON_IsObject(got);
    const cJSON *w;
    cJSON *walk = ok ? want : NULL;
    cJSON_ArrayForEach(w, walk)
    {
        if (!value_matches(w, cJSON_GetObjectItemCaseSensitive(got, w->string))) {
            ok = false;
            break;
        }
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
    return ok;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static void put_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            (void)!buf_append(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            (void)!buf_append(b, e, 3);
        }
    }
}

char *outbox_search_url(const char *base_url, const char *resource, const char *name,
                        const char *created_after, int page)
{
    struct buf b;
    buf_init(&b, 0);
    (void)!buf_printf(&b, "%s/%s?name_like=", base_url, resource);
    put_encoded(&b, name);
    (void)!buf_puts(&b, "&created_after=");
    put_encoded(&b, created_after);
    (void)!buf_printf(&b, "&page=%d", page);
    return buf_steal(&b);
}

bool outbox_payload_string(const char *payload, const char *key, char *out, size_t len)
{
    cJSON *root = cJSON_Parse(payload ? payload : "");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    bool ok = cJSON_IsString(v);
    if (ok)
        snprintf(out, len, "%s", v->valuestring);
    cJSON_Delete(root);
    return ok;
}
