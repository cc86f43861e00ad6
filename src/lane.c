/*
 * lane.c - the gated job queue described in lane.h.  The pump walks the
 * queue in order and starts every job that all gates admit; a job held by
 * its own not_before does not block the jobs behind it, but a closed gate
 * (rate gate, breaker, pause) holds the whole lane.
 */
#include "lane.h"

#include <limits.h>

#include "log.h"
#include "util.h"

static struct lane *all_lanes;

static void on_timer(uv_timer_t *t)
{
    lane_pump(container_of(t, struct lane, timer));
}

void lane_init(struct lane *l, uv_loop_t *loop, const char *name, int max_in_flight)
{
    *l = (struct lane){.name = name, .max_in_flight = max_in_flight > 0 ? max_in_flight : 1};
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->next_lane = all_lanes;
    all_lanes = l;
}

void lane_push(struct lane *l, struct lane_job *job)
{
    if (l->stopped || l->closing) {
        job->cancel(job);
        return;
    }
    job->next = NULL;
    job->breaker_probe = false;
    job->pause_probe = false;
    struct lane_job **pp = &l->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = job;
    lane_pump(l);
}

void lane_done(struct lane *l, bool pause_probe)
{
    if (l->in_flight > 0)
        l->in_flight--;
    if (pause_probe)
        l->probing = false;
    lane_pump(l);
}

static void report(struct lane *l, enum breaker_event ev)
{
    if (ev != BREAKER_EV_NONE && l->on_breaker_event)
        l->on_breaker_event(l, ev);
}

/*
 * Whether the lane-wide gates admit a job now; if not, *wake is lowered to
 * the instant they might (INT64_MAX when only an event can open them).
 */
static bool gates_open(struct lane *l, int64_t now, int64_t *wake)
{
    if (l->paused) {
        if (now < l->paused_until) {
            *wake = l->paused_until < *wake ? l->paused_until : *wake;
            return false;
        }
        if (l->probing)
            return false;
    }
    if (l->gate) {
        int64_t t = rategate_next_start(l->gate, now);
        if (t > now) {
            *wake = t < *wake ? t : *wake;
            return false;
        }
    }
    if (l->breaker) {
        enum breaker_event ev = BREAKER_EV_NONE;
        bool ok = breaker_allow(l->breaker, now, &ev);
        report(l, ev);
        if (!ok) {
            int64_t t = breaker_next_probe_at(l->breaker);
            if (t > now && t < *wake)
                *wake = t;
            return false;
        }
    }
    return true;
}

static void admit(struct lane *l, struct lane_job *job, int64_t now)
{
    l->in_flight++;
    /* The one job a half-open breaker lets through is its probe: only its
     * answer may close or re-open the breaker. */
    job->breaker_probe = l->breaker && l->breaker->state == BREAKER_HALF_OPEN;
    job->pause_probe = l->paused;
    if (l->paused)
        l->probing = true; /* the one job a paused lane lets out */
    if (l->gate)
        job->gate_seq = rategate_on_start(l->gate, now);
    job->start(job);
}

void lane_pump(struct lane *l)
{
    if (l->closing || l->stopped)
        return;
    if (l->pumping) {
        l->repump = true;
        return;
    }
    l->pumping = true;
    int64_t wake;
    do {
        l->repump = false;
        wake = INT64_MAX;
        int64_t now = clock_mono_ms();
        struct lane_job **pp = &l->head;
        while (*pp && l->in_flight < l->max_in_flight && !l->closing) {
            struct lane_job *job = *pp;
            if (job->not_before > now) {
                wake = job->not_before < wake ? job->not_before : wake;
                pp = &job->next;
                continue;
            }
            if (!gates_open(l, now, &wake))
                break;
            *pp = job->next;
            admit(l, job, now);
            pp = &l->head; /* the job may have changed the queue */
        }
    } while (l->repump && !l->closing);
    l->pumping = false;
    if (l->closing)
        return;
    if (wake == INT64_MAX) {
        uv_timer_stop(&l->timer);
    } else {
        int64_t delay = wake - clock_mono_ms();
        uv_timer_start(&l->timer, on_timer, delay > 0 ? (uint64_t)delay : 0, 0);
    }
}

void lane_wake_all(void)
{
    for (struct lane *l = all_lanes; l; l = l->next_lane)
        lane_pump(l);
}

void lane_pause(struct lane *l, int64_t until)
{
    l->paused = true;
    l->paused_until = until;
    l->probing = false;
    lane_pump(l);
}

void lane_resume(struct lane *l)
{
    l->paused = false;
    l->probing = false;
    lane_pump(l);
}

static void cancel_queued(struct lane *l)
{
    while (l->head) {
        struct lane_job *job = l->head;
        l->head = job->next;
        job->cancel(job);
    }
}

void lane_stop(struct lane *l)
{
    l->stopped = true;
    uv_timer_stop(&l->timer);
    cancel_queued(l);
}

void lane_restart(struct lane *l)
{
    l->stopped = false;
    lane_pump(l);
}

void lane_cancel_all(struct lane *l)
{
    l->closing = true;
    uv_timer_stop(&l->timer);
    cancel_queued(l);
}

void lane_close(struct lane *l, uv_close_cb on_closed)
{
    lane_cancel_all(l);
    for (struct lane **pp = &all_lanes; *pp; pp = &(*pp)->next_lane)
        if (*pp == l) {
            *pp = l->next_lane;
            break;
        }
    uv_close((uv_handle_t *)&l->timer, on_closed);
}
