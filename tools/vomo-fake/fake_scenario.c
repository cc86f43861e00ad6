/*
 * fake_scenario.c - scenario files and the option words they share with the
 * command line.  A scenario is a text file of lines (blank lines and lines
 * starting with '#' are ignored, and so is " # ..." at the end of a line):
 *
 *     seed 42                      page-size 15        shuffle
 *     string-ids                   next-style string   latency-ms 5
 *     rate-limit 10                groups-ignore-updated-after
 *     bind 127.0.0.1               port 8080
 *     tenant acme token-acme users=500 groups=20 projects=30
 *     webhook-secret acme s3cret
 *     fault method=GET path=/v1/users* kind=status status=503 retry_after=2 count=3
 *
 * Option lines take effect when the file is loaded; tenant, webhook-secret
 * and fault lines when it is applied to a fake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_int.h"

#define SCENARIO_MAX (1024 * 1024)

struct fake_scenario {
    char **lines; /* tenant / webhook-secret / fault lines, in file order */
    size_t n;
    char *bind; /* storage for o->bind_addr */
    char *path;
    int *lineno;
};

static int int_word(const char *v, int lo, int hi, int *out)
{
    int64_t x;
    if (parse_i64(v, &x) < 0 || x < lo || x > hi)
        return -EINVAL;
    *out = (int)x;
    return 0;
}

int fake_opts_set(struct fake_opts *o, const char *name, const char *value)
{
    int v = 0;
    if (strcmp(name, "shuffle") == 0)
        o->shuffle = true;
    else if (strcmp(name, "string-ids") == 0)
        o->string_ids = true;
    else if (strcmp(name, "groups-ignore-updated-after") == 0)
        o->groups_ignore_updated_after = true;
    else if (!value)
        return -EINVAL;
    else if (strcmp(name, "bind") == 0)
        o->bind_addr = value;
    else if (strcmp(name, "next-style") == 0) {
        if (strcmp(value, "null") == 0)
            o->next_style = FAKE_NEXT_NULL;
        else if (strcmp(value, "string") == 0)
            o->next_style = FAKE_NEXT_STRING;
        else if (strcmp(value, "omit") == 0)
            o->next_style = FAKE_NEXT_OMIT;
        else
            return -EINVAL;
    } else if (strcmp(name, "seed") == 0) {
        int64_t x;
        if (parse_i64(value, &x) < 0 || x < 0 || x > UINT32_MAX)
            return -EINVAL;
        o->seed = (uint32_t)x;
    } else if (strcmp(name, "port") == 0 && int_word(value, 0, 65535, &v) == 0)
        o->port = (uint16_t)v;
    else if (strcmp(name, "page-size") == 0 && int_word(value, 1, 100000, &v) == 0)
        o->page_size = v;
    else if (strcmp(name, "latency-ms") == 0 && int_word(value, 0, 3600000, &v) == 0)
        o->latency_ms = v;
    else if (strcmp(name, "rate-limit") == 0 && int_word(value, 0, 1000000, &v) == 0)
        o->rate_limit_rps = v;
    else
        return -EINVAL;
    return 0;
}

bool fake_opts_takes_value(const char *name)
{
    return strcmp(name, "shuffle") != 0 && strcmp(name, "string-ids") != 0 &&
           strcmp(name, "groups-ignore-updated-after") != 0;
}

/* "users=500 groups=20" or "users=500,groups=20" into the three sizes. */
int fake_sizes_parse(char *s, int *users, int *groups, int *projects)
{
    *users = 100;
    *groups = 10;
    *projects = 10;
    for (char *w = s; w && *w;) {
        while (*w == ' ' || *w == ',' || *w == '\t')
            w++;
        if (!*w)
            break;
        char *end = w + strcspn(w, " ,\t");
        char save = *end;
        *end = '\0';
        char *eq = strchr(w, '=');
        int *dst = NULL;
        if (eq) {
            *eq = '\0';
            dst = strcmp(w, "users") == 0      ? users
                  : strcmp(w, "groups") == 0   ? groups
                  : strcmp(w, "projects") == 0 ? projects
                                               : NULL;
        }
        if (!dst || int_word(eq + 1, 0, 10000000, dst) < 0)
            return -EINVAL;
        *end = save;
        w = save ? end + 1 : end;
    }
    return 0;
}

