/*
 * hintproc.h - the hint processor: works off the VOMO webhooks recorded in
 * vomo_hints (web_hooks.c records them and answers 202 at once), so that
 * a change VOMO announces reaches the destination in seconds instead of at
 * the next poll.
 *
 * A hint hastens work and does nothing else: the record it names is read
 * by id (recordfetch.h: applied like any scan record, a 404 confirmed as a
 * deletion), or, when a batch names many records of one resource or an
 * event names none, the resource's next incremental scan is moved to now.
 * Hints of one resource are coalesced: the hints taken in one batch share
 * one read per record, a record is read at most once every
 * HINTPROC_REREAD_MS, at most HINTPROC_FETCH_MAX records of a resource in
 * that time are read
 * one by one (a deletion always is: no scan lists it, but these reads
 * begin at the pace of poll.hint_delete_interval, hintpace.h, at most
 * HINTPROC_DELETE_FETCHES of them in flight, and the deletion hints that
 * wait stay pending), and at most one
 * early scan per resource starts every HINTPROC_SCAN_GAP_MS.  A hint never
 * moves a checkpoint: polling stays the truth, and a lost webhook costs
 * only latency.
 *
 * It also keeps the gap ratio per (tenant, resource): of the changes that
 * reached the destination since the start, the share that incremental
 * polls found and no hint announced (hintproc_scan_done tells it of each
 * scan, from the owner's engine hook).
 *
 * Ownership: the owner (daemon.c, or a test) creates it over a running
 * engine, which must outlive it, and closes it before stopping the engine;
 * hintproc_close() cancels its reads (which end on their own) and frees it
 * from the loop.  The engine never calls it.
 */
#ifndef VOMO_HINTPROC_H
#define VOMO_HINTPROC_H

#include <stdint.h>

struct engine;
struct slot;
struct hintproc;

#define HINTPROC_FETCH_MAX 3      /* reads by id of one resource per HINTPROC_REREAD_MS */
#define HINTPROC_FETCHES 4        /* reads in flight per tenant */
#define HINTPROC_DELETE_FETCHES 3 /* of them for deletion hints: one stays for updates */
#define HINTPROC_SCAN_GAP_MS 5000 /* at most one early scan per resource in this time */
#define HINTPROC_REREAD_MS 1000   /* at most one read of a record begins in this time */
#define HINTPROC_BATCH_MS 20      /* hints arriving this close together are one batch */
#define HINTPROC_TICK_MS 1000     /* a backstop: pending hints are looked at this often */
#define HINTPROC_PRUNE_MS 60000   /* retention runs this often */

struct hintproc_stats {
    int64_t batches;      /* batches taken */
    int64_t fetches;      /* reads by id started */
    int64_t early_scans;  /* scans moved to now */
    int64_t hint_changes; /* changes hints brought: records applied or deleted by their reads
                           * and by the scans they moved */
    int64_t poll_changes; /* records applied by incremental scans no hint moved */
};

struct hintproc *hintproc_new(struct engine *e);
void hintproc_start(struct hintproc *p);
/* A hint was recorded: take it (with what else arrives meanwhile) soon. */
void hintproc_kick(struct hintproc *p);
/* A scan of `slot` ended (the owner's engine->on_scan_done). */
void hintproc_scan_done(struct hintproc *p, struct slot *slot, const char *status);
const struct hintproc_stats *hintproc_stats(const struct hintproc *p);
/* Stops taking hints (those left stay pending for the next start). */
void hintproc_close(struct hintproc *p, void (*closed)(void *arg), void *arg);

#endif
