/*
 * backoff.h - exponential backoff with full jitter for in-cycle retries.
 * Pure: randomness is passed in, so tests are deterministic.
 */
#ifndef VOMO_BACKOFF_H
#define VOMO_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct backoff_policy {
    int64_t base_ms;  /* retry.base_delay */
    int64_t max_ms;   /* retry.max_delay */
    int max_attempts; /* retry.max_attempts: total tries, the first included */
};

/* The ceiling before retry number `retry` (1 = first retry):
 * min(max_ms, base_ms * 2^(retry-1)), overflow-safe. */
int64_t backoff_ceiling(const struct backoff_policy *p, int retry);
/* Full jitter: uniform in [0, ceiling] chosen by the random value r. */
int64_t backoff_delay(const struct backoff_policy *p, int retry, uint64_t r);
/* True when `tries_made` tries have used up the policy. */
bool backoff_exhausted(const struct backoff_policy *p, int tries_made);

#endif
