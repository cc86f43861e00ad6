/*
 * main.c - the vomo-fake command: parses the command line (and an optional
 * scenario file), starts the fake, prints the bound port alone on the first
 * line of stdout, and serves until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

static const char usage[] =
    "usage: vomo-fake [options]\n"
    "\n"
    "A fake VOMO API (see vomo-api.md) with scriptable faults, for tests and demos.\n"
    "Prints the bound port alone on the first line of stdout, then serves until\n"
    "SIGTERM or SIGINT.\n"
    "\n"
    "Options:\n"
    "  --bind ADDR                  address to listen on (default 127.0.0.1; IPv6 ok)\n"
    "  --port N                     port (default 0: a free one)\n"
    "  --seed N                     dataset seed (default 1); data is a function of seed and\n"
    "                               tenant name\n"
    "  --tenant NAME:TOKEN[:users=N,groups=N,projects=N]\n"
    "                               a tenant and its bearer token (repeatable; sizes default\n"
    "                               to 100/10/10)\n"
    "  --scenario FILE              read options, tenants, secrets and faults from FILE\n"
    "  --page-size N                records per list page (default 15)\n"
    "  --shuffle                    a fresh random order on every list request\n"
    "  --string-ids                 send ids as numeric strings (\"12\")\n"
    "  --next-style null|string|omit\n"
    "                               last page's links.next: JSON null, \"null\", or absent\n"
    "  --latency-ms N               delay every answer by N ms (other requests go on)\n"
    "  --rate-limit N               N requests per second per token: 429 with Retry-After,\n"
    "                               and X-RateLimit-Limit/-Remaining on every /v1 answer\n"
    "  --groups-ignore-updated-after  /v1/groups ignores updated_after\n"
    "  --webhook-secret TENANT:SECRET  the webhook sink checks X-Vomo-Sync-Signature\n"
    "  --fault 'key=value ...'      a fault rule, as in scenario files (repeatable)\n"
    "  --help                       this text\n"
    "\n"
    "API: Authorization: Bearer TOKEN; unknown or revoked token: 401.\n"
    "  GET /v1/{users,groups,projects}?page=N&updated_after=ISO8601  (also created_after,\n"
    "      email_like, name_like, active, published); GET /v1/{resource}/{id};\n"
    "  GET /v1/groups/{id}/members; POST /v1/users (upsert by email: 201/200);\n"
    "  POST /v1/groups (creates: 200); PUT /v1/groups/{id}; PUT /v1/groups/{id}/members\n"
    "  {\"members\":[ids]}; DELETE /v1/groups/{id}; POST /v1/projects (201);\n"
    "  PUT /v1/projects/{id}.  Invalid writes: 422 with Laravel's body.\n"
    "Webhook sink: POST /_hooks/{tenant} records each delivery; 200, or 401 when a\n"
    "  secret is set and X-Vomo-Sync-Signature is not sha256=<hex HMAC-SHA256 of body>.\n"
    "\n"
    "Fault rules (--fault, scenario 'fault' lines, POST /_admin/faults):\n"
    "  kind=status|delay|reset|hang|malformed|lose|stall   what happens\n"
    "  method=GET path=/v1/users* tenant=acme body_contains='\"id\":\"17\"'   matchers\n"
    "  probability=0.3   apply to this share of matches (default: all)\n"
    "  count=N           apply to the next N matches only\n"
    "  status=503 retry_after=2   for kind=status;   delay_ms=500   for kind=delay\n"
    "  reset closes the socket with no answer; hang never answers (until stop);\n"
    "  malformed answers 200 with broken JSON; lose applies a write then drops the\n"
    "  connection; stall applies it and never answers.  Rules apply to /v1 and /_hooks, first matching rule wins.\n"
    "\n"
    "Control interface (loopback peers only; JSON in, JSON out):\n"
    "  POST   /_admin/faults      {\"kind\":\"status\",\"status\":503,\"path\":\"/v1/users*\",\n"
    "                               \"count\":2,\"retry_after\":\"1\"}         -> {\"id\":N}\n"
    "  GET    /_admin/faults      rules with their hit counts\n"
    "  DELETE /_admin/faults      removes every rule\n"
    "  POST   /_admin/mutate      {\"tenant\":\"acme\",\"resource\":\"users\",\"n\":5} or "
    "\"id\":\"12\"\n"
    "  POST   /_admin/delete      {\"tenant\":\"acme\",\"resource\":\"groups\",\"id\":\"3\"} or "
    "\"n\":2\n"
    "  POST   /_admin/corrupt     {\"tenant\":\"acme\",\"resource\":\"users\",\"id\":\"12\",\n"
    "                               \"kind\":\"missing_updated_at|missing_id|bad_updated_at|\n"
    "                               id_object|none\"}\n"
    "  POST   /_admin/revoke      {\"tenant\":\"acme\"}     POST /_admin/restore "
    "{\"tenant\":\"acme\"}\n"
    "  POST   /_admin/tenants     "
    "{\"name\":\"b\",\"token\":\"t\",\"users\":10,\"groups\":2,\"projects\":2}\n"
    "  POST   /_admin/webhook-secret {\"tenant\":\"acme\",\"secret\":\"s3cret\"}\n"
    "  GET    /_admin/dump?tenant=acme[&resource=users]   the dataset as JSON\n"
    "  GET    /_admin/requests    request log: time_ms, method, path, query, tenant,\n"
    "                             status, fault, body      DELETE clears it\n"
    "  GET    /_admin/deliveries  webhook deliveries: tenant, signature,\n"
    "                             idempotency_key, status, signature_ok, body   DELETE clears\n"
    "  example: curl -s -XPOST localhost:PORT/_admin/faults \\\n"
    "             -d "
    "'{\"kind\":\"reset\",\"method\":\"GET\",\"path\":\"/v1/groups*\",\"count\":1}'\n"
    "\n"
    "Scenario file: one directive a line, '#' comments; option lines use the option\n"
    "names without dashes in front (seed 42, page-size 15, shuffle, next-style string,\n"
    "latency-ms 5, rate-limit 10, string-ids, groups-ignore-updated-after, bind, port),\n"
    "plus:  tenant acme token-acme users=500 groups=20 projects=30\n"
    "       webhook-secret acme s3cret\n"
    "       fault method=GET path=/v1/users* kind=status status=503 retry_after=2 count=3\n";

struct cli {
    struct fake_opts o;
    struct fake_scenario *scenario;
    char **tenants, **secrets, **faults;
    size_t ntenants, nsecrets, nfaults;
};

static void push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static int parse_args(struct cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "vomo-fake: unexpected argument '%s' (see --help)\n", a);
            return -EINVAL;
        }
        const char *name = a + 2, *v = NULL;
        if (fake_opts_takes_value(name)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "vomo-fake: %s needs a value (see --help)\n", a);
                return -EINVAL;
            }
            v = argv[++i];
        }
        int rc = 0;
        if (strcmp(name, "tenant") == 0)
            push(&c->tenants, &c->ntenants, v);
        else if (strcmp(name, "webhook-secret") == 0)
            push(&c->secrets, &c->nsecrets, v);
        else if (strcmp(name, "fault") == 0)
            push(&c->faults, &c->nfaults, v);
        else if (strcmp(name, "scenario") == 0)
            rc = c->scenario ? -EINVAL : fake_scenario_load(v, &c->o, &c->scenario);
        else
            rc = fake_opts_set(&c->o, name, v);
        if (rc < 0) {
            fprintf(stderr, "vomo-fake: bad option %s%s%s (see --help)\n", a, v ? " " : "",
                    v ? v : "");
            return rc;
        }
    }
    return 0;
}

/* NAME:TOKEN[:sizes] */
static int add_tenant_spec(struct fake *f, const char *spec)
{
    char *s = xstrdup(spec);
    char *tok = strchr(s, ':');
    int rc = -EINVAL, u = 100, g = 10, p = 10;
    if (tok) {
        *tok++ = '\0';
        char *sizes = strchr(tok, ':');
        if (sizes)
            *sizes++ = '\0';
        rc = sizes ? fake_sizes_parse(sizes, &u, &g, &p) : 0;
        if (rc == 0)
            rc = fake_add_tenant(f, s, tok, u, g, p);
    }
    free(s);
    if (rc < 0)
        fprintf(stderr,
                "vomo-fake: bad --tenant %s: want NAME:TOKEN[:users=N,groups=N,"
                "projects=N], names and tokens unique\n",
                spec);
    return rc;
}

