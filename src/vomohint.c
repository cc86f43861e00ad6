/*
 * vomohint.c - VOMO's webhook events checked and parsed (see vomohint.h).
 */
#include "vomohint.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sign.h"

bool vomohint_signature_ok(const char *secret, const char *body, size_t len, const char *header)
{
    if (!secret || !header)
        return false;
    while (isspace((unsigned char)*header))
        header++;
    size_t n = strlen(header);
    while (n > 0 && isspace((unsigned char)header[n - 1]))
        n--;
    char got[SHA256_HEX_LEN];
    if (n != SHA256_HEX_LEN - 1)
        return false;
    memcpy(got, header, n);
    got[n] = '\0';
    char want[SHA256_HEX_LEN];
    sign_hmac_sha256_hex(secret, strlen(secret), body, len, want);
    return sign_equal(want, got) != 0;
}

struct noun {
    const char *name;
    int resource; /* enum resource, or -1: recorded and ignored */
};

static const struct noun nouns[] = {
    {"project", RES_PROJECTS}, {"projects", RES_PROJECTS}, {"user", RES_USERS},
    {"users", RES_USERS},      {"volunteer", RES_USERS},   {"volunteers", RES_USERS},
    {"group", RES_GROUPS},     {"groups", RES_GROUPS},     {"campaign", -1},
    {"participation", -1},     {"organization", -1},       {"form", -1},
    {"certificate", -1},
};
static const char *const verbs[] = {"created", "updated", "deleted"};

/* Fills known, resource, deleted and the bounded label from the type. */
static void classify_type(struct vomohint *h)
{
    const char *dot = strchr(h->type, '.');
    size_t nlen = dot ? (size_t)(dot - h->type) : strlen(h->type);
    const char *verb = dot ? dot + 1 : "";
    const struct noun *noun = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(nouns); i++)
        if (strlen(nouns[i].name) == nlen && strncmp(nouns[i].name, h->type, nlen) == 0)
            noun = &nouns[i];
    const char *v = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
        if (strcmp(verbs[i], verb) == 0)
            v = verbs[i];
    if (noun && noun->resource >= 0) {
        h->known = true;
        h->resource = (enum resource)noun->resource;
        h->deleted = v && strcmp(v, "deleted") == 0;
    }
    if (noun && v) {
        /* The label names the noun as VOMO spells it in the singular. */
        size_t base = strlen(noun->name);
        if (base > 1 && noun->name[base - 1] == 's')
            base--;
        snprintf(h->type_label, sizeof(h->type_label), "%.*s.%s", (int)base, noun->name, v);
    } else {
        snprintf(h->type_label, sizeof(h->type_label), "other");
    }
}

/* A positive integer id from a number or a string of digits; false when
 * it is neither. */
static bool id_of(const cJSON *v, char out[128])
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || d < 1 || d > 9007199254740992.0)
            return false;
        snprintf(out, 128, "%.0f", d);
        return true;
    }
    if (!cJSON_IsString(v))
        return false;
    const char *s = v->valuestring;
    size_t n = strlen(s);
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return false;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (strcmp(s, "0") == 0)
        return false;
    snprintf(out, 128, "%s", s);
    return true;
}

/* A short text form of a scalar (the event id, organization_id). */
static bool scalar_text(const cJSON *v, char *out, size_t size)
{
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < size - 8) {
        snprintf(out, size, "%s", v->valuestring);
        return true;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        snprintf(out, size, "%.0f", v->valuedouble);
        return true;
    }
    return false;
}

int vomohint_parse(const char *body, size_t len, struct vomohint *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *why = "the body is not a JSON object";
        return -EINVAL;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type) || !type->valuestring[0]) {
        cJSON_Delete(root);
        *why = "the event has no \"type\"";
        return -EINVAL;
    }
    snprintf(out->type, sizeof(out->type), "%s", type->valuestring);
    classify_type(out);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *id = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "id") : NULL;
    if (id && !id_of(id, out->record_id))
        out->record_id[0] = '\0';
    char text[64];
    if (scalar_text(cJSON_GetObjectItemCaseSensitive(root, "organization_id"), text, sizeof(text)))
        snprintf(out->organization_id, sizeof(out->organization_id), "%s", text);
    const cJSON *eid = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!eid)
        eid = cJSON_GetObjectItemCaseSensitive(root, "event_id");
    if (eid && scalar_text(eid, text, sizeof(text))) {
        snprintf(out->event_key, sizeof(out->event_key), "id:%s", text);
    } else {
        char hex[SHA256_HEX_LEN];
        sign_sha256_hex(body, len, hex);
        snprintf(out->event_key, sizeof(out->event_key), "sha256:%s", hex);
    }
    cJSON_Delete(root);
    return 0;
}

void vomohint_type_label(const char *type, char out[32])
{
    struct vomohint h;
    memset(&h, 0, sizeof(h));
    snprintf(h.type, sizeof(h.type), "%s", type ? type : "");
    classify_type(&h);
    snprintf(out, 32, "%s", h.type_label);
}
