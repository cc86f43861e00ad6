/*
 * dlqsched.h - when a dead letter is tried again, and when it goes to a
 * person.  Exponential (factor DLQSCHED_GROWTH = 3) from dlq.base_delay to
 * dlq.max_delay with jitter, so the defaults (1 min, 6 h, 10 attempts) span
 * about a day; after dlq.max_attempts, manual review; validation, forbidden
 * and bad data at once.
 * Pure: now and randomness are parameters.
 */
#ifndef VOMO_DLQSCHED_H
#define VOMO_DLQSCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "classify.h"

/* Each failed attempt multiplies the nominal delay by this, up to the cap. */
#define DLQSCHED_GROWTH 3

struct dlq_policy {
    int64_t base_ms;
    int64_t max_ms;
    int max_attempts;
};

struct dlq_decision {
    bool escalate;           /* true: manual_review, next_attempt_at unused */
    int64_t next_attempt_at; /* ms since epoch */
};

/* Whether retrying can ever fix this class (validation, forbidden, bad data:
 * no). */
bool dlqsched_retryable(enum err_class c);
/* The nominal delay after `attempts` failed attempts (1 = after the first),
 * before jitter: min(max, base * 3^(attempts-1)). */
int64_t dlqsched_nominal_delay(const struct dlq_policy *p, int attempts);
/* Decides after a failed attempt; attempts counts it.  Jitter spreads the
 * delay uniformly over [0.8, 1.2] x nominal, capped at max_ms. */
struct dlq_decision dlqsched_after_failure(const struct dlq_policy *p, enum err_class c,
                                           int attempts, int64_t now, uint64_t r);

#endif
