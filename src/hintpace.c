/*
 * hintpace.c - the token bucket of hintpace.h.  Tokens are whole reads;
 * refill_at is when the next one arrives, so a long quiet time fills the
 * bucket to HINTPACE_BURST and no more.
 */
#include "hintpace.h"

/* Brings the bucket up to `now`. */
static void refill(struct hintpace *p, int64_t interval_ms, int64_t now)
{
    if (interval_ms < 1)
        interval_ms = 1;
    if (!p->started) {
        p->started = true;
        p->tokens = HINTPACE_BURST;
        p->refill_at = now;
        return;
    }
    if (p->tokens >= HINTPACE_BURST) {
        p->refill_at = now;
        return;
    }
    if (now < p->refill_at)
        return;
    int64_t n = 1 + (now - p->refill_at) / interval_ms;
    if (p->tokens + n >= HINTPACE_BURST) {
        p->tokens = HINTPACE_BURST;
        p->refill_at = now;
    } else {
        p->tokens += n;
        p->refill_at += n * interval_ms;
    }
}

bool hintpace_take(struct hintpace *p, int64_t interval_ms, int64_t now)
{
    refill(p, interval_ms, now);
    if (p->tokens <= 0)
        return false;
    if (p->tokens == HINTPACE_BURST)
        p->refill_at = now + (interval_ms < 1 ? 1 : interval_ms);
    p->tokens--;
    return true;
}

int64_t hintpace_wait(const struct hintpace *p, int64_t interval_ms, int64_t now)
{
    struct hintpace q = *p;
    refill(&q, interval_ms, now);
    if (q.tokens > 0)
        return 0;
    return q.refill_at > now ? q.refill_at - now : 0;
}

int64_t hintpace_bound(int64_t elapsed_ms, int64_t interval_ms)
{
    if (interval_ms < 1)
        interval_ms = 1;
    if (elapsed_ms < 0)
        elapsed_ms = 0;
    return HINTPACE_BURST + elapsed_ms / interval_ms;
}
