/*
 * workgate.h - whether a background processor (the DLQ's, the outbox's)
 * may start work for a tenant now, given a circuit breaker: closed lets
 * everything through, open before its probe time nothing, and open past it
 * (or half-open) one job as the probe, which the lane's breaker_allow()
 * then moves on.  A quiet tenant has only this background work to probe
 * with, so holding it until the breaker closes by itself would hold it
 * forever.  Work that is held is not attempted, so it spends no attempts.
 * Pure: now is a parameter.
 */
#ifndef VOMO_WORKGATE_H
#define VOMO_WORKGATE_H

#include <stdbool.h>
#include <stdint.h>

#include "breaker.h"

enum workgate { WORKGATE_OPEN, WORKGATE_PROBE, WORKGATE_SHUT };

enum workgate workgate_breaker(const struct breaker *b, int64_t now);
/* The stricter of two gates. */
enum workgate workgate_worst(enum workgate a, enum workgate b);
/* Whether one more job may start while `running` jobs of the same tenant
 * run: never when shut, only as the single probe when probing. */
bool workgate_admits(enum workgate g, int running);

#endif
