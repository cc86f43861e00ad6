/*
 * scan_end.c - how a scan ends: a pass that saw fewer distinct ids than
 * VOMO's meta.total is repeated (bounded by poll.scan_passes); a complete
 * full scan then marks what VOMO no longer has as deleted, each deletion
 * first confirmed by reading the record back (scan_confirm.c); finally the
 * checkpoint moves (complete scans only) and the scan is recorded.
 */
#include "obs.h"
#include "scan_int.h"

#include <stdlib.h>
#include <string.h>

#include "dlqsched.h"
#include "engine.h"

static void finish(struct scan *s, const char *status);

void scan_end_pass(struct scan *s)
{
    if (s->e->stopping && s->next_page <= s->last_page)
        s->aborted = true; /* shutting down mid-pass: the rest waits for the next run */
    if (s->failed || s->aborted) {
        finish(s, "failed");
        return;
    }
    bool complete = s->max_total < 0 || (int64_t)s->seen.count >= s->max_total;
    if (!complete && s->pass < s->e->cfg->scan_passes && !s->e->stopping) {
        struct log_fields f = scan_log_fields(s);
        log_emit(LOG_INFO, &f,
                 "pass %d saw %zu of %lld records (records moved between pages): scanning again",
                 s->pass, s->seen.count, (long long)s->max_total);
        s->pass++;
        s->last_page = 1;
        s->next_page = 1;
        scan_fill_window(s);
        return;
    }
    if (!complete) {
        finish(s, "incomplete");
        return;
    }
    if (s->full || s->t->mode == CKPT_HOLD) {
        scan_confirm_start(s); /* what it did not see, before it concludes anything */
        return;
    }
    finish(s, "complete");
}

static void deletion_done(struct scan *s)
{
    if (--s->dels_left > 0)
        return;
    for (size_t i = 0; i < s->ndels; i++)
        free(s->dels[i].id);
    free(s->dels);
    s->dels = NULL;
    finish(s, s->aborted || s->failed ? "failed" : "complete");
}

/*
 * A deletion the destination did not take is dead-lettered like an upsert,
 * in one transaction with marking the record deleted at the time the
 * deletion was found: the DLQ processor sends it again with that time (and
 * so the same Idempotency-Key), and the next reconciliation leaves it to
 * the dead letter.
 */
static int dead_letter_deletion(struct scan *s, struct del_work *dw,
                                const struct delivery_result *r)
{
    struct engine *e = s->e;
    bool terminal = r->treatment == TR_DEAD_LETTER || !dlqsched_retryable(r->cls);
    char next[TS_LEN] = "", now[TS_LEN];
    if (!terminal) {
        struct dlq_decision d =
            dlqsched_after_failure(&e->dlq_policy, r->cls, 1, clock_wall_ms(), rand_u64());
        terminal = d.escalate;
        ts_format(d.next_attempt_at, next);
    }
    scan_now(now);
    struct dlq_new n = {.tenant = s->t->name,
                        .resource = s->resource,
                        .record_id = dw->id,
                        .record_updated_at = s->deleted_at,
                        .status = terminal ? "manual_review" : "pending",
                        .error_class = err_class_name(r->cls),
                        .http_status = (int)r->status,
                        .attempts = 1,
                        .next_attempt_at = terminal ? NULL : next,
                        .last_error = r->message,
                        .now = now,
                        .is_delete = true};
    int rc = store_begin(e->store);
    if (rc == 0)
        rc = store_record_mark_deleted(e->store, s->t->name, s->resource, dw->id, s->deleted_at);
    if (rc == 0)
        rc = store_dlq_add(e->store, &n, NULL);
    if (rc == 0)
        rc = store_commit(e->store);
    if (rc < 0)
        store_rollback(e->store);
    struct log_fields f = scan_log_fields(s);
    f.record_id = dw->id;
    f.error_class = n.error_class;
    f.http_status = n.http_status;
    if (rc < 0)
        log_emit(LOG_ERROR, &f,
                 "deletion not delivered (%s) and not saved (%s); the next reconciliation "
                 "retries it",
                 r->message, store_errmsg(e->store));
    else
        log_emit(terminal ? LOG_ERROR : LOG_WARN, &f, "deletion dead-lettered as %s: %s", n.status,
                 r->message);
    return rc;
}

