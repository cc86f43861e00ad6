/*
 * store_wal.c - the state database's write-ahead log as Litestream sees it:
 * whether Litestream has been at this database (its `_litestream_seq`
 * table, its `.NAME-litestream` folder beside the file), handing
 * checkpoints over to it (no automatic checkpoints, none when the
 * connection closes), the size of the -wal file, and the TRUNCATE
 * checkpoint the daemon still runs itself when that file grows past its
 * bound (Litestream stopped or fell far behind).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_priv.h"

/* SQLite's own default (pages), restored when Litestream is not used. */
#define DEFAULT_AUTOCHECKPOINT 1000

/* "DIR/.NAME-litestream" for "DIR/NAME" (caller frees). */
static char *meta_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xasprintf(".%s-litestream", path);
    return xasprintf("%.*s/.%s-litestream", (int)(slash - path), path, slash + 1);
}

int store_litestream_detected(struct store *s, bool *found)
{
    *found = false;
    struct stat sb;
    char *dir = meta_dir(s->path);
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        *found = true;
    free(dir);
    if (*found)
        return 0;
    int rc = 0;
    sqlite3_stmt *st = store_stmt(
        s, STMT_LITESTREAM_SEQ,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_litestream_seq'", &rc);
    if (!st)
        return rc;
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : store_fail(s, r, "looking for Litestream");
    store_done(st);
    return rc;
}

/*
 * With Litestream on, only Litestream checkpoints: an application
 * checkpoint could copy WAL frames into the database before Litestream has
 * shipped them, and Litestream would then have to start a new generation
 * (a full snapshot).  The connection's close is kept from checkpointing
 * and deleting the WAL for the same reason.
 */
int store_set_litestream(struct store *s, bool on)
{
    char sql[64];
    /* Pragmas take no bound parameters; the value is our own constant. */
    snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %d", on ? 0 : DEFAULT_AUTOCHECKPOINT);
    int r = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (r != SQLITE_OK)
        return store_fail(s, r, "setting wal_autocheckpoint");
    r = sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, on ? 1 : 0, NULL);
    return r == SQLITE_OK ? 0 : store_fail(s, r, "setting no-checkpoint-on-close");
}

int64_t store_wal_size(struct store *s)
{
    char *wal = xasprintf("%s-wal", s->path);
    struct stat sb;
    int64_t size = stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0;
    free(wal);
    return size;
}

/*
 * The checkpoint waits at most busy_ms for readers (Litestream holds one
 * while it runs): the daemon's loop must not stall for the full busy
 * timeout.  A checkpoint that could not finish is no error: it is tried
 * again on the next tick.
 */
int store_wal_truncate(struct store *s, int busy_ms, bool *done)
{
    *done = false;
    int log_frames = -1, copied = -1;
    sqlite3_busy_timeout(s->db, busy_ms);
    int r =
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &copied);
    sqlite3_busy_timeout(s->db, s->busy_timeout_ms);
    if (r == SQLITE_OK) {
        *done = true;
        return 0;
    }
    if ((r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED)
        return 0;
    return store_fail(s, r, "truncating the WAL");
}
