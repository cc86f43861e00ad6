/*
 * vomo.h - the VOMO API as data: URL building for list and get requests,
 * and parsing of the Laravel page envelope and single-record bodies with
 * cJSON.  Pure functions, no I/O: the engine sends what this builds over
 * http.h and feeds the bodies back here.
 */
#ifndef VOMO_VOMO_H
#define VOMO_VOMO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* One record out of a page.  When `error` is non-NULL the record is
 * malformed (missing/invalid id or updated_at): it must be dead-lettered on
 * its own; id is then whatever could be salvaged ("" when nothing). */
struct vomo_record {
    char id[128];            /* normalised: numbers and numeric strings alike */
    char updated_at[TS_LEN]; /* normalised UTC ms; "" when malformed */
    char *payload;           /* the record's JSON text as received (owned) */
    const char *error;       /* static message, or NULL when well-formed */
};

struct vomo_page {
    struct vomo_record *records;
    size_t count;
    int current_page;
    int last_page; /* 0 when meta.last_page is absent */
    int64_t total; /* meta.total, -1 when absent */
    bool has_next; /* links.next non-null (null, missing, "null" = no) */
};

/*
 * Parses a list page.  0 on success (individual records may still carry
 * `error`); -EINVAL when the body as a whole is not a page (not JSON, no
 * `data` array): the caller retries the request and applies nothing.
 * *errmsg (may be NULL) gets a static description of what was wrong.
 */
int vomo_parse_page(const char *body, size_t len, struct vomo_page *out, const char **errmsg) WUR;
void vomo_page_free(struct vomo_page *p);

/* Parses a single-record body ({"data": {...}} or the bare object). */
int vomo_parse_record(const char *body, size_t len, struct vomo_record *out,
                      const char **errmsg) WUR;
void vomo_record_free(struct vomo_record *r);

/* "BASE/users?page=N" with updated_after URL-encoded when non-NULL/"". */
char *vomo_list_url(const char *base_url, const char *resource, int page,
                    const char *updated_after);
char *vomo_get_url(const char *base_url, const char *resource, const char *id);

#endif
