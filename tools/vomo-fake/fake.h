/*
 * fake.h - the fake VOMO API server, as a library.  The vomo-fake binary is
 * a thin command line around it, and integration tests start it in-process
 * on 127.0.0.1:0 to run the daemon against it while scripting faults.
 *
 * A fake serves the /v1 list, read and write endpoints of vomo-api.md for
 * any number of tenants (one bearer token each, each with its own
 * deterministically generated dataset), a webhook sink on /_hooks/{tenant},
 * and a control interface on /_admin (loopback peers only) that does what
 * the functions below do.  Every function here is thread-safe: the HTTP
 * server runs on its own threads while a test calls these from its own.
 *
 * Ownership: strings passed in are copied; arrays handed out (records,
 * requests, deliveries) belong to the caller, who frees them with the
 * matching *_free function.
 */
#ifndef VOMO_FAKE_H
#define VOMO_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct fake;

enum fake_next_style {
    FAKE_NEXT_NULL = 0,   /* "next": null */
    FAKE_NEXT_STRING = 1, /* "next": "null" */
    FAKE_NEXT_OMIT = 2,   /* no "next" key on the last page */
};

struct fake_opts {
    const char *bind_addr; /* IPv4 or IPv6 literal; default "127.0.0.1" */
    uint16_t port;         /* 0 picks a free port */
    uint32_t seed;         /* datasets are a function of seed and tenant name */
    int page_size;         /* default 15 */
    bool shuffle;          /* every list request sees a fresh random order */
    bool string_ids;       /* "id": "12" instead of "id": 12 */
    int latency_ms;        /* added before every answer, without blocking others */
    int rate_limit_rps;    /* per token; 0 = unlimited, no X-RateLimit headers */
    bool groups_ignore_updated_after;
    int next_style; /* 0 json null, 1 "null" string, 2 omitted */
};

/* Defaults: 127.0.0.1, port 0, seed 1, page size 15, everything else off. */
void fake_opts_default(struct fake_opts *o);
/* Copies the options (bind_addr too); never fails. */
struct fake *fake_new(const struct fake_opts *o);
/*
 * Adds a tenant with a fresh dataset of the given sizes.  Allowed before and
 * after fake_start.  -EEXIST when the name or token is taken, -EINVAL on an
 * empty name or token or a negative size.
 */
int fake_add_tenant(struct fake *f, const char *name, const char *token, int users, int groups,
                    int projects) WUR;
/* Makes the webhook sink of `tenant` verify X-Vomo-Sync-Signature; NULL
 * secret removes the check. */
int fake_set_webhook_secret(struct fake *f, const char *tenant, const char *secret) WUR;
/* Binds and starts serving.  Negative errno when the address cannot be used. */
int fake_start(struct fake *f) WUR;
uint16_t fake_port(const struct fake *f);
/* Stops (releasing hung and delayed connections) and frees.  NULL is fine. */
void fake_free(struct fake *f);

/* ---- faults ---- */
enum fake_fault_kind {
    FAKE_FAULT_STATUS,    /* answer `status` (optional Retry-After, body) */
    FAKE_FAULT_DELAY,     /* wait delay_ms, then answer normally */
    FAKE_FAULT_RESET,     /* close the socket with a TCP reset, no answer */
    FAKE_FAULT_HANG,      /* never answer (released when the fake stops) */
    FAKE_FAULT_MALFORMED, /* 200 with a body that is not valid JSON */
    FAKE_FAULT_LOSE,      /* apply the request (a write), then drop the connection */
    FAKE_FAULT_STALL,     /* apply the request, then never answer (the client times out) */
};

/*
 * A fault rule.  A request matches when every non-NULL, non-empty matcher
 * matches: method (exact, case-insensitive; "*" = any), path (fnmatch glob on
 * the path without query, e.g. "/v1/users*"; "/_hooks/" followed by a star for the sink), tenant
 * (name), body_contains (substring of the request body).  A matching request then rolls
 * `probability` (<= 0 or >= 1 means always); when it hits, the rule is applied and, if count > 0,
 * one of its `count` applications is used up (an exhausted rule no longer matches).  Rules are
 * tried in the order added; the first that applies wins.  /_admin requests are never faulted.
 */
struct fake_fault {
    const char *method;
    const char *path;
    const char *tenant;
    const char *body_contains;
    double probability;
    int count;
    enum fake_fault_kind kind;
    int status;              /* FAKE_FAULT_STATUS */
    const char *retry_after; /* FAKE_FAULT_STATUS: Retry-After value, NULL = none */
    const char *body;        /* FAKE_FAULT_STATUS: body, NULL = a Laravel-style one */
    int delay_ms;            /* FAKE_FAULT_DELAY */
};

/* Adds a rule (copied); returns its id (> 0) or -EINVAL. */
int fake_add_fault(struct fake *f, const struct fake_fault *rule) WUR;
/* How many times rule `id` has been applied; -ENOENT when unknown. */
int fake_fault_hits(struct fake *f, int id);
void fake_clear_faults(struct fake *f);
/* "status", "delay", "reset", "hang", "malformed", "lose", "stall". */
const char *fake_fault_kind_name(enum fake_fault_kind k);
int fake_fault_kind_parse(const char *s, enum fake_fault_kind *out) WUR;
/*
 * Parses a rule from "key=value" words separated by blanks:
 * method= path= tenant= body_contains= probability= count= kind= status=
 * retry_after= delay_ms= (body= is not available here).  The strings in
 * *out point into `buf`, which is modified; -EINVAL names nothing.
 */
int fake_fault_parse(char *buf, struct fake_fault *out) WUR;

