/*
 * alertsink.h - the optional targets of the built-in alerts ([alerts]
 * webhook_url and alertmanager_url): a notifier (alert_notify_fn) the
 * daemon hands to the alert evaluator.
 *
 * - webhook_url: one signed JSON POST per firing or resolved transition
 *   (never for a replayed episode), with an Idempotency-Key stable per
 *   episode and state, retried with full-jitter backoff on timeouts, 408,
 *   429 (at least Retry-After) and 5xx, from a bounded queue.
 * - alertmanager_url: Alertmanager's v2 API, POST {url}/api/v2/alerts with
 *   every alert the sink knows as a JSON array: re-sent every minute while
 *   firing with endsAt a few minutes ahead (so Alertmanager resolves them
 *   by itself if the daemon dies), once more with endsAt = the resolved
 *   time after a resolve, and retried with backoff when a send fails.
 *
 * Nothing blocks the loop: alertsink_notify() only queues, and requests go
 * through the sink's own libcurl-multi client (http.h), TLS verification
 * always on.  The policy (bodies, retry delays, the Alertmanager schedule)
 * is pure, takes `now`, and is public so it can be unit-tested; the sink
 * reads the clocks only at its edge (the wall clock for timestamps people
 * read, the monotonic clock for every delay).
 *
 * Ownership: struct alertsink is embedded by its owner, initialised by
 * alertsink_init and lives until the close callback of alertsink_close
 * has run.  Options and events are copied; nothing is borrowed after a
 * call returns.
 */
#ifndef VOMO_ALERTSINK_H
#define VOMO_ALERTSINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "alert_event.h"
#include "backoff.h"
#include "http.h"

#define ALERTSINK_MAX_QUEUE 256      /* webhook messages waiting (oldest dropped past it) */
#define ALERTSINK_MAX_IN_FLIGHT 4    /* webhook POSTs at once */
#define ALERTSINK_AM_MAX_ALERTS 1024 /* alerts the Alertmanager target tracks */
#define ALERTSINK_MAX_RESPONSE 65536 /* body cap of a target's answer */
#define ALERTSINK_MAX_WAIT_MS 900000 /* a Retry-After beyond 15 min is clamped */
#define ALERTSINK_INSTANCE_MAX 128

struct alertsink_opts {
    const char *webhook_url;      /* NULL: no webhook target */
    const char *webhook_secret;   /* HMAC-SHA256 key; required with webhook_url */
    const char *alertmanager_url; /* base URL; NULL: no Alertmanager target */
    const char *instance;         /* label "instance" and part of the key; NULL: "vomo-sync" */
    int64_t timeout_ms;           /* per request (default 10 s) */
    int64_t connect_timeout_ms;   /* default 5 s */
    struct backoff_policy retry;  /* webhook retries (default 1 s .. 5 min, 12 tries) */
    int64_t am_resend_ms;         /* Alertmanager re-send period (default 1 min) */
    int64_t am_ends_ahead_ms;     /* endsAt this far ahead while firing (default 4 min) */
    size_t max_queue;             /* webhook queue bound (default ALERTSINK_MAX_QUEUE) */
};

/* One webhook message waiting, being sent, or waiting for its retry. */
struct alertsink_msg {
    int64_t episode; /* alerts.id: a resolved waits for its own firing */
    char *name;      /* for logs */
    char *body;
    char *key;       /* Idempotency-Key */
    int tries;       /* attempts made */
    int64_t next_at; /* monotonic ms */
    bool in_flight;
    long last_status;
};

/* What the Alertmanager target knows of one episode. */
struct alertsink_am_alert {
    int64_t id;
    char *name, *tenant, *resource, *severity, *summary;
    int64_t started_at;    /* unix seconds */
    int64_t resolved_at;   /* unix seconds; 0 while firing */
    bool sending_resolved; /* in the POST in flight as resolved: dropped once it succeeds */
};

struct alertsink {
    uv_loop_t *loop;
    struct http_client http;
    uv_timer_t wh_timer, am_timer;
    struct alertsink_opts opts; /* strings owned (copied) */
    char *am_endpoint;          /* {alertmanager_url}/api/v2/alerts */
    /* webhook */
    struct alertsink_msg *queue;
    size_t nqueue;
    int wh_in_flight;
    uint64_t wh_sent, wh_dropped; /* delivered, and given up or pushed out */
    /* Alertmanager */
    struct alertsink_am_alert *am;
    size_t nam;
    bool am_in_flight, am_dirty;
    int am_failures;    /* consecutive failed sends */
    int64_t am_next_at; /* monotonic ms; 0 when nothing is due */
    uint64_t am_sent;   /* successful POSTs */
    bool closing;
    int open_handles;
    void (*on_closed)(struct alertsink *s);
    void *data; /* for the owner */
};

