/*
 * outbox_load.h - a load run of the outbox shared by check_outbox (which
 * asserts on it) and bench_outbox (which prints it): 1,000 intents (400
 * user upserts, 300 group creates, 100 groups updated twice, 100 project
 * creates) queued at once, `fault_share` of the write requests faulted at
 * the fake (responses lost after applying, 503s, resets), the engine
 * stopped and started `restarts` times along the way, then VOMO's state
 * compared with the intents.
 */
#ifndef VOMO_OUTBOX_LOAD_H
#define VOMO_OUTBOX_LOAD_H

#include <stdint.h>

#include "testutil.h"

struct ol_result {
    int writes;
    int done;         /* rows done at the end */
    int wrong;        /* intents not in the fake exactly once, as intended */
    int64_t requests; /* write requests and searches VOMO received */
    double seconds;   /* from queueing to the last write settled, restarts included */
    char detail[256]; /* the first mismatch */
};

/* env: initialised, fake not started.  Runs everything; asserts nothing. */
void ol_run(struct tu_env *env, int restarts, double fault_share, struct ol_result *out);

#endif
