/*
 * cli_common.h - what the database commands (migrate, status, dlq,
 * checkpoint) share: finding and opening the state database (from the
 * configuration or --db), usage errors, the acting Unix user, read-only
 * queries as cJSON rows, and printing those rows as an aligned table or as
 * JSON.
 */
#ifndef VOMO_CLI_COMMON_H
#define VOMO_CLI_COMMON_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "store.h"
#include "util.h"

/* Quiet store logging (the CLI prints store_errmsg() itself) and plain-text
 * warnings on stderr.  Called first by every database command. */
void cli_init(void);

/*
 * Prints "vomo-sync: MESSAGE" and then the usage text to stderr; returns
 * EXIT_USAGE.
 */
int cli_usage_error(const char *usage, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Prints "vomo-sync: MESSAGE" to stderr; returns EXIT_RUNTIME. */
int cli_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/*
 * The database path: db_opt (--db) when given, else the configuration's
 * state_db (loaded with CFG_SKIP_SECRETS).  *path is allocated (free it);
 * *cfg (may be NULL) gets the loaded configuration, or NULL with --db (free
 * with cfg_free).  Returns 0, or an exit code after printing why.
 */
int cli_db_path(const char *db_opt, const char *config_path, char **path, struct config **cfg);

/*
 * Opens an existing database whose schema is current; never creates one.
 * Returns 0, or EXIT_RUNTIME after printing why (no database, locked, not
 * ours, schema older or newer than this binary).
 */
int cli_open(const char *path, struct store **out);

/* The Unix user running the command (for dlq_events.actor). */
void cli_actor(char out[64]);
/* The current UTC time as TS_LEN text. */
void cli_now(char out[TS_LEN]);
/* Parses a dlq id (a positive integer): 0 or -EINVAL. */
int cli_parse_id(const char *s, int64_t *id) WUR;

/*
 * Runs one read-only SELECT with text parameters (NULL binds SQL NULL) and
 * returns its rows as a cJSON array of objects keyed by column name
 * (integers and reals as numbers, NULL as null).  *rows is the caller's
 * (cJSON_Delete).  0, or a negative errno with store_errmsg() set.
 */
int cli_query(struct store *s, const char *sql, const char *const *params, size_t nparams,
              cJSON **rows) WUR;

/* A table cell as text: strings as they are, numbers in decimal, null "-". */
void cli_cell(const cJSON *v, char *out, size_t size);
/* Prints the named columns of rows as an aligned table with a header. */
void cli_table(FILE *out, const cJSON *rows, const char *const *cols, size_t ncols);
/* Prints one JSON value, indented, and a newline. */
void cli_print_json(FILE *out, const cJSON *v);

#endif