static void on_deleted(struct delivery *dl, const struct delivery_result *r)
{
    struct del_work *dw = container_of(dl, struct del_work, dl);
    struct scan *s = dw->s;
    struct log_fields f = scan_log_fields(s);
    f.record_id = dw->id;
    if (r->cancelled) {
        s->aborted = true;
    } else if (r->cls != EC_NONE) {
        if (dead_letter_deletion(s, dw, r) == 0)
            s->n_failed++;
    } else {
        int rc =
            store_record_mark_deleted(s->e->store, s->t->name, s->resource, dw->id, s->deleted_at);
        if (rc < 0)
            log_emit(LOG_ERROR, &f, "could not record deletion: %s", store_errmsg(s->e->store));
        else
            s->n_deleted++;
    }
    claim_release(&s->t->dest->claims, &dw->claim);
    deletion_done(s);
}

/* The delivery of this record that was in flight (the DLQ processor's) has
 * ended: VOMO no longer has the record, so the deletion goes now. */
static void on_deletion_granted(struct claim *c)
{
    struct del_work *dw = container_of(c, struct del_work, claim);
    dest_deliver(dw->s->t->dest, &dw->dl);
}

/* Delivers the deletions scan_confirm.c confirmed (VOMO answered 404). */
void scan_deliver_deletions(struct scan *s)
{
    s->dels_left = 1;
    if (s->aborted || s->failed || s->ndels == 0) {
        deletion_done(s);
        return;
    }
    scan_now(s->deleted_at);
    s->dels_left += s->ndels;
    for (size_t i = 0; i < s->ndels; i++) {
        struct del_work *dw = &s->dels[i];
        dw->dl = (struct delivery){.resource = s->resource,
                                   .id = dw->id,
                                   .updated_at = s->deleted_at,
                                   .is_delete = true,
                                   .trace_id = s->trace_id,
                                   .done = on_deleted};
        dw->claim = (struct claim){.granted = on_deletion_granted, .owner = dw};
        if (claim_take(&s->t->dest->claims, &dw->claim, s->resource, dw->id))
            dest_deliver(s->t->dest, &dw->dl);
    }
    deletion_done(s);
}

/* The new checkpoint of a complete pass, or "" to leave it. */
static void next_checkpoint(struct scan *s, char out[TS_LEN])
{
    out[0] = '\0';
    if (!s->max_processed[0])
        return;
    char limit[TS_LEN];
    ts_format(s->server_start_ms - s->e->cfg->safety_margin_ms, limit);
    const char *cand = strcmp(s->max_processed, limit) < 0 ? s->max_processed : limit;
    char held[TS_LEN];
    if (s->t->mode == CKPT_HOLD &&
        store_hold_oldest(s->e->store, s->t->name, s->resource, held) == 0 &&
        strcmp(held, cand) < 0)
        cand = held;
    if (strcmp(cand, s->old_checkpoint) > 0)
        snprintf(out, TS_LEN, "%s", cand);
}

/* Records the scan and moves the checkpoint; true when a reset made by a
 * person during the scan kept the checkpoint where they put it. */
static bool record_scan(struct scan *s, const char *status, const char *ckpt)
{
    struct scan_summary sum = {.tenant = s->t->name,
                               .resource = s->resource,
                               .trace_id = s->trace_id,
                               .kind = s->full ? "full" : "incremental",
                               .status = status,
                               .detail = s->failed ? s->fail_msg : NULL,
                               .pages = s->pages_done,
                               .records = (int64_t)s->seen.count,
                               .applied = s->n_applied,
                               .skipped = s->n_skipped,
                               .failed = s->n_failed,
                               .deleted = s->n_deleted,
                               /* the first scan of the slot in this process prunes */
                               .defer_prune =
                                   s->slot->scans_finished % STORE_SCANS_PRUNE_EVERY != 0};
    snprintf(sum.started_at, TS_LEN, "%s", s->started_at);
    scan_now(sum.finished_at);
    struct store *st = s->e->store;
    int dropped = 0;
    int rc = store_begin(st);
    if (rc == 0)
        rc = store_checkpoint_set_if(st, s->t->name, s->resource, ckpt[0] ? ckpt : NULL,
                                     s->old_resets, sum.finished_at, status,
                                     s->full && strcmp(status, "complete") == 0, &dropped);
    if (rc == 0)
        rc = store_scan_insert(st, &sum);
    if (rc == 0)
        rc = store_commit(st);
    struct log_fields f = scan_log_fields(s);
    if (rc < 0) {
        store_rollback(st);
        log_emit(LOG_ERROR, &f, "could not save the checkpoint: %s", store_errmsg(st));
        return false;
    }
    if (dropped)
        log_emit(LOG_WARN, &f,
                 "the checkpoint was reset (vomo-sync checkpoint reset) while this scan ran: the "
                 "scan dropped its checkpoint %s; the next scan starts from the reset value",
                 ckpt);
    return dropped;
}

