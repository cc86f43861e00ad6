/*
 * apidoc.h - the read API's decisions and documents, as pure functions
 * (no I/O, no clock: `now` comes in): the path and query of
 * /api/v1/{tenant}/{resource}[/{id}], how fresh an answer is and what it
 * says about it (Cache-Status after RFC 9211, Age, meta.as_of,
 * meta.stale, refusal past max_stale), what a live read's outcome from
 * VOMO means, and the bodies in VOMO's envelope (one record, a page of
 * PER_PAGE with links and meta, a deleted record, a refusal).
 *
 * Payloads are spliced in as the text VOMO sent (the mirror keeps it), so
 * a record reads the same from VOMO and from here.  Ownership: callers
 * own every buffer; nothing here keeps a pointer.
 */
#ifndef VOMO_APIDOC_H
#define VOMO_APIDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define APIDOC_PER_PAGE 100
#define APIDOC_MAX_PAGE 10000000
#define APIDOC_TENANT_MAX 64
#define APIDOC_ID_MAX 128
#define APIDOC_HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" and the NUL */

/* What the tenant's VOMO looks like from here (meta.upstream). */
enum api_upstream { API_UP_OK, API_UP_BREAKER_OPEN, API_UP_AUTH_FAILED, API_UP_UNREACHABLE };
const char *apidoc_upstream_name(enum api_upstream u);

struct api_path {
    char tenant[APIDOC_TENANT_MAX];
    char resource[16];
    char id[APIDOC_ID_MAX];
    bool has_id;
};
/*
 * Parses what follows "/api/v1/": "TENANT/RESOURCE" or
 * "TENANT/RESOURCE/ID".  -EINVAL (answer 400) for another shape or an id
 * that is not 1..127 of [A-Za-z0-9_-]; -ENOENT (answer 404) for a tenant
 * or resource name no configuration could have.  *why: a static reason.
 */
int apidoc_parse_path(const char *rest, struct api_path *out, const char **why) WUR;

struct api_query {
    char updated_after[TS_LEN]; /* normalised; "" when not given */
    int64_t page;               /* 1 unless given */
    bool live;                  /* live=1 */
};
void apidoc_query_init(struct api_query *q);
/*
 * One query argument (value NULL for a bare "?key").  -EINVAL with *why
 * (static) for an unknown key or a bad value; updated_after and page only
 * on lists.  A space inside the offset of updated_after is read as the
 * '+' a client forgot to encode.
 */
int apidoc_query_arg(struct api_query *q, bool list, const char *key, const char *value,
                     const char **why) WUR;
/* Whether the request asks VOMO first: live=1, or Cache-Control holding
 * the no-cache directive (cache_control may be NULL). */
bool apidoc_wants_live(const struct api_query *q, const char *cache_control);

/* Where an answer comes from. */
enum api_source {
    API_SRC_MIRROR,   /* the mirror; VOMO was not asked */
    API_SRC_FALLBACK, /* VOMO was asked and failed (or its breaker is open): the mirror */
    API_SRC_LIVE,     /* VOMO's own answer just now (one record) */
    API_SRC_PASSED,   /* VOMO's 401, 403 or 404, passed on */
    API_SRC_SCANNED,  /* a list after the scan it hastened completed: the mirror */
    API_SRC_PENDING,  /* a list whose hastened scan did not end in time: the mirror */
    API_SRC_REFUSED,  /* a live read of a tenant VOMO already refused (401, 403): not asked again */
};

struct api_fresh_in {
    int64_t now;              /* wall clock, ms */
    int64_t last_complete;    /* when the resource's last complete scan ended; -1 never */
    int64_t poll_interval_ms; /* stale past twice this */
    int64_t max_stale_ms;     /* refused past this */
};

struct api_fresh {
    bool refuse;       /* 503: no complete scan within max_stale (or none ever) */
    int retry_after_s; /* with refuse */
    int64_t as_of;     /* ms; -1 when unknown (never scanned) */
    int64_t age_s;     /* the Age header; -1: none */
    bool stale;
    char cache_status[96];
};
/* fwd_status: VOMO's status for API_SRC_LIVE and API_SRC_PASSED. */
void apidoc_fresh(const struct api_fresh_in *in, enum api_source src, int fwd_status,
                  struct api_fresh *out);

/* What a live read's answer from VOMO means. */
enum api_live { API_LIVE_FRESH, API_LIVE_PASS, API_LIVE_FALLBACK };
/* status: VOMO's HTTP status, 0 when none came (timeout, connection);
 * body_ok: a 200 whose body held a well-formed record. */
enum api_live apidoc_live_outcome(long status, bool body_ok);

/*
 * The cache label of vomo_sync_api_requests_total for an answer's
 * Cache-Status header (NULL when it has none): "fwd" when VOMO was asked
 * for it (fwd=), "stale" for the mirror because VOMO failed or could not
 * be asked (detail=upstream-down), "refused" for a tenant VOMO refused,
 * "hit" for any other answer from the mirror, "none" without the header
 * (a request refused before any answer: 400, 401, 404, 429).
 */
const char *apidoc_cache_label(const char *cache_status);

/* "Sun, 06 Nov 1994 08:49:37 GMT". */
void apidoc_http_date(int64_t ms, char out[APIDOC_HTTP_DATE_LEN]);
/* Whether a Host header may go into links (a name or address and port). */
bool apidoc_host_ok(const char *host);

/* {"data": PAYLOAD, "meta": {as_of, stale, upstream}}. */
int apidoc_record(struct buf *b, const char *payload, const struct api_fresh *f,
                  enum api_upstream up) WUR;
/* 410: {"error", "id", "deleted_at", "meta"}. */
int apidoc_gone(struct buf *b, const char *id, const char *deleted_at, const struct api_fresh *f,
                enum api_upstream up) WUR;
/* An error with meta (503 past max_stale, VOMO's status passed on):
 * {"error": msg, ["upstream_status": N,] "meta": {...}}; upstream_status
 * is left out when 0. */
int apidoc_error(struct buf *b, const char *msg, int upstream_status, const struct api_fresh *f,
                 enum api_upstream up) WUR;

struct api_page {
    const char *path;          /* absolute URL of the list, without query (meta.path) */
    const char *updated_after; /* "" when none: kept in every link */
    int64_t page, total;
    size_t count;     /* records on this page */
    const char *live; /* meta.live (how a live list read went), NULL when none */
};
/* A page is written as open, one item per record, close. */
int apidoc_page_open(struct buf *b) WUR;
int apidoc_page_item(struct buf *b, const char *payload, size_t index) WUR;
int apidoc_page_close(struct buf *b, const struct api_page *p, const struct api_fresh *f,
                      enum api_upstream up) WUR;
/* The last page of `total` records (1 when there are none). */
int64_t apidoc_last_page(int64_t total);

#endif
