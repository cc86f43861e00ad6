/*
 * alert_event.h - one transition of a built-in alert, as the evaluator
 * (alerts.c) hands it to the notifiers its owner wires in: the log and
 * journal, and the optional targets of [alerts] (alertsink.c: webhook_url,
 * alertmanager_url).  The evaluator does not know the targets; the daemon
 * hands it a callback (alert_notify_fn) at start.
 *
 * Ownership: every pointer of an event is the evaluator's and valid only
 * during the call; a notifier that keeps an event copies what it needs.
 */
#ifndef VOMO_ALERT_EVENT_H
#define VOMO_ALERT_EVENT_H

#include <stdbool.h>
#include <stdint.h>

struct alert_event {
    int64_t id;           /* alerts.id of the episode (one row per episode) */
    const char *name;     /* "VomoServerErrors", "TenantFailing", ... */
    const char *tenant;   /* "" for an alert over the whole daemon */
    const char *resource; /* "" unless the alert names one resource */
    const char *severity; /* "warning" or "critical" */
    const char *state;    /* "firing" or "resolved" */
    int64_t started_at;   /* wall clock, unix seconds */
    int64_t resolved_at;  /* wall clock, unix seconds; 0 while firing */
    const char *summary;  /* one line for people */
    /* true when the episode was already announced by an earlier run of the
     * daemon and is handed over again at start (state "firing"): targets
     * that repeat while firing (Alertmanager) take it up again, targets that
     * post once per transition (the webhook) do not post it again. */
    bool replay;
};

/* Called for every transition (and every replayed firing episode at start).
 * It must not block: a target that sends over the network queues the event
 * and sends it from the loop. */
typedef void (*alert_notify_fn)(void *ctx, const struct alert_event *ev);

#endif
