/*
 * workgate.c - the breaker gate shared by the DLQ and outbox processors
 * (see workgate.h).
 */
#include "workgate.h"

enum workgate workgate_breaker(const struct breaker *b, int64_t now)
{
    if (b->state == BREAKER_CLOSED)
        return WORKGATE_OPEN;
    if (b->state == BREAKER_OPEN && now < breaker_next_probe_at(b))
        return WORKGATE_SHUT;
    return WORKGATE_PROBE;
}

enum workgate workgate_worst(enum workgate a, enum workgate b)
{
    return a > b ? a : b;
}

bool workgate_admits(enum workgate g, int running)
{
    return g == WORKGATE_OPEN || (g == WORKGATE_PROBE && running == 0);
}
