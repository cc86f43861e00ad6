/*
 * config_int.h - what the files of the configuration module share and
 * nobody else needs: the table of global keys (one row per key: section,
 * name, type, where it lives in struct config, bounds and default), used
 * by the loader to parse and check values and by cfg_print to print them
 * back, so the two can never disagree; and the secret-file reader.
 */
#ifndef VOMO_CONFIG_INT_H
#define VOMO_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum cfg_type {
    CFG_T_PATH,     /* char *, a file name */
    CFG_T_LEVEL,    /* enum log_level */
    CFG_T_FORMAT,   /* enum log_format */
    CFG_T_REPLICA,  /* enum litestream_mode */
    CFG_T_URL,      /* char *, https:// (http:// for loopback only) */
    CFG_T_DURATION, /* int64_t milliseconds */
    CFG_T_SIZE,     /* int64_t bytes */
    CFG_T_INT,      /* int */
    CFG_T_LISTEN,   /* char *, a numeric HOST:PORT or "off" (netaddr.h) */
    CFG_T_OPT_URL,  /* char *, like CFG_T_URL; empty (the default) = NULL, not configured */
    CFG_T_OPT_PATH, /* char *, a file name; empty (the default) = NULL, not configured */
    CFG_T_PERCENT,  /* double, "99.5%" stored as 0.995; min/max in millionths */
    CFG_T_PAUSE,    /* enum slo_pause */
};

struct cfg_key {
    const char *section;
    const char *name;
    enum cfg_type type;
    size_t offset; /* of the field in struct config */
    int64_t min, max;
    const char *def; /* the default, spelled as in the INI file */
};

/* The longest line the loader accepts, comments not counted: inih hands its
 * reader 200-byte buffers, for the line, its newline and a NUL. */
#define CFG_LINE_MAX 198

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The tenant keys, in the order cfg_print writes them. */
enum cfg_tenant_key {
    CFG_TK_TOKEN_FILE,
    CFG_TK_RESOURCES,
    CFG_TK_DESTINATION,
    CFG_TK_CHECKPOINT_MODE,
    CFG_TK_WEBHOOK_URL,
    CFG_TK_WEBHOOK_SECRET_FILE,
    CFG_TK_VOMO_WEBHOOK_SECRET_FILE,
    CFG_TK_COUNT
};
extern const char *const cfg_tenant_keys[CFG_TK_COUNT];

/* Line of each tenant key (0 = not set), parallel to cfg->tenants. */
struct tenant_lines {
    int line[CFG_TK_COUNT];
};

/* The state of one cfg_load(): what the reader and the checks share. */
struct loader {
    struct config *cfg;
    struct cfg_errors *errs;
    unsigned flags;
    char *dir; /* of the config file, for relative paths */
    const char *data;
    size_t len, pos;
    int lineno;
    char *section; /* current section as the reader saw it ("#": ignore its keys) */
    int *key_line; /* parallel to cfg_keys; negative when the value was wrong */
    struct tenant_lines *tlines;
};

/* Records an error (key may be NULL) or a warning; config.c. */
void cfg_add_error(struct loader *L, int line, const char *key, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
void cfg_add_warning(struct loader *L, int line, const char *key, const char *msg);
/* Index of tenant name in L->cfg->tenants, or -1; config.c. */
int cfg_tenant_index(const struct config *cfg, const char *name);

/* inih's reader and handler (stream and user are the loader); config_read.c. */
char *cfg_read_line(char *str, int num, void *stream);
int cfg_on_key(void *user, const char *section, const char *name, const char *value);
/* Trims white space around s in place; returns the new start. */
char *cfg_trim(char *s);

/* [alerts]: the webhook secret required by webhook_url, read and registered
 * for redaction; config_alerts.c. */
void cfg_check_alerts(struct loader *L);

/* Value parsers; config_values.c.  key is "section.key" for messages. */
void cfg_apply_defaults(struct loader *L);
void cfg_set_value(struct loader *L, const struct cfg_key *k, const char *key, const char *value);
void cfg_tenant_value(struct loader *L, struct tenant_cfg *t, enum cfg_tenant_key tk,
                      const char *key, const char *value);

/* Pointers to a field of struct config described by a key. */
#define CFG_FIELD(cfg, k, type) ((type *)(void *)((char *)(cfg) + (k)->offset))
#define CFG_CFIELD(cfg, k, type) ((const type *)(const void *)((const char *)(cfg) + (k)->offset))

#endif
