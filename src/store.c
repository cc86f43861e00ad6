/*
 * store.c - opening the state database and keeping its schema current:
 * pragmas (WAL, synchronous=FULL, busy timeout, foreign keys), the
 * application_id that marks a file as ours, the embedded migrations, the
 * transactions the daemon wraps around each page, and the shared plumbing of
 * the store module (statement cache, error mapping, binding helpers).
 * The queries themselves live in store_records.c, store_dlq.c and
 * store_state.c.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "migrations.h"
#include "store_priv.h"

/* Why the last store_open() / store_open_existing() failed (store_errmsg(NULL)). */
static _Thread_local char open_errmsg[512];
static int log_errors = 1;

void store_set_log_errors(int on)
{
    log_errors = on;
}

const char *store_errmsg(struct store *s)
{
    return s ? s->errmsg : open_errmsg;
}

sqlite3 *store_db(struct store *s)
{
    return s->db;
}

void store_set_busy_timeout(struct store *s, int ms)
{
    s->busy_timeout_ms = ms;
    sqlite3_busy_timeout(s->db, ms);
}

static int map_rc(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    default:
        return -EIO;
    }
}

int store_fail(struct store *s, int sqlite_rc, const char *what)
{
    const char *msg = sqlite3_errstr(sqlite_rc);
    if (s->db && sqlite3_extended_errcode(s->db) == sqlite_rc)
        msg = sqlite3_errmsg(s->db);
    int rc = map_rc(sqlite_rc);
    if (rc == -EBUSY)
        snprintf(s->errmsg, sizeof(s->errmsg),
                 "%s: %s: the state database %s stayed locked by another process", what, msg,
                 s->path);
    else
        snprintf(s->errmsg, sizeof(s->errmsg), "%s: %s (state database %s)", what, msg, s->path);
    if (log_errors)
        log_error("%s", s->errmsg);
    return rc;
}

/* Records an error that is not an SQLite result code (e.g. -EINVAL). */
static int store_fail_errno(struct store *s, int rc, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int store_fail_errno(struct store *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
    if (log_errors)
        log_error("%s", s->errmsg);
    return rc;
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, const char *sql, int *rc)
{
    if (!s->stmts[id]) {
        int r = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
        if (r != SQLITE_OK) {
            sqlite3_finalize(s->stmts[id]);
            s->stmts[id] = NULL;
            *rc = store_fail(s, r, "preparing a query");
            return NULL;
        }
    }
    return s->stmts[id];
}

void store_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int store_exec_stmt(struct store *s, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE || r == SQLITE_ROW ? 0 : store_fail(s, r, what);
    store_done(st);
    return rc;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (!v)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int store_bind_ref(sqlite3_stmt *st, int i, const char *v)
{
    if (!v)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

int store_bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    return store_bind_text(st, i, v && *v ? v : NULL);
}

void store_col_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    size_t n = v ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(out, v, n);
    out[n] = '\0';
}

void store_col_ts(sqlite3_stmt *st, int i, char out[TS_LEN])
{
    store_col_copy(st, i, out, TS_LEN);
}

char *store_col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? xstrdup((const char *)v) : NULL;
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? (const char *)v : "";
}

int64_t store_col_ms(sqlite3_stmt *st, int i)
{
    int64_t ms = 0;
    if (sqlite3_column_type(st, i) == SQLITE_NULL || ts_parse(store_col_text(st, i), &ms) < 0)
        return 0;
    return ms;
}

void store_bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
    char ts[TS_LEN];
    ts_format(ms, ts);
    sqlite3_bind_text(st, i, ts, -1, SQLITE_TRANSIENT);
}

int store_prepare_once(struct store *s, const char *sql, sqlite3_stmt **st, const char *what)
{
    int r = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return r == SQLITE_OK ? 0 : store_fail(s, r, what);
}

int store_run_once(struct store *s, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : store_fail(s, r, what);
}

/* Runs a constant statement (a pragma or transaction control) once. */
static int exec_once(struct store *s, const char *sql, const char *what)
{
    int r = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return r == SQLITE_OK ? 0 : store_fail(s, r, what);
}

/* Reads a constant pragma (or query) that returns one integer. */
static int query_int(struct store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    return store_fail(s, r == SQLITE_DONE ? SQLITE_ERROR : r, "reading the database header");
}

int store_version(struct store *s, int *version)
{
    int64_t v = 0;
    int rc = query_int(s, "PRAGMA user_version", &v);
    if (rc == 0)
        *version = (int)v;
    return rc;
}

