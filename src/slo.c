/*
 * slo.c - the error budget's arithmetic and actions (see slo.h).
 */
#include "slo.h"

#include <stdio.h>

#include "util.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)

static const char *const window_names[SLO_W_COUNT] = {"5m", "30m", "1h", "6h", "3d", "budget"};
static const char *const action_names[] = {"none", "debug_logging", "writes_paused"};

/* The workbook's pairs: long window, short window, factor, page or ticket. */
static const struct {
    enum slo_window lw, sw;
    double factor;
    bool page;
} pairs[] = {
    {SLO_W_1H, SLO_W_5M, 14.4, true},
    {SLO_W_6H, SLO_W_30M, 6, true},
    {SLO_W_3D, SLO_W_6H, 1, false},
};

const char *slo_window_name(enum slo_window w)
{
    return (unsigned)w < SLO_W_COUNT ? window_names[w] : "?";
}

const char *slo_action_name(enum slo_action a)
{
    return (unsigned)a < ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

void slo_defaults(struct slo_params *p)
{
    *p = (struct slo_params){
        .target = 0.995,
        .window_ms = {5 * MIN_MS, 30 * MIN_MS, HOUR_MS, 6 * HOUR_MS, 72 * HOUR_MS, 720 * HOUR_MS},
        .min_operations = 100,
        .debug_for_ms = 30 * MIN_MS};
}

double slo_burn(int64_t ops, int64_t errors, double target)
{
    if (ops <= 0 || target >= 1.0)
        return 0;
    return ((double)errors / (double)ops) / (1.0 - target);
}

void slo_compute(const struct slo_params *p, const struct slo_counts *c, struct slo_result *out)
{
    *out = (struct slo_result){0};
    for (int w = 0; w < SLO_W_COUNT; w++)
        out->burn[w] = slo_burn(c->ops[w], c->errors[w], p->target);
    out->consumed = out->burn[SLO_W_BUDGET];
    out->remaining = 1.0 - out->consumed;
    out->volume_ok = c->ops[SLO_W_BUDGET] >= p->min_operations;
    for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
        if (c->ops[pairs[i].lw] < p->min_operations)
            continue;
        if (out->burn[pairs[i].lw] > pairs[i].factor && out->burn[pairs[i].sw] > pairs[i].factor) {
            if (pairs[i].page)
                out->page = true;
            else
                out->ticket = true;
            if (!out->why[0])
                snprintf(out->why, sizeof(out->why), "burn %.1f over %s and %.1f over %s (> %g)",
                         out->burn[pairs[i].lw], window_names[pairs[i].lw], out->burn[pairs[i].sw],
                         window_names[pairs[i].sw], pairs[i].factor);
        }
    }
    int by_budget = !out->volume_ok ? 0 : out->consumed > 2.0 ? 2 : out->consumed > 1.0 ? 1 : 0;
    int by_pairs = out->page ? 2 : out->ticket ? 1 : 0;
    out->level = by_budget > by_pairs ? by_budget : by_pairs;
    if (by_budget >= by_pairs && by_budget > 0)
        snprintf(out->why, sizeof(out->why), "%.0f%% of the error budget consumed",
                 out->consumed * 100.0);
}

unsigned slo_step(const struct slo_params *p, const struct slo_result *r, int64_t resume_at,
                  int64_t now, struct slo_tenant *st)
{
    unsigned ch = SLO_CH_NONE;
    bool over100 = r->volume_ok && r->consumed >= 1.0;
    bool over200 = r->volume_ok && r->consumed > 2.0;
    if (over100 && !st->in_warning_band) {
        st->debug_until = now + p->debug_for_ms;
        ch |= SLO_CH_DEBUG;
    }
    st->in_warning_band = over100;
    if (!over100)
        st->resumed = false; /* the next exhaustion pauses again */
    if (st->paused) {
        bool resumed = resume_at > 0 && resume_at >= st->paused_at;
        if (!over100 || !p->pause_writes || resumed) {
            st->paused = false;
            st->resumed = resumed && over100;
            ch |= SLO_CH_UNPAUSE;
        }
    } else if (p->pause_writes && over200 && !st->resumed) {
        st->paused = true;
        st->paused_at = now;
        ch |= SLO_CH_PAUSE;
    }
    return ch;
}

enum slo_action slo_action(const struct slo_tenant *st, int64_t now)
{
    if (st->paused)
        return SLO_ACT_PAUSE;
    if (now < st->debug_until)
        return SLO_ACT_DEBUG;
    return SLO_ACT_NONE;
}
