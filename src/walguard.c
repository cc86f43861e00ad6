/*
 * walguard.c - hands the state database's checkpoints to Litestream when it
 * replicates the file, with a backstop (see walguard.h).  Litestream copies
 * WAL frames off the box before it checkpoints them; a checkpoint by the
 * application could move frames into the database first and force
 * Litestream into a new generation.  So with Litestream on, SQLite's
 * automatic checkpoints are off; synchronous=FULL stays, as local
 * durability does not depend on who checkpoints.  Litestream checkpoints
 * on its own schedule; only when the WAL passes litestream_wal_max
 * (Litestream stopped, or far behind) does the daemon truncate it itself.
 */
#include "walguard.h"

#include "log.h"
#include "util.h"

struct walguard_step walguard_decide(enum litestream_mode mode, bool detected, int64_t wal_bytes,
                                     int64_t wal_max)
{
    struct walguard_step step = {.on = mode == LITESTREAM_ON ||
                                       (mode == LITESTREAM_AUTO && detected)};
    step.truncate = step.on && wal_bytes > wal_max;
    return step;
}

static void apply_mode(struct walguard *g, bool on)
{
    if (on == g->on)
        return;
    if (store_set_litestream(g->store, on) < 0)
        return; /* logged by the store; tried again on the next tick */
    g->on = on;
    if (on)
        log_info("litestream: checkpoints are left to Litestream (wal_autocheckpoint = 0); the "
                 "daemon truncates the WAL itself only past %lld bytes",
                 (long long)g->wal_max);
    else
        log_info("litestream: off; SQLite checkpoints the WAL itself");
}

static void truncate_wal(struct walguard *g, int64_t wal_bytes)
{
    bool done = false;
    if (store_wal_truncate(g->store, WALGUARD_BUSY_MS, &done) < 0)
        return;
    if (done) {
        g->truncations++;
        g->busy_logged = false;
        log_warn("litestream: the WAL had grown to %lld bytes (litestream_wal_max %lld): "
                 "truncated it; is Litestream running? It starts a new generation (a full "
                 "snapshot) when it next sees the database",
                 (long long)wal_bytes, (long long)g->wal_max);
    } else if (!g->busy_logged) {
        g->busy_logged = true;
        log_warn("litestream: the WAL has grown to %lld bytes (litestream_wal_max %lld) and a "
                 "reader keeps it from being truncated; retrying every %d ms",
                 (long long)wal_bytes, (long long)g->wal_max, WALGUARD_INTERVAL_MS);
    }
}

static void tick(struct walguard *g)
{
    bool detected = false;
    if (g->mode == LITESTREAM_AUTO && !g->on && store_litestream_detected(g->store, &detected) < 0)
        return;
    if (g->mode == LITESTREAM_AUTO && g->on)
        detected = true; /* once seen, Litestream stays in charge until a restart */
    int64_t wal = store_wal_size(g->store);
    struct walguard_step step = walguard_decide(g->mode, detected, wal, g->wal_max);
    apply_mode(g, step.on);
    if (step.truncate && g->on)
        truncate_wal(g, wal);
}

static void on_tick(uv_timer_t *timer)
{
    tick(container_of(timer, struct walguard, timer));
}

void walguard_init(struct walguard *g, uv_loop_t *loop, struct store *store)
{
    *g = (struct walguard){.store = store, .mode = LITESTREAM_OFF};
    uv_timer_init(loop, &g->timer);
}

void walguard_configure(struct walguard *g, const struct config *cfg)
{
    g->mode = cfg->litestream;
    g->wal_max = cfg->litestream_wal_max;
}

void walguard_start(struct walguard *g, const struct config *cfg)
{
    walguard_configure(g, cfg);
    tick(g);
    uv_timer_start(&g->timer, on_tick, WALGUARD_INTERVAL_MS, WALGUARD_INTERVAL_MS);
}

void walguard_close(struct walguard *g, uv_close_cb closed)
{
    uv_timer_stop(&g->timer);
    uv_close((uv_handle_t *)&g->timer, closed);
}
