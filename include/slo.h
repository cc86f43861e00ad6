/*
 * slo.h - the error budget, pure: no I/O, no clock.  The SLI is the share
 * of operations (VOMO requests and record deliveries that ended after
 * their in-cycle retries) that did not end in an error of the integration;
 * failures caused by the record's own data count as operations, not as
 * errors.  [slo] target (99.5%) allows an error rate of 1 - target; the
 * burn rate of a window is its error rate divided by that allowance, and
 * the budget consumed over [slo] window (30 days) is the burn of that
 * window (1.0 = all of it).
 *
 * Alerts follow the multi-window pairs of the SRE workbook: burn > 14.4
 * over 1 h and 5 min (page), > 6 over 6 h and 30 min (page), > 1 over 3
 * days and 6 h (ticket); a pair needs min_operations in its long window,
 * so a tenant with three requests does not page on one failure.
 *
 * Actions per tenant (slo_step): consumed 100-200%: debug logging for
 * debug_for once per entry into that band; above 200% with
 * pause_on_exhausted = writes: the tenant's writes pause until the
 * consumption falls below 100% or an operator resumes the tenant (a
 * resume asked for after the pause began); a resumed tenant is not paused
 * again before its consumption has fallen below 100% once.
 */
#ifndef VOMO_SLO_H
#define VOMO_SLO_H

#include <stdbool.h>
#include <stdint.h>

enum slo_window { SLO_W_5M, SLO_W_30M, SLO_W_1H, SLO_W_6H, SLO_W_3D, SLO_W_BUDGET, SLO_W_COUNT };
const char *slo_window_name(enum slo_window w); /* "5m" ... "3d", "budget" */

struct slo_params {
    double target;                  /* 0.995 */
    int64_t window_ms[SLO_W_COUNT]; /* 5m, 30m, 1h, 6h, 3d, [slo] window */
    int64_t min_operations;         /* 100 */
    int64_t debug_for_ms;           /* 30m */
    bool pause_writes;              /* pause_on_exhausted = writes */
};
void slo_defaults(struct slo_params *p);

struct slo_counts {
    int64_t ops[SLO_W_COUNT];
    int64_t errors[SLO_W_COUNT];
};

enum slo_action { SLO_ACT_NONE, SLO_ACT_DEBUG, SLO_ACT_PAUSE };
const char *slo_action_name(enum slo_action a); /* none, debug_logging, writes_paused */

struct slo_result {
    double burn[SLO_W_COUNT];
    double consumed;  /* burn over the budget window */
    double remaining; /* 1 - consumed (below 0 when overspent) */
    bool volume_ok;   /* the budget window has min_operations */
    bool page;        /* a page pair holds (14.4: 1h & 5m, 6: 6h & 30m) */
    bool ticket;      /* the ticket pair holds (1: 3d & 6h) */
    int level;        /* ErrorBudgetBurn: 0 none, 1 warning, 2 critical */
    char why[160];    /* what holds, for the alert's summary */
};

/* errors / ops / (1 - target); 0 when ops is 0. */
double slo_burn(int64_t ops, int64_t errors, double target);
void slo_compute(const struct slo_params *p, const struct slo_counts *c, struct slo_result *out);

/* The per-tenant state of the actions. */
struct slo_tenant {
    bool in_warning_band; /* consumed was >= 100% at the last step */
    int64_t debug_until;  /* debug logging while now < debug_until */
    bool paused;
    int64_t paused_at;
    bool resumed; /* an operator resumed it: no new pause until below 100% */
};
enum slo_change { SLO_CH_NONE = 0, SLO_CH_DEBUG = 1, SLO_CH_PAUSE = 2, SLO_CH_UNPAUSE = 4 };
/*
 * Advances the actions of one tenant at now with its result; resume_at is
 * when an operator last asked to resume the tenant (0: never).  Returns
 * the SLO_CH_* bits of what changed (DEBUG: debug logging begins until
 * st->debug_until).
 */
unsigned slo_step(const struct slo_params *p, const struct slo_result *r, int64_t resume_at,
                  int64_t now, struct slo_tenant *st);
/* The action in force. */
enum slo_action slo_action(const struct slo_tenant *st, int64_t now);

#endif
