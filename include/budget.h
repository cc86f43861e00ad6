/*
 * budget.h - a retry budget per tenant: a token bucket in the spirit of the
 * AWS SDKs' retry quota.  Retries spend tokens, successes earn them back, so
 * during a broad failure the daemon sends few retries instead of
 * multiplying its load.  No clock: refills come only from successes.
 */
#ifndef VOMO_BUDGET_H
#define VOMO_BUDGET_H

#include <stdbool.h>

struct retry_budget {
    int capacity;
    int tokens;
    int cost;   /* tokens one retry spends */
    int refill; /* tokens one success earns (up to capacity) */
};

void budget_init(struct retry_budget *b, int capacity, int cost, int refill);
/* Spends for one retry: true when allowed, false when exhausted. */
bool budget_try_spend(struct retry_budget *b);
void budget_on_success(struct retry_budget *b);

#endif