/* Fills defaults (no targets). */
void alertsink_opts_default(struct alertsink_opts *o);
/* Starts the sink on loop; curl_global_init must have run.  0 or a negative
 * errno (-EINVAL: webhook_url without webhook_secret). */
int alertsink_init(struct alertsink *s, uv_loop_t *loop, const struct alertsink_opts *o) WUR;
/* New targets (SIGHUP): a removed webhook drops its queue, a removed
 * Alertmanager forgets its alerts, a new or changed one is sent to at once.
 * 0 or -EINVAL as for alertsink_init (then nothing changed). */
int alertsink_reconfigure(struct alertsink *s, const struct alertsink_opts *o) WUR;
/* The alert_notify_fn: ctx is the struct alertsink.  Only queues. */
void alertsink_notify(void *ctx, const struct alert_event *ev);
/* Aborts what is in flight, drops what waits (logged), closes the handles,
 * then calls on_closed (may be NULL) from the loop. */
void alertsink_close(struct alertsink *s, void (*on_closed)(struct alertsink *s));
/* Whether the sink has any target at all. */
bool alertsink_active(const struct alertsink *s);

/* ---- pure policy (alertsink_policy.c) ---- */

/* The webhook's JSON document for one transition; the caller frees it. */
char *alertsink_webhook_body(const struct alert_event *ev, const char *instance);
/* "alert:INSTANCE:ID:STATE": the same for every retry and every restart. */
char *alertsink_idempotency_key(const struct alert_event *ev, const char *instance);
/* The value of X-Vomo-Sync-Signature for body: "sha256=" and the hex
 * HMAC-SHA256 with secret, as for record deliveries; caller frees. */
char *alertsink_signature(const char *secret, const char *body, size_t len);

enum alertsink_verdict {
    ALERTSINK_DONE,    /* 2xx: the target has it */
    ALERTSINK_RETRY,   /* no answer, a timeout, 408, 429 or 5xx: try again later */
    ALERTSINK_GIVE_UP, /* any other answer: the target refuses it for good */
};
/* What a response (curl_code 0 = an answer arrived, with status) means. */
enum alertsink_verdict alertsink_verdict(int curl_code, long status);
/* The wait before retry number `retry` (1 = first): full-jitter backoff
 * from the random value r, and never less than a usable Retry-After
 * (delta seconds or an HTTP date, against wall_now), clamped to
 * ALERTSINK_MAX_WAIT_MS. */
int64_t alertsink_retry_delay(const struct backoff_policy *p, int retry, uint64_t r,
                              const char *retry_after, int64_t wall_now);
/* The Alertmanager's next send after one ended at `now` (monotonic):
 * a success waits resend_ms; failure number `failures` (1 = first) waits
 * alertsink_retry_delay, at most resend_ms. */
int64_t alertsink_am_next(bool ok, int failures, int64_t now, int64_t resend_ms,
                          const struct backoff_policy *p, uint64_t r, const char *retry_after,
                          int64_t wall_now);
/* The v2 API body: a JSON array, one object per alert with labels
 * alertname, severity, instance (and tenant, resource when not empty),
 * annotations.summary, startsAt, and endsAt = the resolved time, or
 * wall_now_ms + ends_ahead_ms while firing.  Caller frees. */
char *alertsink_am_body(const struct alertsink_am_alert *a, size_t n, const char *instance,
                        int64_t wall_now_ms, int64_t ends_ahead_ms);
/* Index of the webhook message to send next at `now`: due, not in flight,
 * and no earlier message of the same episode still queued (a resolved
 * never overtakes its firing); -1 when none.  *wake gets the earliest
 * next_at of the messages that wait (INT64_MAX when none). */
long alertsink_pick(const struct alertsink_msg *q, size_t n, int64_t now, int64_t *wake);
/* The instance name: the host name, and ":NAME" for a config file other
 * than vomo-sync.ini (/etc/vomo-sync/NAME.ini of vomo-sync@NAME). */
void alertsink_instance_name(const char *host, const char *config_path,
                             char out[ALERTSINK_INSTANCE_MAX]);

#endif
