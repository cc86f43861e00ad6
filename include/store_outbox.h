/*
 * store_outbox.h - the outbox table of the state database (writes to VOMO,
 * migrations/0004_outbox.sql): adding rows, the processor's per-tenant due
 * query, the state changes of a write (pending|unknown -> in_flight ->
 * done | pending | unknown | manual_review), recovery at start-up, the
 * operator's retry, cancel and purge, and the outbox_events history.  A
 * write that needs a person also gets a dlq row of kind 'write', so
 * `vomo-sync dlq` shows one queue; store_outbox_follow_dlq() applies the
 * dlq commands to the write behind such a row.
 *
 * Same conventions as store.h: 0 or a negative errno, -ENOENT for no such
 * row, every change in one unit (its own transaction or a savepoint in the
 * caller's), strings in struct outbox_row owned (outbox_row_free).
 */
#ifndef VOMO_STORE_OUTBOX_H
#define VOMO_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct outbox_row {
    int64_t id;
    char *tenant, *resource, *op;
    char *target_id;  /* may be NULL */
    char *payload;    /* may be NULL */
    char *remote_id;  /* may be NULL */
    char *last_error; /* may be NULL */
    char *op_key;     /* may be NULL */
    char *record_key; /* NULL until validated */
    char state[16];
    char error_class[16];
    int attempts;
    int last_http_status;
    int maybe_applied;
    char next_attempt_at[TS_LEN]; /* "" = due now */
    char first_sent_at[TS_LEN];   /* "" = never sent */
    char created_at[TS_LEN];
};
void outbox_row_free(struct outbox_row *r);
void outbox_rows_free(struct outbox_row *rows, size_t n);

struct outbox_new {
    const char *tenant, *resource, *op;
    const char *target_id; /* NULL when the op takes none */
    const char *payload;   /* NULL for a delete without data */
    const char *op_key;    /* may be NULL */
    const char *record_key;
    const char *actor, *now;
};
/* Adds a pending row, due now.  With an op_key the tenant already used,
 * nothing is added: *existed = 1 and *id is that row. */
int store_outbox_add(struct store *s, const struct outbox_new *n, int64_t *id, int *existed) WUR;
int store_outbox_get(struct store *s, int64_t id, struct outbox_row *out) WUR;

/* Up to limit rows never validated (a program INSERTed them), oldest first. */
int store_outbox_unvalidated(struct store *s, int limit, struct outbox_row **rows, size_t *n) WUR;
/* Marks a row validated with its record key. */
int store_outbox_set_key(struct store *s, int64_t id, const char *record_key) WUR;
/* Up to limit validated pending or unknown rows of a tenant that are due
 * (next_attempt_at NULL or <= now), in creation order. */
int store_outbox_due_for(struct store *s, const char *tenant, const char *now, int limit,
                         struct outbox_row **rows, size_t *n) WUR;
/* 1 when a write of the same record created before row `id` is still open
 * (pending, in_flight or unknown): the later one waits.  0 otherwise. */
int store_outbox_blocked(struct store *s, const char *tenant, const char *record_key,
                         int64_t id) WUR;
/* 1 when another write of this tenant already owns remote_id (done with
 * it), so a search must not adopt that record.  0 otherwise. */
int store_outbox_remote_taken(struct store *s, const char *tenant, const char *resource,
                              const char *remote_id, int64_t except_id) WUR;

/* from_state -> in_flight before the request leaves: attempts + 1,
 * first_sent_at (once) and last_sent_at = now.  -ESTALE when the row is no
 * longer in from_state (a person cancelled it meanwhile). */
int store_outbox_begin_send(struct store *s, int64_t id, const char *from_state,
                            const char *now) WUR;
/* in_flight or unknown -> done, with VOMO's id; resolution is sent,
 * adopted or gone.  A dlq row of the write is resolved. */
int store_outbox_done(struct store *s, int64_t id, const char *remote_id, const char *resolution,
                      int http_status, const char *now) WUR;
struct outbox_failure {
    const char *state; /* pending | unknown | manual_review */
    int attempts;
    const char *next_attempt_at; /* NULL for manual_review */
    const char *error_class;
    int http_status;
    const char *message;
    bool maybe_applied; /* sets the row's flag (it is never cleared) */
    const char *action; /* event: failed | unknown | escalated | waiting */
    const char *now;
};
/* Records a failed attempt; manual_review also opens (or reopens) the dlq
 * row of kind 'write' with the error and the payload. */
int store_outbox_failed(struct store *s, int64_t id, const struct outbox_failure *f) WUR;
/* Start-up: every in_flight row becomes unknown (the daemon died with the
 * request possibly sent).  *changed may be NULL. */
int store_outbox_recover(struct store *s, const char *now, int64_t *changed) WUR;

/* `outbox retry`: a manual_review, pending or unknown row becomes due now
 * (unknown again when any send may have been applied, else pending);
 * attempts are kept.  -EALREADY for done or cancelled, -EBUSY while
 * in_flight.  prev (may be NULL) gets the state it had. */
int store_outbox_retry(struct store *s, int64_t id, const char *actor, const char *now,
                       char prev[16]) WUR;
/* `outbox cancel`: a row not sent yet, unknown or in manual review is
 * cancelled (its dlq row discarded); -EALREADY for done or cancelled,
 * -EBUSY while in_flight. */
int store_outbox_cancel(struct store *s, int64_t id, const char *resolution, const char *note,
                        const char *actor, const char *now) WUR;
/* Deletes done and cancelled rows last changed before `before`. */
int store_outbox_purge(struct store *s, const char *before, int64_t *deleted) WUR;
int store_outbox_event(struct store *s, int64_t id, const char *actor, const char *action,
                       const char *error_class, int http_status, const char *note,
                       const char *now) WUR;
/* Calls fn once per (tenant, state) with rows in pending, in_flight,
 * unknown or manual_review (done and cancelled rows are not counted: they
 * only grow), through outbox_state_idx. */
int store_outbox_count_rows(struct store *s,
                            void (*fn)(void *arg, const char *tenant, const char *state,
                                       int64_t rows),
                            void *arg) WUR;
/* Open rows (pending, in_flight, unknown) and manual_review rows. */
int store_outbox_counts(struct store *s, int64_t *open, int64_t *review) WUR;

/*
 * Called by the dlq commands inside their unit, after they changed dlq row
 * dlq_id: when it is a write's row, the write follows (action "retry":
 * store_outbox_retry and the dlq row keeps no next_attempt_at; "resolved"
 * or "discarded": the write is cancelled).  0 for a read's row.
 */
int store_outbox_follow_dlq(struct store *s, int64_t dlq_id, const char *action, const char *actor,
                            const char *now) WUR;

#endif