/* ---- data changes (resource: "users", "groups" or "projects") ---- */
enum fake_corrupt_kind {
    FAKE_CORRUPT_NONE = 0,           /* restores a corrupted record */
    FAKE_CORRUPT_NO_UPDATED_AT = 1,  /* the updated_at key is missing */
    FAKE_CORRUPT_NO_ID = 2,          /* the id key is missing */
    FAKE_CORRUPT_BAD_UPDATED_AT = 3, /* "updated_at": "not a timestamp" */
    FAKE_CORRUPT_ID_OBJECT = 4,      /* "id": {"value": 12} */
};
int fake_corrupt_kind_parse(const char *s, int *out) WUR;

/* Bumps updated_at of n distinct random live records (all when n exceeds
 * them) to the current whole second; returns how many were changed. */
int fake_mutate(struct fake *f, const char *tenant, const char *resource, int n);
/* 0, or -ENOENT for an unknown tenant, resource or id. */
int fake_mutate_id(struct fake *f, const char *tenant, const char *resource, const char *id);
int fake_delete_id(struct fake *f, const char *tenant, const char *resource, const char *id);
/* Deletes n random records; returns how many were deleted. */
int fake_delete_random(struct fake *f, const char *tenant, const char *resource, int n);
/* Makes a record malformed in list and read results (and bumps it so that
 * incremental scans see it); kind FAKE_CORRUPT_NONE heals it. */
int fake_corrupt(struct fake *f, const char *tenant, const char *resource, const char *id,
                 int kind);
/*
 * Changes VOMO while a scan pages: once list page `page` of (tenant,
 * resource) has been served (the next such answer from now on), deletes
 * record `delete_id` (NULL: none) and creates `create` new records.  With
 * the fake's id order, deleting a record of a page already read makes the
 * first record of the next page slide onto it, unseen, while the new one
 * keeps meta.total.  One rule at a time; 0, or -ENOENT for an unknown
 * tenant or resource.
 */
int fake_after_page(struct fake *f, const char *tenant, const char *resource, int page,
                    const char *delete_id, int create);
/* Revokes (401 from now on) or restores a tenant's token. */
int fake_revoke(struct fake *f, const char *tenant, bool revoked);
/* Gives a tenant a new token (a rotated token: the old one gets 401 from
 * now on).  0, or -ENOENT for an unknown tenant. */
int fake_set_token(struct fake *f, const char *tenant, const char *token);
/* Number of live records, or -ENOENT. */
int fake_count(struct fake *f, const char *tenant, const char *resource);

struct fake_record {
    char id[32];
    char updated_at[TS_LEN]; /* normalised with ts_normalise */
    char *payload;           /* the record as the list endpoint renders it */
};
/* Snapshot of a dataset in id order.  0 or -ENOENT. */
int fake_records(struct fake *f, const char *tenant, const char *resource, struct fake_record **out,
                 size_t *n) WUR;
void fake_records_free(struct fake_record *r, size_t n);
/* The whole dataset of a tenant (resource NULL = all three) as JSON text:
 * {"tenant":"acme","users":[...],...}.  Caller frees; NULL when unknown. */
char *fake_dump(struct fake *f, const char *tenant, const char *resource);

/* ---- logs ---- */
struct fake_request {
    int64_t time_ms; /* wall clock when the request arrived */
    char *method;
    char *path;
    char *query;  /* decoded "k=v&k2=v2", "" when none */
    char *tenant; /* "" when the token is unknown or absent */
    int status;   /* status answered (or that would have been); 0 for reset/hang */
    char *fault;  /* fault kind applied, "" when none */
    char *body;   /* request body of POST/PUT, else "" */
};
int fake_requests(struct fake *f, struct fake_request **out, size_t *n) WUR;
void fake_requests_free(struct fake_request *r, size_t n);
void fake_requests_clear(struct fake *f);

struct fake_delivery {
    int64_t time_ms;
    char *tenant;
    char *signature;       /* X-Vomo-Sync-Signature, "" when absent */
    char *idempotency_key; /* Idempotency-Key, "" when absent */
    char *body;
    int status;        /* what the sink answered */
    bool signature_ok; /* true when it matched, or no secret is set */
};
int fake_deliveries(struct fake *f, struct fake_delivery **out, size_t *n) WUR;
void fake_deliveries_free(struct fake_delivery *d, size_t n);
void fake_deliveries_clear(struct fake *f);

/* ---- options by name, as the command line and scenario files spell them:
 * bind, port, seed, page-size, shuffle, string-ids, next-style
 * (null|string|omit), latency-ms, rate-limit, groups-ignore-updated-after.
 * value must outlive o for "bind".  0 or -EINVAL. ---- */
int fake_opts_set(struct fake_opts *o, const char *name, const char *value) WUR;
bool fake_opts_takes_value(const char *name);
/* "users=N,groups=N,projects=N" (commas or blanks; each optional, defaults
 * 100/10/10).  Modifies s.  0 or -EINVAL. */
int fake_sizes_parse(char *s, int *users, int *groups, int *projects) WUR;

/* ---- scenario files (see README.md for the format) ---- */
struct fake_scenario;
/* Reads a scenario: option lines go into *o at once; tenant, secret and
 * fault lines are kept for fake_scenario_apply.  -EINVAL with a message on
 * stderr naming the file and line. */
int fake_scenario_load(const char *path, struct fake_opts *o, struct fake_scenario **out) WUR;
int fake_scenario_apply(struct fake *f, const struct fake_scenario *s) WUR;
void fake_scenario_free(struct fake_scenario *s);

#endif
