/*
 * budget.c - the per-tenant retry budget, a token bucket in the spirit of
 * the AWS SDKs' retry quota.  Each retry spends `cost` tokens and each
 * success earns `refill` back, up to `capacity`.  While everything fails
 * nothing is earned, so after capacity / cost retries the tenant sends only
 * first attempts: a broad outage does not multiply the load on VOMO or on a
 * destination.  There is no clock: only successes refill.
 */
#include "budget.h"

/* Starts full.  Negative numbers are treated as 0. */
void budget_init(struct retry_budget *b, int capacity, int cost, int refill)
{
    b->capacity = capacity > 0 ? capacity : 0;
    b->tokens = b->capacity;
    b->cost = cost > 0 ? cost : 0;
    b->refill = refill > 0 ? refill : 0;
}

/* Spends nothing when the tokens do not cover one retry. */
bool budget_try_spend(struct retry_budget *b)
{
    if (b->tokens < b->cost)
        return false;
    b->tokens -= b->cost;
    return true;
}

void budget_on_success(struct retry_budget *b)
{
    int room = b->capacity - b->tokens;

    b->tokens += b->refill < room ? b->refill : room;
}
