/*
 * walguard.h - keeps the state database a good Litestream citizen.  With
 * `[daemon] litestream = on` (or `auto` and Litestream's traces found) the
 * daemon leaves checkpoints to Litestream and only truncates the WAL itself
 * once it passes `litestream_wal_max`, so a stopped Litestream cannot let
 * it grow without limit.  A timer on the engine's loop checks every
 * WALGUARD_INTERVAL_MS; `auto` is looked at again on each tick, so a
 * Litestream started after the daemon is noticed.
 *
 * Ownership: struct walguard is embedded in its owner (the engine), which
 * also owns the store; walguard_close() closes the timer and calls `closed`
 * with the timer handle (its ->data is the owner's).
 */
#ifndef VOMO_WALGUARD_H
#define VOMO_WALGUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "store.h"

#define WALGUARD_INTERVAL_MS 1000
#define WALGUARD_BUSY_MS 100 /* longest wait for readers of one truncation */

struct walguard {
    uv_timer_t timer;
    struct store *store;
    enum litestream_mode mode;
    int64_t wal_max;
    bool on;          /* checkpoints are left to Litestream now */
    bool busy_logged; /* a truncation kept failing: said once */
    int64_t truncations;
};

/* What one tick does, decided from what it saw (pure). */
struct walguard_step {
    bool on;       /* Litestream mode in force after the tick */
    bool truncate; /* run the TRUNCATE checkpoint */
};
struct walguard_step walguard_decide(enum litestream_mode mode, bool detected, int64_t wal_bytes,
                                     int64_t wal_max);

void walguard_init(struct walguard *g, uv_loop_t *loop, struct store *store);
/* Applies the configuration at once (first tick now) and starts the timer. */
void walguard_start(struct walguard *g, const struct config *cfg);
/* A reloaded configuration: mode and bound take effect on the next tick. */
void walguard_configure(struct walguard *g, const struct config *cfg);
void walguard_close(struct walguard *g, uv_close_cb closed);

#endif
