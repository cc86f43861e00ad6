/*
 * dlqsched.c - when a dead letter is tried again and when it goes to a
 * person.  The delay after the n-th failed attempt is
 * min(dlq.max_delay, dlq.base_delay * 3^(n-1)), spread uniformly over
 * [0.8, 1.2] x that nominal delay (so rows that failed together during one
 * outage do not all come due in the same tick), capped at dlq.max_delay
 * and never below 1 ms.  After dlq.max_attempts attempts the row goes to
 * manual review; classes that retrying cannot fix go there at once.
 *
 * The growth factor is 3 so that the defaults keep their promise of "ten
 * attempts span about a day".  The row is created with attempts = 1 and
 * the 10th failure escalates, so nine delays are waited: 1 + 3 + 9 + 27 +
 * 81 + 243 min, then three at the 6 h cap = 1444 min, about 24 h nominal
 * (19.3 h to 28.9 h with jitter).  Doubling would give only 511 min
 * (8.5 h).  A longer span means raising dlq.max_attempts; each further
 * attempt adds dlq.max_delay.
 */
#include "dlqsched.h"

/*
 * Validation, forbidden and bad data do not heal by waiting: the record or
 * the token's scope must change, which takes a person.  Auth is retryable
 * on purpose: a 401 stops the whole tenant, its rows stay pending and are
 * retried once the token is fixed.
 */
bool dlqsched_retryable(enum err_class c)
{
    return c != EC_VALIDATION && c != EC_FORBIDDEN && c != EC_BAD_DATA;
}

/* Overflow-safe: growth stops at the cap, and d * 3 is only formed while
 * d <= max / 3; attempts below 1 count as 1. */
int64_t dlqsched_nominal_delay(const struct dlq_policy *p, int attempts)
{
    int64_t d = p->base_ms;

    if (d <= 0 || p->max_ms <= 0)
        return 0;
    for (int i = 1; i < attempts && d < p->max_ms; i++)
        d = d > p->max_ms / DLQSCHED_GROWTH ? p->max_ms : d * DLQSCHED_GROWTH;
    return d < p->max_ms ? d : p->max_ms;
}

/*
 * Uniform in [nominal - nominal/5, nominal + nominal/5], capped, >= 1 ms.
 * nominal <= max_ms, and the upward part is added only below the cap, so
 * no sum can overflow even with a cap near INT64_MAX.
 */
static int64_t jittered(const struct dlq_policy *p, int64_t nominal, uint64_t r)
{
    int64_t fifth = nominal / 5;
    uint64_t off = r % ((uint64_t)(2 * fifth) + 1); /* 0 .. 2 * fifth */
    int64_t d;

    if (off <= (uint64_t)fifth) {
        d = nominal - fifth + (int64_t)off;
    } else {
        int64_t up = (int64_t)off - fifth;
        d = nominal > p->max_ms - up ? p->max_ms : nominal + up;
    }
    return d < 1 ? 1 : d;
}

struct dlq_decision dlqsched_after_failure(const struct dlq_policy *p, enum err_class c,
                                           int attempts, int64_t now, uint64_t r)
{
    struct dlq_decision d = {.escalate = false, .next_attempt_at = 0};

    if (!dlqsched_retryable(c) || attempts >= p->max_attempts) {
        d.escalate = true;
        return d;
    }
    d.next_attempt_at = now + jittered(p, dlqsched_nominal_delay(p, attempts), r);
    return d;
}
