/*
 * backoff.c - exponential backoff with full jitter for the in-cycle retries
 * of one request ([retry] in the configuration).  Full jitter (a delay
 * drawn uniformly from [0, ceiling]) is what keeps many workers that failed
 * together from retrying together: the AWS architecture blog's comparison
 * showed it spreads load best for the least total wait.  The random value
 * is a parameter, so the policy is pure and tests are deterministic.
 */
#include "backoff.h"

/*
 * min(max_ms, base_ms * 2^(retry-1)), computed by doubling so that no retry
 * number, however large, can overflow: the loop stops once the cap is
 * reached, which takes at most 63 doublings.  A retry number below 1 is
 * treated as the first retry; a non-positive base or max gives 0.
 */
int64_t backoff_ceiling(const struct backoff_policy *p, int retry)
{
    int64_t c = p->base_ms;

    if (c <= 0 || p->max_ms <= 0)
        return 0;
    for (int i = 1; i < retry && c < p->max_ms; i++)
        c = c > p->max_ms / 2 ? p->max_ms : c * 2;
    return c < p->max_ms ? c : p->max_ms;
}

/* Uniform over [0, ceiling], both ends included. */
int64_t backoff_delay(const struct backoff_policy *p, int retry, uint64_t r)
{
    uint64_t span = (uint64_t)backoff_ceiling(p, retry) + 1;

    return (int64_t)(r % span);
}

bool backoff_exhausted(const struct backoff_policy *p, int tries_made)
{
    return tries_made >= p->max_attempts;
}