/*
 * A file is ours when its application_id says so.  A brand-new (empty)
 * database has application_id 0 and no schema: *fresh tells the caller to
 * claim it (Litestream's own tables do not count: it may have reached a new
 * file first).  Anything else is somebody else's SQLite file and is refused
 * before a single byte of it is changed.
 */
static int check_application_id(struct store *s, int *fresh)
{
    int64_t app = 0, objects = 0, version = 0;
    int rc = query_int(s, "PRAGMA application_id", &app);
    if (rc == 0)
        rc = query_int(s,
                       "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE '\\_litestream\\_%' "
                       "ESCAPE '\\'",
                       &objects);
    if (rc == 0)
        rc = query_int(s, "PRAGMA user_version", &version);
    if (rc < 0)
        return rc;
    *fresh = app == 0 && objects == 0 && version == 0;
    if (app == STORE_APPLICATION_ID || *fresh)
        return 0;
    return store_fail_errno(s, -EINVAL,
                            "%s is not a vomo-sync state database (application_id 0x%08x, "
                            "expected 0x%08x): refusing to use it; point state_db at another file",
                            s->path, (unsigned)app, (unsigned)STORE_APPLICATION_ID);
}

static int set_journal_wal(struct store *s)
{
    sqlite3_stmt *st = NULL;
    int r = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (r == SQLITE_OK)
        r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_fail(s, r, "switching to WAL mode");
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    int ok = mode && strcmp(mode, "wal") == 0;
    char got[16];
    snprintf(got, sizeof(got), "%s", mode ? mode : "?");
    sqlite3_finalize(st);
    if (!ok)
        return store_fail_errno(s, -EIO, "%s: cannot use WAL journal mode (got '%s')", s->path,
                                got);
    return 0;
}