static int add_secret_spec(struct fake *f, const char *spec)
{
    char *s = xstrdup(spec);
    char *secret = strchr(s, ':');
    int rc = -EINVAL;
    if (secret) {
        *secret++ = '\0';
        rc = fake_set_webhook_secret(f, s, secret);
    }
    free(s);
    if (rc < 0)
        fprintf(stderr, "vomo-fake: bad --webhook-secret %s: want TENANT:SECRET\n", spec);
    return rc;
}

static int add_fault_spec(struct fake *f, const char *spec)
{
    char *s = xstrdup(spec);
    struct fake_fault ft;
    int rc = fake_fault_parse(s, &ft);
    if (rc == 0)
        rc = fake_add_fault(f, &ft);
    free(s);
    if (rc < 0)
        fprintf(stderr, "vomo-fake: bad --fault '%s' (see --help)\n", spec);
    return rc < 0 ? rc : 0;
}

static int setup(struct fake *f, struct cli *c)
{
    if (c->scenario && fake_scenario_apply(f, c->scenario) < 0)
        return -EINVAL;
    for (size_t i = 0; i < c->ntenants; i++)
        if (add_tenant_spec(f, c->tenants[i]) < 0)
            return -EINVAL;
    for (size_t i = 0; i < c->nsecrets; i++)
        if (add_secret_spec(f, c->secrets[i]) < 0)
            return -EINVAL;
    for (size_t i = 0; i < c->nfaults; i++)
        if (add_fault_spec(f, c->faults[i]) < 0)
            return -EINVAL;
    return 0;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    fake_opts_default(&c.o);
    int rc = parse_args(&c, argc, argv);
    struct fake *f = NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before any thread starts, so only sigwait below sees them. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc == 0) {
        f = fake_new(&c.o);
        rc = setup(f, &c);
    }
    if (rc == 0 && (rc = fake_start(f)) < 0)
        fprintf(stderr, "vomo-fake: cannot listen on %s port %u: %s\n", c.o.bind_addr,
                (unsigned)c.o.port, strerror(-rc));
    if (rc == 0) {
        printf("%u\n", (unsigned)fake_port(f));
        fflush(stdout);
        int sig;
        sigwait(&set, &sig);
    }
    fake_free(f);
    fake_scenario_free(c.scenario);
    free_list(c.tenants, c.ntenants);
    free_list(c.secrets, c.nsecrets);
    free_list(c.faults, c.nfaults);
    return rc == 0 ? 0 : 1;
}
