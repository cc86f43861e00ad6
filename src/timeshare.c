/*
 * timeshare.c - a share of each second of the event loop (see
 * timeshare.h).  Fixed one-second windows rather than a sliding one: the
 * bound is what a window may hold, and one piece of work that runs over
 * the limit only delays the next admission to the next window, so the
 * loop's share over any two seconds stays below twice the limit plus the
 * longest single piece.
 */
#include "timeshare.h"

void timeshare_init(struct timeshare *t)
{
    t->window_start_ms = INT64_MIN;
    t->used_us = 0;
}

/* Moves to the window holding now_ms (a clock that went back starts one). */
static void roll(struct timeshare *t, int64_t now_ms)
{
    if (t->window_start_ms == INT64_MIN || now_ms < t->window_start_ms ||
        now_ms - t->window_start_ms >= TIMESHARE_WINDOW_MS) {
        t->window_start_ms = now_ms;
        t->used_us = 0;
    }
}

bool timeshare_admit(struct timeshare *t, int64_t now_ms, int64_t limit_us, int64_t *retry_ms)
{
    roll(t, now_ms);
    if (t->used_us < limit_us)
        return true;
    if (retry_ms) {
        int64_t left = t->window_start_ms + TIMESHARE_WINDOW_MS - now_ms;
        *retry_ms = left > 0 ? left : 1;
    }
    return false;
}

void timeshare_spend(struct timeshare *t, int64_t now_ms, int64_t used_us)
{
    roll(t, now_ms);
    if (used_us > 0)
        t->used_us += used_us;
}
