/*
 * outbox_ops.h - the writes vomo-sync can make to VOMO, as data: for each
 * (resource, op) the method, the path, whether a blind retry is safe, the
 * fields it needs; the checks a new outbox row must pass; what an outcome
 * (an error class, and whether the request may have been applied) means for
 * the row; and how a record found by a search is matched with the intent.
 * Pure: no I/O, no clock.
 */
#ifndef VOMO_OUTBOX_OPS_H
#define VOMO_OUTBOX_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "classify.h"
#include "util.h"

struct outbox_op {
    const char *resource; /* users | groups | projects */
    const char *op;       /* upsert | create | update | delete | set_members */
    const char *method;   /* POST | PUT | DELETE */
    bool needs_id;        /* the path names target_id */
    bool members;         /* path ends in /members */
    /* A retry after an unknown outcome cannot duplicate: an upsert by
     * email, a full replacement, a delete.  A create is not safe. */
    bool safe;
    const char *required; /* a string field the payload must have, or NULL */
    enum op_context ctx;  /* OP_VOMO_WRITE or OP_VOMO_DELETE */
};

/* The op of (resource, op), or NULL when vomo-sync cannot make that write. */
const struct outbox_op *outbox_op_find(const char *resource, const char *op);
/* "users upsert, groups create, ..." for messages. */
const char *outbox_ops_list(void);

/*
 * Checks a write before it is queued (CLI) or sent (rows a program
 * INSERTed): the op exists; target_id is given (1..64 characters of
 * [A-Za-z0-9_-]) exactly when the op needs one; the payload is a JSON
 * object (a delete may have none) with the required field as a non-empty
 * string (an email with an '@' for users) and, for set_members, a
 * "members" array.  0 and the record key (what orders one record's writes:
 * "groups:12", "users:ann@example.org" lower-cased, or "" for a create,
 * which orders nothing), or -EINVAL with one sentence in why.
 */
#define OUTBOX_KEY_LEN 320
int outbox_validate(const char *resource, const char *op, const char *target_id,
                    const char *payload, char *why, size_t why_len, char key[OUTBOX_KEY_LEN]) WUR;

/* "BASE/groups/12/members" and the like; the caller frees. */
char *outbox_url(const char *base_url, const struct outbox_op *op, const char *target_id);

/* What an outcome means for the row. */
enum outbox_verdict {
    OBV_DONE,    /* VOMO holds the write (a 2xx; a delete's 404) */
    OBV_RETRY,   /* certainly not applied: back off and send again */
    OBV_UNKNOWN, /* may have been applied: state unknown */
    OBV_REVIEW,  /* retrying cannot help: manual review now */
    OBV_WAIT,    /* the tenant was stopped (401): no attempt is counted */
};
/*
 * cls and treatment from the classifier, maybe_applied from
 * classify_maybe_applied().  A 2xx whose body does not parse is unknown (it
 * was applied, but the id is not known).
 */
enum outbox_verdict outbox_verdict_for(enum err_class cls, enum treatment tr, bool maybe_applied);
const char *outbox_verdict_name(enum outbox_verdict v);

/*
 * Whether a record VOMO returned (JSON object text) matches the intent of a
 * create: every field of the intent's payload is present with an equal
 * value (strings exactly, numbers by value, true/false also as 1/0, null
 * as null or absent).  Fields VOMO adds (id, timestamps, counts) are not
 * compared.
 */
bool outbox_matches(const char *intent_payload, const char *record_json);

/* The search of an unknown create: BASE/RES?name_like=..&created_after=..&page=N
 * (values percent-encoded); the caller frees. */
char *outbox_search_url(const char *base_url, const char *resource, const char *name,
                        const char *created_after, int page);
/* The string field `key` of a JSON object text, copied into out; false
 * when absent or not a string. */
bool outbox_payload_string(const char *payload, const char *key, char *out, size_t len);

/* How far before the first send a search looks: clock skew between this
 * host and VOMO, and VOMO's whole-second created_at. */
#define OUTBOX_SEARCH_MARGIN_MS (5 * 60 * 1000)
/* Search pages looked at before the search counts as inconclusive. */
#define OUTBOX_SEARCH_MAX_PAGES 20

#endif