/* A fetch of one record (scan_fetch_new) ends: its counts, no checkpoint,
 * no scans row. */
void scan_fetch_finish(struct scan *s, const char *status)
{
    struct scan_fetch_answer *a = &s->answer;
    a->applied = s->n_applied;
    a->skipped = s->n_skipped;
    a->failed = s->n_failed;
    a->deleted = s->n_deleted;
    if (s->failed)
        snprintf(a->message, sizeof(a->message), "%.250s", s->fail_msg);
    struct engine_stats *st = &s->e->stats;
    st->records_applied += s->n_applied;
    st->records_skipped += s->n_skipped;
    st->records_failed += s->n_failed;
    st->records_deleted += s->n_deleted;
    s->done(s, s->aborted ? "aborted" : status);
}

static void finish(struct scan *s, const char *status)
{
    if (s->fetch) {
        scan_fetch_finish(s, s->failed ? "failed" : status);
        return;
    }
    char ckpt[TS_LEN] = "";
    /* Without the reset count it started from, a scan cannot tell whether
     * the checkpoint is still its to move: it leaves it. */
    if (strcmp(status, "complete") == 0 && s->old_resets >= 0)
        next_checkpoint(s, ckpt);
    if (!s->aborted && record_scan(s, status, ckpt))
        ckpt[0] = '\0'; /* dropped: the scan moved nothing */
    struct log_fields f = scan_log_fields(s);
    struct log_kv kv[] = {
        LOG_STR("kind", s->full ? "full" : "incremental"),
        LOG_STR("status", s->aborted ? "aborted" : status),
        LOG_INT("passes", s->pass),
        LOG_INT("pages", s->pages_done),
        LOG_INT("records", s->seen.count),
        LOG_INT("applied", s->n_applied),
        LOG_INT("skipped", s->n_skipped),
        LOG_INT("failed", s->n_failed),
        LOG_INT("deleted", s->n_deleted),
        LOG_INT("deferred", s->n_deferred),
        LOG_INT("duration_ms", clock_mono_ms() - s->started_mono),
        LOG_STR("checkpoint", ckpt[0] ? ckpt : s->old_checkpoint),
    };
    f.kv = kv;
    f.nkv = ARRAY_SIZE(kv);
    if (strcmp(status, "incomplete") == 0)
        log_emit(LOG_WARN, &f,
                 "scan incomplete: saw %zu of %lld records after %d passes; the checkpoint stays "
                 "at %s",
                 s->seen.count, (long long)s->max_total, s->pass, s->old_checkpoint);
    else if (s->failed)
        log_emit(LOG_WARN, &f, "scan failed: %s", s->fail_msg);
    else
        log_emit(LOG_INFO, &f, "scan %s", s->aborted ? "aborted" : status);
    struct engine_stats *st = &s->e->stats;
    st->pages += s->pages_done;
    st->records_applied += s->n_applied;
    st->records_skipped += s->n_skipped;
    st->records_failed += s->n_failed;
    st->records_deleted += s->n_deleted;
    obs_scan_end(&(struct obs_scan){.tenant = s->t->name,
                                    .resource = s->resource,
                                    .kind = s->full ? "full" : "incremental",
                                    .status = s->aborted ? "aborted" : status,
                                    .seconds = (double)(clock_mono_ms() - s->started_mono) / 1e3,
                                    .applied = s->n_applied,
                                    .skipped = s->n_skipped,
                                    .failed = s->n_failed,
                                    .deleted = s->n_deleted});
    s->done(s, s->aborted ? "aborted" : status);
}
