/*
 * config_print.c - writes a loaded configuration back out as INI text
 * (what `check-config` shows: every key with its effective value, durations
 * and sizes with units, so the output can itself be loaded), and writes the
 * errors and warnings of a load.  Secrets are never printed: a token or
 * webhook secret appears only as a comment giving its size and its file.
 */
#include "config_int.h"

#include <stddef.h>
#include <string.h>

/*
 * "key = /absolute/path".  When that line would be longer than the loader
 * accepts (a relative path that was short, under a deep directory), the
 * path is printed relative to the configuration file's directory again,
 * with the absolute one in a comment (comments do not count), so the
 * printed configuration loads, from that directory, to the same files.
 */
static void print_path(FILE *out, const char *key, const char *path, const char *dir)
{
    size_t dlen = strlen(dir);
    if (strlen(key) + 3 + strlen(path) <= CFG_LINE_MAX || strncmp(path, dir, dlen) != 0 ||
        path[dlen] != '/' || !path[dlen + 1]) {
        fprintf(out, "%s = %s\n", key, path);
        return;
    }
    fprintf(out, "; %s: %s\n", key, path);
    const char *rel = path + dlen + 1;
    fprintf(out, strlen(key) + 3 + strlen(rel) <= CFG_LINE_MAX ? "%s = %s\n" : "%s=%s\n", key, rel);
}

/* "; token: [REDACTED] (32 bytes from /etc/...)" or "not read". */
static void print_secret(const char *what, const char *value, const char *path, FILE *out)
{
    if (value)
        fprintf(out, "; %s: [REDACTED] (%zu bytes from %s)\n", what, strlen(value), path);
    else
        fprintf(out, "; %s: not read (from %s)\n", what, path);
}

/* An optional key: "key =" when not configured, so the output loads. */
static void print_optional(const struct config *cfg, const struct cfg_key *k, FILE *out)
{
    const char *v = *CFG_CFIELD(cfg, k, char *);
    if (!v)
        fprintf(out, "%s =\n", k->name);
    else if (k->type == CFG_T_OPT_PATH)
        print_path(out, k->name, v, cfg->dir ? cfg->dir : "");
    else
        fprintf(out, "%s = %s\n", k->name, v);
    if (v && k->offset == offsetof(struct config, alert_webhook_secret_file) &&
        cfg->alert_webhook_url)
        print_secret("alerts webhook secret", cfg->alert_webhook_secret, v, out);
    if (v && k->offset == offsetof(struct config, http_api_token_file))
        print_secret("api token", cfg->http_api_token, v, out);
}

static void print_key(const struct config *cfg, const struct cfg_key *k, FILE *out)
{
    char v[CFG_UNIT_LEN];
    switch (k->type) {
    case CFG_T_OPT_URL:
    case CFG_T_OPT_PATH:
        print_optional(cfg, k, out);
        return;
    case CFG_T_PATH:
        print_path(out, k->name, *CFG_CFIELD(cfg, k, char *), cfg->dir ? cfg->dir : "");
        return;
    case CFG_T_URL:
    case CFG_T_LISTEN:
        fprintf(out, "%s = %s\n", k->name, *CFG_CFIELD(cfg, k, char *));
        return;
    case CFG_T_LEVEL:
        fprintf(out, "%s = %s\n", k->name, log_level_name(*CFG_CFIELD(cfg, k, enum log_level)));
        return;
    case CFG_T_FORMAT:
        fprintf(out, "%s = %s\n", k->name, log_format_name(*CFG_CFIELD(cfg, k, enum log_format)));
        return;
    case CFG_T_REPLICA:
        fprintf(out, "%s = %s\n", k->name,
                litestream_mode_name(*CFG_CFIELD(cfg, k, enum litestream_mode)));
        return;
    case CFG_T_DURATION:
        cfg_format_duration(*CFG_CFIELD(cfg, k, int64_t), v);
        break;
    case CFG_T_SIZE:
        cfg_format_size(*CFG_CFIELD(cfg, k, int64_t), v);
        break;
    case CFG_T_INT:
        snprintf(v, sizeof(v), "%d", *CFG_CFIELD(cfg, k, int));
        break;
    case CFG_T_PERCENT:
        snprintf(v, sizeof(v), "%.6g%%", *CFG_CFIELD(cfg, k, double) * 100.0);
        break;
    case CFG_T_PAUSE:
        snprintf(v, sizeof(v), "%s", slo_pause_name(*CFG_CFIELD(cfg, k, enum slo_pause)));
        break;
    }
    fprintf(out, "%s = %s\n", k->name, v);
}

static void print_tenant(const struct config *cfg, const struct tenant_cfg *t, FILE *out)
{
    const char *dir = cfg->dir ? cfg->dir : "";
    fprintf(out, "\n[tenant.%s]\n", t->name);
    print_path(out, "token_file", t->token_file, dir);
    print_secret("token", t->token, t->token_file, out);
    fprintf(out, "resources = ");
    const char *sep = "";
    for (int r = 0; r < RES_COUNT; r++)
        if (t->resources & RES_BIT(r)) {
            fprintf(out, "%s%s", sep, resource_name((enum resource)r));
            sep = ", ";
        }
    fprintf(out, "\ndestination = %s\n", t->destination == DEST_WEBHOOK ? "webhook" : "sqlite");
    fprintf(out, "checkpoint_mode = %s\n", t->checkpoint_mode == CKPT_HOLD ? "hold" : "dlq");
    if (t->webhook_url)
        fprintf(out, "webhook_url = %s\n", t->webhook_url);
    if (t->webhook_secret_file) {
        print_path(out, "webhook_secret_file", t->webhook_secret_file, dir);
        if (t->destination == DEST_WEBHOOK)
            print_secret("webhook secret", t->webhook_secret, t->webhook_secret_file, out);
    }
    if (t->vomo_webhook_secret_file) {
        print_path(out, "vomo_webhook_secret_file", t->vomo_webhook_secret_file, dir);
        print_secret("VOMO webhook secret", t->vomo_webhook_secret, t->vomo_webhook_secret_file,
                     out);
    }
}

void cfg_print(const struct config *cfg, FILE *out)
{
    const char *section = "";
    fprintf(out, "; effective configuration loaded from %s (secrets redacted)\n", cfg->path);
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (strcmp(k->section, section) != 0) {
            section = k->section;
            fprintf(out, "\n[%s]\n", section);
        }
        print_key(cfg, k, out);
    }
    for (size_t i = 0; i < cfg->ntenants; i++)
        print_tenant(cfg, &cfg->tenants[i], out);
}

void cfg_errors_print(const struct cfg_errors *errs, FILE *out)
{
    for (size_t i = 0; i < errs->nwarnings; i++)
        fprintf(out, "warning: %s\n", errs->warnings[i]);
    for (size_t i = 0; i < errs->count; i++) {
        const struct cfg_error *e = &errs->items[i];
        if (e->key)
            fprintf(out, "%s:%d: %s: %s\n", e->file, e->line, e->key, e->message);
        else
            fprintf(out, "%s:%d: %s\n", e->file, e->line, e->message);
    }
}
