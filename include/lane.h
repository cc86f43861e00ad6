/*
 * lane.h - a gated FIFO of jobs on the event loop.  A lane admits a job
 * only when every gate agrees: fewer than max_in_flight jobs running, the
 * job's own not_before reached, the token's rate gate open, the circuit
 * breaker allowing, and the lane not paused (a paused lane lets one probe
 * through once its pause ends).  When nothing can start, one timer wakes
 * the lane at the earliest instant something could.
 *
 * VOMO requests of a tenant share one lane (with the global VOMO breaker
 * and the tenant's rate gate); a webhook tenant's deliveries share another
 * (with the tenant's destination breaker).  Ownership: the lane is embedded
 * in its owner; jobs are embedded in their owners and must stay alive until
 * started or cancelled.  All times (not_before, paused_until, the gates'
 * `now`) are monotonic milliseconds (clock_mono_ms): a step of the system
 * clock neither holds a lane longer nor lets it out early.
 */
#ifndef VOMO_LANE_H
#define VOMO_LANE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "breaker.h"
#include "rategate.h"

struct lane_job {
    struct lane_job *next;
    int64_t not_before;
    bool breaker_probe;                   /* set when admitted as a half-open breaker's probe */
    bool pause_probe;                     /* set when admitted as a paused lane's one probe */
    int64_t gate_seq;                     /* the rate gate's sequence number of its start */
    void (*start)(struct lane_job *job);  /* admitted: the lane counts it in flight */
    void (*cancel)(struct lane_job *job); /* dropped by lane_cancel_all, never started */
};

struct lane {
    uv_timer_t timer;
    const char *name; /* for logs, e.g. "vomo:acme" */
    int max_in_flight;
    int in_flight;
    struct lane_job *head;
    struct breaker *breaker; /* may be NULL; may be shared by lanes */
    const char *breaker_name;
    struct rategate *gate; /* may be NULL */
    bool paused;
    int64_t paused_until;
    bool probing;
    bool pumping, repump, closing;
    bool stopped; /* lane_stop: jobs are cancelled, not queued */
    /* Called on every breaker transition the lane causes (may be NULL). */
    void (*on_breaker_event)(struct lane *l, enum breaker_event ev);
    void *data;
    struct lane *next_lane; /* registry for lane_wake_all */
};

void lane_init(struct lane *l, uv_loop_t *loop, const char *name, int max_in_flight);
void lane_push(struct lane *l, struct lane_job *job);
/* A started job finished: frees its slot and admits what can start.
 * pause_probe is the job's flag of that name, read before the job was
 * retried or freed: the probe of a paused lane that ended without a
 * verdict (its owner neither resumed nor paused the lane again, e.g. a
 * 503) gives its slot back, so the next job is the next probe. */
void lane_done(struct lane *l, bool pause_probe);
void lane_pump(struct lane *l);
/* Pumps every lane (a shared breaker changed state). */
void lane_wake_all(void);
/* Pauses until `until`; then one probe job is admitted, and the lane stays
 * paused until lane_resume() or another lane_pause(). */
void lane_pause(struct lane *l, int64_t until);
void lane_resume(struct lane *l);
/* Cancels every queued job and every job pushed later, until lane_restart()
 * (a tenant whose token was refused sends nothing more). */
void lane_stop(struct lane *l);
void lane_restart(struct lane *l);
/* Drops every queued job (calling its cancel) and admits nothing more. */
void lane_cancel_all(struct lane *l);
/* Closes the timer; on_closed (may be NULL) runs from the loop. */
void lane_close(struct lane *l, uv_close_cb on_closed);

#endif