static void keep_line(struct fake_scenario *s, const char *line, int lineno)
{
    s->lines = xrealloc(s->lines, (s->n + 1) * sizeof(*s->lines));
    s->lineno = xrealloc(s->lineno, (s->n + 1) * sizeof(*s->lineno));
    s->lines[s->n] = xstrdup(line);
    s->lineno[s->n++] = lineno;
}

/* One line: an option now, or kept for later. */
static int scenario_line(struct fake_scenario *s, char *line, int lineno, struct fake_opts *o)
{
    char *word = line + strspn(line, " \t");
    if (!*word || *word == '#')
        return 0;
    /* " # comment" at the end of a line (a value never holds a blank). */
    for (char *h = strchr(word, '#'); h; h = strchr(h + 1, '#')) {
        if (h[-1] == ' ' || h[-1] == '\t') {
            *h = '\0';
            break;
        }
    }
    for (size_t n = strlen(word); n && (word[n - 1] == ' ' || word[n - 1] == '\t'); n--)
        word[n - 1] = '\0';
    char *end = word + strcspn(word, " \t");
    char *value = end + strspn(end, " \t");
    if (strncmp(word, "tenant ", 7) == 0 || strncmp(word, "fault ", 6) == 0 ||
        strncmp(word, "webhook-secret ", 15) == 0) {
        keep_line(s, word, lineno);
        return 0;
    }
    *end = '\0';
    if (strcmp(word, "bind") == 0) {
        free(s->bind);
        s->bind = xstrdup(value);
        value = s->bind;
    }
    return fake_opts_set(o, word, *value ? value : NULL);
}

int fake_scenario_load(const char *path, struct fake_opts *o, struct fake_scenario **out)
{
    char *text;
    size_t len;
    int rc = read_whole_file(path, SCENARIO_MAX, &text, &len);
    if (rc < 0) {
        fprintf(stderr, "vomo-fake: %s: cannot read the scenario: %s\n", path, strerror(-rc));
        return rc;
    }
    struct fake_scenario *s = xcalloc(1, sizeof(*s));
    s->path = xstrdup(path);
    int lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line[strcspn(line, "\r")] = '\0';
        if (scenario_line(s, line, lineno, o) < 0) {
            fprintf(stderr, "vomo-fake: %s:%d: not a valid scenario line (see --help)\n", path,
                    lineno);
            free(text);
            fake_scenario_free(s);
            return -EINVAL;
        }
    }
    free(text);
    *out = s;
    return 0;
}

static int apply_line(struct fake *f, char *line)
{
    char *word = line, *rest = line + strcspn(line, " \t");
    if (*rest)
        *rest++ = '\0';
    rest += strspn(rest, " \t");
    if (strcmp(word, "fault") == 0) {
        struct fake_fault ft;
        if (fake_fault_parse(rest, &ft) < 0)
            return -EINVAL;
        int id = fake_add_fault(f, &ft);
        return id < 0 ? id : 0;
    }
    char *a = rest, *b = rest + strcspn(rest, " \t");
    if (*b)
        *b++ = '\0';
    b += strspn(b, " \t");
    if (!*a || !*b)
        return -EINVAL;
    if (strcmp(word, "webhook-secret") == 0)
        return fake_set_webhook_secret(f, a, b);
    char *sizes = b + strcspn(b, " \t");
    if (*sizes)
        *sizes++ = '\0';
    int u, g, p;
    if (fake_sizes_parse(sizes, &u, &g, &p) < 0)
        return -EINVAL;
    return fake_add_tenant(f, a, b, u, g, p);
}

int fake_scenario_apply(struct fake *f, const struct fake_scenario *s)
{
    for (size_t i = 0; i < s->n; i++) {
        char *copy = xstrdup(s->lines[i]);
        int rc = apply_line(f, copy);
        free(copy);
        if (rc < 0) {
            fprintf(stderr, "vomo-fake: %s:%d: %s\n", s->path, s->lineno[i],
                    rc == -EEXIST ? "tenant name or token used twice" : "invalid line");
            return rc;
        }
    }
    return 0;
}

void fake_scenario_free(struct fake_scenario *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->lines[i]);
    free(s->lines);
    free(s->lineno);
    free(s->bind);
    free(s->path);
    free(s);
}
