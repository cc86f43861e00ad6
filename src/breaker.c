/*
 * breaker.c - a circuit breaker over an injected clock.  One guards VOMO
 * for the whole daemon and one guards each tenant's destination, so that a
 * service that is down costs one probe per open_timeout instead of a storm
 * of doomed requests, and recovery needs no operator.
 *
 * Closed: requests flow; consecutive tripping failures are counted and any
 * answer from the service (success or neutral) resets the count.  At the
 * threshold the breaker opens.  Open: nothing is allowed until
 * opened_at + open_timeout; then the first allow() turns it half-open and
 * lets exactly one probe through.  Half-open: every other request is
 * refused while the probe is in flight; the probe's success (or a neutral
 * answer such as a 4xx: the service did answer) closes the breaker, its
 * failure re-opens it with a fresh opened_at.
 *
 * Outcomes that arrive while the breaker is open come from requests that
 * started before it opened: they change nothing (a late failure does not
 * push the probe back, a late success does not skip the probe).  Every
 * state change is returned as an event so that the caller logs it once.
 */
#include "breaker.h"

void breaker_init(struct breaker *b, int threshold, int64_t open_timeout_ms)
{
    b->state = BREAKER_CLOSED;
    b->failures = 0;
    b->threshold = threshold > 0 ? threshold : 1;
    b->open_timeout_ms = open_timeout_ms > 0 ? open_timeout_ms : 0;
    b->opened_at = 0;
    b->probe_in_flight = false;
}

bool breaker_allow(struct breaker *b, int64_t now, enum breaker_event *ev)
{
    enum breaker_event e = BREAKER_EV_NONE;
    bool ok = false;

    switch (b->state) {
    case BREAKER_CLOSED:
        ok = true;
        break;
    case BREAKER_OPEN:
        if (now >= breaker_next_probe_at(b)) {
            b->state = BREAKER_HALF_OPEN;
            b->probe_in_flight = true;
            e = BREAKER_EV_HALF_OPEN;
            ok = true;
        }
        break;
    case BREAKER_HALF_OPEN:
        if (!b->probe_in_flight) {
            b->probe_in_flight = true;
            ok = true;
        }
        break;
    }
    if (ev)
        *ev = e;
    return ok;
}

enum breaker_event breaker_success(struct breaker *b, int64_t now)
{
    (void)now;
    switch (b->state) {
    case BREAKER_CLOSED:
        b->failures = 0;
        return BREAKER_EV_NONE;
    case BREAKER_HALF_OPEN:
        b->state = BREAKER_CLOSED;
        b->failures = 0;
        b->probe_in_flight = false;
        return BREAKER_EV_CLOSED;
    case BREAKER_OPEN:
    default:
        return BREAKER_EV_NONE;
    }
}

enum breaker_event breaker_failure(struct breaker *b, int64_t now)
{
    switch (b->state) {
    case BREAKER_CLOSED:
        if (++b->failures < b->threshold)
            return BREAKER_EV_NONE;
        b->state = BREAKER_OPEN;
        b->opened_at = now;
        return BREAKER_EV_OPENED;
    case BREAKER_HALF_OPEN:
        b->state = BREAKER_OPEN;
        b->opened_at = now;
        b->probe_in_flight = false;
        return BREAKER_EV_REOPENED;
    case BREAKER_OPEN:
    default:
        return BREAKER_EV_NONE;
    }
}

/* The service answered, if not with what we wanted: as good as a success
 * for the question the breaker asks ("is it up?"). */
enum breaker_event breaker_neutral(struct breaker *b, int64_t now)
{
    return breaker_success(b, now);
}

int64_t breaker_next_probe_at(const struct breaker *b)
{
    if (b->state != BREAKER_OPEN)
        return 0;
    return b->opened_at + b->open_timeout_ms;
}

const char *breaker_state_name(enum breaker_state s)
{
    switch (s) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    case BREAKER_HALF_OPEN:
        return "half_open";
    default:
        return "unknown";
    }
}

const char *breaker_event_name(enum breaker_event e)
{
    switch (e) {
    case BREAKER_EV_NONE:
        return "none";
    case BREAKER_EV_OPENED:
        return "opened";
    case BREAKER_EV_HALF_OPEN:
        return "half_open";
    case BREAKER_EV_CLOSED:
        return "closed";
    case BREAKER_EV_REOPENED:
        return "reopened";
    default:
        return "unknown";
    }
}
