/*
 * fake_int.h - what the files of the fake share and nobody else sees: the
 * struct fake itself, tenants and their datasets, and the functions one
 * part of the fake calls in another.  Everything reached through a struct
 * fake is protected by its one mutex `mu`; functions named *_locked expect
 * the caller to hold it.
 */
#ifndef VOMO_FAKE_INT_H
#define VOMO_FAKE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fake.h"
#include "util.h"

/* The three synced resources, then the read-only reference resources (a
 * few records each: {id, name, created_at, updated_at}). */
enum fake_res {
    FAKE_USERS,
    FAKE_GROUPS,
    FAKE_PROJECTS,
    FAKE_CAMPAIGNS,
    FAKE_ORGANIZATIONS,
    FAKE_FORMS,
    FAKE_CERTIFICATES,
    FAKE_NRES
};
#define FAKE_REFERENCE_SIZE 3

/*
 * One record.  Strings by resource: users a..d = first_name, last_name,
 * email, phone (d may be NULL: JSON null); groups a = name, b = description;
 * projects a = name.  Times are whole seconds since the epoch.
 */
struct fake_rec {
    int64_t id;
    int64_t created;
    int64_t updated;
    char *a, *b, *c, *d;
    int64_t *members; /* groups: member user ids */
    size_t nmembers;
    bool active, published;
    int corrupt;
};

/* Records sorted by id (new ids are always the largest), plus a cache of
 * the last updated_after filter, valid while `gen` is unchanged. */
struct fake_set {
    struct fake_rec *recs;
    size_t n, cap;
    int64_t next_id;
    uint64_t gen;
    bool cache_valid;
    uint64_t cache_gen;
    int64_t cache_after;
    size_t *cache_idx;
    size_t cache_n;
};

struct fake_tenant {
    char *name;
    char *token;
    bool revoked;
    struct fake_set sets[FAKE_NRES];
    int64_t rl_window; /* wall second of the rate-limit window */
    int rl_count;
};

struct fake_rule {
    int id;
    char *method, *path, *tenant, *body_contains, *retry_after, *body;
    double probability;
    int count; /* applications left when limited */
    bool limited;
    enum fake_fault_kind kind;
    int status;
    int delay_ms;
    int hits;
};

struct fake_secret {
    char *tenant;
    char *secret;
};

struct fake_pending; /* a suspended connection, see fake_http.c */

struct fake {
    pthread_mutex_t mu;
    struct fake_opts o;
    char *bind_addr;
    uint64_t rng;
    struct fake_tenant **tenants;
    size_t ntenants;
    struct fake_secret *secrets;
    size_t nsecrets;
    struct fake_rule *rules;
    size_t nrules;
    int next_rule_id;
    struct fake_request *reqs;
    size_t nreqs, reqs_cap;
    struct fake_delivery *dels;
    size_t ndels, dels_cap;
    int64_t anchor; /* generated timestamps lie before this second */
    struct {        /* fake_after_page */
        bool armed;
        char *tenant;
        enum fake_res res;
        int page;
        int64_t delete_id; /* 0: none */
        int create;
    } after;
    /* HTTP side (fake_http.c) */
    struct MHD_Daemon *mhd;
    int listen_fd;
    uint16_t port;
    bool started, stopping;
    pthread_t timer;
    pthread_cond_t timer_cv;
    struct fake_pending *pending;
};

/* fake_core.c */
uint64_t fake_rand_locked(struct fake *f);
struct fake_tenant *fake_tenant_by_name_locked(struct fake *f, const char *name);
struct fake_tenant *fake_tenant_by_token_locked(struct fake *f, const char *token);
const char *fake_secret_locked(struct fake *f, const char *tenant);
void fake_log_request_locked(struct fake *f, const struct fake_request *r);
void fake_log_delivery_locked(struct fake *f, const struct fake_delivery *d);
int64_t fake_now_s(void);

/* fake_data.c */
int fake_res_parse(const char *s, enum fake_res *out);
const char *fake_res_name(enum fake_res r);
void fake_set_generate(struct fake_set *s, enum fake_res r, int n, uint64_t seed, int64_t anchor,
                       const struct fake_set *users);
void fake_set_free(struct fake_set *s);
struct fake_rec *fake_set_find(struct fake_set *s, int64_t id);
struct fake_rec *fake_set_append(struct fake_set *s);
void fake_set_remove(struct fake_set *s, struct fake_rec *r);
void fake_rec_touch(struct fake_set *s, struct fake_rec *r);
int fake_id_parse(const char *s, int64_t *id);
/* Appends one record's JSON as served (corruption included). */
void fake_rec_render(const struct fake *f, enum fake_res res, const struct fake_rec *r,
                     struct buf *out);

/* Query of a list request. */
struct fake_listq {
    int page;
    bool has_after;
    int64_t after_ms;
    bool has_created_after;
    int64_t created_after_ms;
    const char *email_like;
    const char *name_like;
    int active;           /* -1 any */
    int published;        /* -1 any */
    const char *self_url; /* "http://host/v1/users", for links and meta.path */
};
/* Renders a Laravel page of `s` (or of the subset `only` when non-NULL). */
void fake_list_render_locked(struct fake *f, struct fake_set *s, enum fake_res res,
                             const struct fake_listq *q, const int64_t *only, size_t nonly,
                             struct buf *out);

/* fake_ops.c: applies a fake_after_page rule once that page was served. */
void fake_after_page_apply_locked(struct fake *f, struct fake_tenant *t, enum fake_res res,
                                  int page);

/* fake_fault.c: the first rule that applies, copied into *out (strings
 * point into the rule table: use them under the lock only). */
bool fake_fault_pick_locked(struct fake *f, const char *method, const char *path,
                            const char *tenant, const char *body, struct fake_rule *out);
void fake_rules_free_locked(struct fake *f);
char *fake_rules_json_locked(struct fake *f);

/* A response the HTTP layer sends. */
struct fake_reply {
    int status;
    char *body; /* owned, may be NULL for an empty body */
    char retry_after[40];
};
void fake_reply_set(struct fake_reply *r, int status, const char *body);
void fake_reply_message(struct fake_reply *r, int status, const char *message);

/* fake_api.c: /v1/... for an authenticated tenant. */
void fake_api_handle_locked(struct fake *f, struct fake_tenant *t, const char *method,
                            const char *path, const char *body, const char *self_base,
                            const char *(*arg)(void *cls, const char *key), void *arg_cls,
                            struct fake_reply *out);
/* fake_admin.c: /_admin/... (never holds the lock while calling the public API) */
void fake_admin_handle(struct fake *f, const char *method, const char *path, const char *body,
                       const char *(*arg)(void *cls, const char *key), void *arg_cls,
                       struct fake_reply *out);
/* fake_hooks.c: the webhook sink.  verify is true when no secret is set
 * for the tenant or the signature matches; record appends a delivery. */
bool fake_hooks_verify_locked(struct fake *f, const char *tenant, const char *body,
                              const char *signature);
void fake_hooks_record_locked(struct fake *f, const char *tenant, const char *body,
                              const char *signature, const char *idem, int status, bool sig_ok);

/* fake_http.c */
void fake_http_stop(struct fake *f);

#endif