static int configure(struct store *s)
{
    int fresh = 0;
    sqlite3_extended_result_codes(s->db, 1);
    store_set_busy_timeout(s, STORE_BUSY_TIMEOUT_MS);
    int rc = check_application_id(s, &fresh);
    if (rc == 0)
        rc = set_journal_wal(s);
    if (rc == 0)
        rc = exec_once(s, "PRAGMA synchronous = FULL", "setting synchronous=FULL");
    if (rc == 0)
        rc = exec_once(s, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (rc == 0 && fresh) {
        /* Pragmas take no bound parameters; the value is our own constant. */
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        rc = exec_once(s, sql, "setting application_id");
    }
    return rc;
}

static int open_common(const char *path, int flags, struct store **out)
{
    *out = NULL;
    struct store *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    int r = sqlite3_open_v2(path, &s->db, flags, NULL);
    int rc = 0;
    if (r != SQLITE_OK) {
        int sys = s->db ? sqlite3_system_errno(s->db) : 0;
        snprintf(open_errmsg, sizeof(open_errmsg),
                 "cannot open state database %s: %s%s%s (check that its directory exists and "
                 "is writable by this user)",
                 path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(r), sys ? ": " : "",
                 sys ? strerror(sys) : "");
        rc = sys == ENOENT ? -ENOENT : sys == EACCES ? -EACCES : map_rc(r);
    } else {
        rc = configure(s);
        if (rc < 0)
            snprintf(open_errmsg, sizeof(open_errmsg), "%s", s->errmsg);
    }
    if (rc < 0) {
        if (log_errors && r != SQLITE_OK)
            log_error("%s", open_errmsg);
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/*
 * The database holds volunteers' personal data: a new one is created
 * readable by its owner only, whatever the umask (SQLite gives its -wal and
 * -shm files the same mode).
 */
static void create_private(const char *path)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

int store_open(const char *path, struct store **out)
{
    create_private(path);
    return open_common(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, out);
}

int store_open_existing(const char *path, struct store **out)
{
    struct stat sb;
    if (stat(path, &sb) < 0) {
        int err = errno;
        *out = NULL;
        if (err == ENOENT)
            snprintf(open_errmsg, sizeof(open_errmsg),
                     "no state database at %s: run `vomo-sync migrate` or start the daemon", path);
        else
            snprintf(open_errmsg, sizeof(open_errmsg), "cannot open state database %s: %s", path,
                     strerror(err));
        return -err;
    }
    return open_common(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, out);
}

int store_single_thread(void)
{
    if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        return -EBUSY;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static int newer_error(struct store *s, int version)
{
    return store_fail_errno(s, -STORE_ENEWER,
                            "state database %s has schema version %d, newer than this vomo-sync "
                            "(%s knows versions up to %d): upgrade vomo-sync; the database was "
                            "left untouched",
                            s->path, version, VOMO_SYNC_VERSION, migrations_count);
}

/* Applies migration m inside the caller's transaction and records its version. */
static int apply_one(struct store *s, const struct migration *m)
{
    char *err = NULL;
    int r = sqlite3_exec(s->db, m->sql, NULL, NULL, &err);
    if (r != SQLITE_OK) {
        int rc = store_fail_errno(s, map_rc(r), "state database %s: migration %s failed: %s",
                                  s->path, m->name, err ? err : sqlite3_errstr(r));
        sqlite3_free(err);
        return rc;
    }
    /* Pragmas take no bound parameters; the version is our own integer. */
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
    int rc = exec_once(s, sql, "recording the schema version");
    if (rc == 0) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        rc = exec_once(s, sql, "setting application_id");
    }
    return rc;
}

/*
 * Every pending migration in one transaction: the version is read again
 * under the write lock, so a daemon and an operator's `migrate` racing each
 * other apply each step exactly once, and an upgrade is all or nothing.  A
 * fresh database costs one commit (one fsync) instead of one a migration.
 */
int store_migrate(struct store *s, int *from, int *to)
{
    int fresh, start = 0;
    int rc = check_application_id(s, &fresh);
    if (rc == 0)
        rc = store_version(s, &start);
    if (rc < 0)
        return rc;
    if (start > migrations_count)
        return newer_error(s, start);
    int locked = start;
    if (start < migrations_count) {
        if ((rc = store_begin(s)) < 0)
            return rc;
        if ((rc = store_version(s, &locked)) == 0 && locked > migrations_count)
            rc = newer_error(s, locked);
        for (int cur = locked; rc == 0 && cur < migrations_count; cur++)
            rc = apply_one(s, &migrations[cur]);
        if (rc == 0)
            rc = store_commit(s);
        if (rc < 0) {
            store_rollback(s);
            return rc;
        }
        for (int i = locked; i < migrations_count; i++)
            log_info("state database %s: applied migration %s", s->path, migrations[i].name);
    }
    if (from)
        *from = start;
    if (to)
        *to = migrations_count;
    return 0;
}

static int run_control(struct store *s, enum store_stmt_id id, const char *sql, const char *what)
{
    int rc = 0;
    sqlite3_stmt *st = store_stmt(s, id, sql, &rc);
    return st ? store_exec_stmt(s, st, what) : rc;
}

int store_begin(struct store *s)
{
    return run_control(s, STMT_BEGIN, "BEGIN IMMEDIATE", "starting a transaction");
}

int store_commit(struct store *s)
{
    return run_control(s, STMT_COMMIT, "COMMIT", "committing");
}

void store_rollback(struct store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return;
    if (run_control(s, STMT_ROLLBACK, "ROLLBACK", "rolling back") < 0)
        log_warn("state database %s: rollback failed", s->path);
}

int store_read_begin(struct store *s, int *owned)
{
    *owned = sqlite3_get_autocommit(s->db);
    if (!*owned)
        return 0;
    return run_control(s, STMT_READ_BEGIN, "BEGIN", "starting a read transaction");
}

void store_read_end(struct store *s, int owned)
{
    /* A read transaction has nothing to lose: if COMMIT fails, ROLLBACK. */
    if (owned && run_control(s, STMT_READ_END, "COMMIT", "ending a read transaction") < 0)
        store_rollback(s);
}

int store_savepoint(struct store *s)
{
    s->sp_owns_txn = sqlite3_get_autocommit(s->db);
    if (s->sp_owns_txn)
        return store_begin(s);
    return run_control(s, STMT_SAVEPOINT, "SAVEPOINT store_unit", "starting a savepoint");
}

int store_release(struct store *s)
{
    if (s->sp_owns_txn)
        return store_commit(s);
    return run_control(s, STMT_RELEASE, "RELEASE store_unit", "releasing a savepoint");
}

void store_rollback_to(struct store *s)
{
    if (s->sp_owns_txn) {
        store_rollback(s);
        return;
    }
    if (run_control(s, STMT_ROLLBACK_TO, "ROLLBACK TO store_unit", "rolling back a savepoint") == 0)
        (void)run_control(s, STMT_RELEASE, "RELEASE store_unit", "releasing a savepoint");
}

int store_unit_end(struct store *s, int rc)
{
    if (rc == 0)
        rc = store_release(s);
    if (rc < 0)
        store_rollback_to(s);
    return rc;
}
