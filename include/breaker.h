/*
 * breaker.h - a circuit breaker (closed / open / half-open) over an
 * injected clock.  One guards VOMO for the whole daemon, one guards each
 * tenant's destination.  The caller logs transitions: every call that can
 * change state returns what changed.
 */
#ifndef VOMO_BREAKER_H
#define VOMO_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };
enum breaker_event {
    BREAKER_EV_NONE,
    BREAKER_EV_OPENED,    /* closed -> open: threshold reached */
    BREAKER_EV_HALF_OPEN, /* open -> half-open: one probe let through */
    BREAKER_EV_CLOSED,    /* half-open -> closed: the probe succeeded */
    BREAKER_EV_REOPENED,  /* half-open -> open: the probe failed */
};

struct breaker {
    enum breaker_state state;
    int failures; /* consecutive failures while closed */
    int threshold;
    int64_t open_timeout_ms;
    int64_t opened_at;
    bool probe_in_flight;
};

void breaker_init(struct breaker *b, int threshold, int64_t open_timeout_ms);
/* May a request start now?  Open past its timeout turns half-open and lets
 * exactly one probe through (*ev = BREAKER_EV_HALF_OPEN). */
bool breaker_allow(struct breaker *b, int64_t now, enum breaker_event *ev);
enum breaker_event breaker_success(struct breaker *b, int64_t now);
/* Counts a failure that trips breakers (see err_class_trips_breaker). */
enum breaker_event breaker_failure(struct breaker *b, int64_t now);
/* A request that was allowed but ended with a non-tripping outcome (e.g. a
 * 4xx): while half-open it releases the probe slot like a success does. */
enum breaker_event breaker_neutral(struct breaker *b, int64_t now);
/* When an open breaker lets the next probe through (0 when not open). */
int64_t breaker_next_probe_at(const struct breaker *b);
const char *breaker_state_name(enum breaker_state s);
const char *breaker_event_name(enum breaker_event e);

#endif
