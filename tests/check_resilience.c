/*
 * check_resilience.c - integration suite of vomo-sync's resilience against
 * the in-process fake VOMO: random 503s and connection resets lose nothing;
 * a 429 holds every request of its token for the whole Retry-After (delta
 * seconds or an HTTP date) while other tenants go on; X-RateLimit headers
 * slow requests down before a 429 comes; an outage opens the
 * VOMO breaker, which then costs one probe per open_timeout and closes by
 * itself; a revoked token stops its tenant alone until the token file
 * changes; a hanging server is cut by request_timeout and retried; a 403
 * stops one resource only; the retry budget bounds retries per tenant; and
 * every retry and breaker transition is one structured log line.
 *
 * Times come from the fake's request log (arrival, wall clock of this same
 * process) so the assertions measure what VOMO would see.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "breaker.h"
#include "tenant.h"
#include "testutil.h"
#include "util.h"

static const char *const resources[] = {"users", "groups", "projects"};

/* ---- fixtures and predicates ---- */

static void two_tenants(struct tu_env *env, const char *overrides, const char *acme_more,
                        const char *beta_more)
{
    char *a = tu_tenant_ini("acme", acme_more), *b = tu_tenant_ini("beta", beta_more);
    char *ini = xasprintf("%s%s", a, b);
    tu_config(env, overrides, ini);
    free(a);
    free(b);
    free(ini);
}

static int add_fault(struct tu_env *env, const struct fake_fault *rule)
{
    int id = fake_add_fault(env->fake, rule);
    ck_assert_int_gt(id, 0);
    return id;
}

/* Every enabled slot of tenant (NULL = every tenant) completed n scans. */
static bool complete_at_least(struct engine *e, const char *tenant, int64_t n)
{
    for (struct tenant *t = e->tenants; t; t = t->next) {
        if (tenant && strcmp(t->name, tenant) != 0)
            continue;
        for (int r = 0; r < RES_COUNT; r++)
            if ((t->resources & RES_BIT(r)) && t->slots[r].scans_complete < n)
                return false;
    }
    return true;
}

static bool all_complete1(void *arg)
{
    return complete_at_least(arg, NULL, 1);
}

/* Every enabled slot completes `more` scans beyond what it had at mark. */
struct progress {
    struct engine *e;
    const char *tenant; /* NULL = every tenant */
    int64_t want[8][RES_COUNT];
};

static void progress_mark_tenant(struct progress *p, struct engine *e, const char *tenant,
                                 int64_t more)
{
    p->e = e;
    p->tenant = tenant;
    int i = 0;
    for (struct tenant *t = e->tenants; t && i < 8; t = t->next, i++)
        for (int r = 0; r < RES_COUNT; r++)
            p->want[i][r] = t->slots[r].scans_complete + more;
}

static void progress_mark(struct progress *p, struct engine *e, int64_t more)
{
    progress_mark_tenant(p, e, NULL, more);
}

static bool progress_made(void *arg)
{
    struct progress *p = arg;
    int i = 0;
    for (struct tenant *t = p->e->tenants; t && i < 8; t = t->next, i++) {
        if (p->tenant && strcmp(t->name, p->tenant) != 0)
            continue;
        for (int r = 0; r < RES_COUNT; r++)
            if ((t->resources & RES_BIT(r)) && t->slots[r].scans_complete < p->want[i][r])
                return false;
    }
    return true;
}

static struct slot *slot_of(struct engine *e, const char *tenant, const char *resource)
{
    struct tenant *t = engine_tenant(e, tenant);
    enum resource r;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(resource_parse(resource, &r), 0);
    return &t->slots[r];
}

static void assert_mirrors(struct tu_env *env, const char *tenant)
{
    for (int r = 0; r < 3; r++)
        ck_assert_msg(tu_mirror_diff(env, tenant, resources[r]) == 0, "%s/%s differs", tenant,
                      resources[r]);
}

/* ---- the fake's request log ---- */

struct reqlog {
    struct fake_request *r;
    size_t n;
};

static void reqlog_get(struct tu_env *env, struct reqlog *l)
{
    ck_assert_int_eq(fake_requests(env->fake, &l->r, &l->n), 0);
}

static void reqlog_free(struct reqlog *l)
{
    fake_requests_free(l->r, l->n);
}

static bool req_is(const struct fake_request *q, const char *tenant, const char *path)
{
    return (!tenant || strcmp(q->tenant, tenant) == 0) && (!path || strcmp(q->path, path) == 0);
}

/* Requests of tenant (NULL = any) on path (NULL = any) that arrived in
 * [from_ms, to_ms). */
static int reqs_between(const struct reqlog *l, const char *tenant, const char *path,
                        int64_t from_ms, int64_t to_ms)
{
    int n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (req_is(&l->r[i], tenant, path) && l->r[i].time_ms >= from_ms && l->r[i].time_ms < to_ms)
            n++;
    return n;
}

/* Index of the earliest request of tenant answered `status`, or -1. */
static ssize_t first_with_status(const struct reqlog *l, const char *tenant, int status)
{
    ssize_t best = -1;
    for (size_t i = 0; i < l->n; i++)
        if (req_is(&l->r[i], tenant, NULL) && l->r[i].status == status &&
            (best < 0 || l->r[i].time_ms < l->r[best].time_ms))
            best = (ssize_t)i;
    return best;
}

/* Arrival of the first request of tenant after request `after` (by time,
 * that request excluded); INT64_MAX when none. */
static int64_t next_arrival(const struct reqlog *l, const char *tenant, size_t after)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < l->n; i++)
        if (i != after && req_is(&l->r[i], tenant, NULL) &&
            l->r[i].time_ms >= l->r[after].time_ms && l->r[i].time_ms < best)
            best = l->r[i].time_ms;
    return best;
}

/* ---- captured JSON log lines ---- */

typedef bool (*line_pred)(const cJSON *line, const void *arg);

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jhas_num(const cJSON *o, const char *key)
{
    return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, key));
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Calls pred on every line (each must be valid JSON); counts the trues. */
static int count_lines(const char *text, line_pred pred, const void *arg)
{
    int n = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *one = xstrndup(p, len);
        cJSON *line = cJSON_Parse(one);
        ck_assert_msg(line != NULL, "log line is not JSON: %s", one);
        if (pred(line, arg))
            n++;
        cJSON_Delete(line);
        free(one);
        p = eol ? eol + 1 : p + len;
    }
    return n;
}

static bool msg_has(const cJSON *line, const void *arg)
{
    const char *m = jstr(line, "msg");
    return m && strstr(m, arg);
}

/* ---- 1. random 503s and resets ---- */

START_TEST(random_503_and_resets_lose_nothing)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 120, 17, 31);
    tu_tenant(&env, "beta", 45, 16, 2);
    tu_fake_start(&env);
    /* Two resets for sure, then 30% 503 and 10% resets at random. */
    int sure = add_fault(
        &env, &(struct fake_fault){.path = "/v1/users", .count = 2, .kind = FAKE_FAULT_RESET});
    int f503 = add_fault(
        &env, &(struct fake_fault){
                  .path = "/v1/*", .probability = 0.3, .kind = FAKE_FAULT_STATUS, .status = 503});
    add_fault(&env,
              &(struct fake_fault){.path = "/v1/*", .probability = 0.1, .kind = FAKE_FAULT_RESET});
    /* 0.37 of requests fail: 12 attempts leave a page failing for good with
     * probability 0.37^12 (7e-6); the budget pays for every retry. */
    two_tenants(&env, "retry.max_attempts = 12\nretry.budget = 100000\n", NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, all_complete1, te.e, 20000));
    /* Changes made while the faults go on arrive as well. */
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 10), 10);
    ck_assert_int_eq(fake_mutate(env.fake, "beta", "projects", 2), 2);
    struct progress p;
    progress_mark(&p, te.e, 2);
    ck_assert(tu_run_until(&te, progress_made, &p, 20000));
    tu_engine_stop(&te);
    ck_assert_int_gt(fake_fault_hits(env.fake, f503), 5);
    ck_assert_int_eq(fake_fault_hits(env.fake, sure), 2);
    assert_mirrors(&env, "acme");
    assert_mirrors(&env, "beta");
    ck_assert_int_eq(tu_db_int(&env, "SELECT count(*) FROM dlq", NULL), 0);
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 2. 429 and Retry-After ---- */

struct settled {
    struct tu_env *env;
    struct engine *e;
    int fault;
};

static bool fault_hit_and_complete(void *arg)
{
    struct settled *st = arg;
    return fake_fault_hits(st->env->fake, st->fault) >= 1 && complete_at_least(st->e, NULL, 1);
}

/*
 * One 429 on acme's users list with the given Retry-After.  With one
 * request in flight per tenant, every later request of acme (groups and
 * projects included: the wait is for the whole token) starts after the 429
 * came back.  Returns the 429's arrival, the next acme arrival and how many
 * requests beta sent in between; checks that everything arrived.
 */
static void run_429(const char *retry_after, int64_t *t429, int64_t *next, int *beta)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 10, 10);
    tu_tenant(&env, "beta", 40, 10, 10);
    tu_fake_start(&env);
    int id = add_fault(&env, &(struct fake_fault){.path = "/v1/users",
                                                  .tenant = "acme",
                                                  .count = 1,
                                                  .kind = FAKE_FAULT_STATUS,
                                                  .status = 429,
                                                  .retry_after = retry_after});
    two_tenants(&env, "vomo.max_concurrency = 1\n", NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct settled st = {&env, te.e, id};
    ck_assert(tu_run_until(&te, fault_hit_and_complete, &st, 15000));
    tu_engine_stop(&te);
    struct reqlog l;
    reqlog_get(&env, &l);
    ssize_t i = first_with_status(&l, "acme", 429);
    ck_assert_int_ge(i, 0);
    *t429 = l.r[i].time_ms;
    *next = next_arrival(&l, "acme", (size_t)i);
    ck_assert(*next != INT64_MAX);
    *beta = reqs_between(&l, "beta", NULL, *t429, *next);
    ck_assert_int_eq(reqs_between(&l, NULL, NULL, 0, INT64_MAX),
                     reqs_between(&l, "acme", NULL, 0, INT64_MAX) +
                         reqs_between(&l, "beta", NULL, 0, INT64_MAX));
    reqlog_free(&l);
    assert_mirrors(&env, "acme");
    assert_mirrors(&env, "beta");
    tu_env_cleanup(&env);
}

START_TEST(retry_after_seconds_holds_the_whole_token)
{
    int64_t t429, next;
    int beta;
    run_429("2", &t429, &next, &beta);
    /* The daemon waits the full 2 s from the answer, which came after the
     * arrival: no rounding tolerance beyond the clock's millisecond. */
    if (getenv("VOMO_TEST_DIAG"))
        fprintf(stderr, "429: next after %lld ms\n", (long long)(next - t429));
    ck_assert_msg(next - t429 >= 1990, "next acme request %lld ms after the 429",
                  (long long)(next - t429));
    /* The other tenant is not held by acme's 429 (it polls every 200 ms). */
    ck_assert_msg(beta >= 3, "beta sent only %d requests during acme's wait", beta);
}
END_TEST

START_TEST(retry_after_http_date_holds_the_whole_token)
{
    /* A date 3 to 4 s ahead, at a whole second as HTTP dates are. */
    int64_t at = (clock_wall_ms() / 1000 + 4) * 1000;
    time_t secs = (time_t)(at / 1000);
    struct tm tm;
    char date[64];
    gmtime_r(&secs, &tm);
    ck_assert_uint_gt(strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm), 0);
    int64_t t429, next;
    int beta;
    run_429(date, &t429, &next, &beta);
    ck_assert_msg(t429 < at - 2000, "the 429 came too late to test anything");
    ck_assert_msg(next >= at, "next acme request %lld ms before the Retry-After date",
                  (long long)(at - next));
    ck_assert_msg(beta >= 3, "beta sent only %d requests during acme's wait", beta);
}
END_TEST

/* ---- X-RateLimit headers slow requests down before a 429 ---- */

START_TEST(ratelimit_headers_pace_requests_before_a_429)
{
    struct tu_env env;
    struct fake_opts o;
    fake_opts_default(&o);
    o.rate_limit_rps = 4; /* per token and wall second, with X-RateLimit-* headers */
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 40, 5, 5);
    tu_fake_start(&env);
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "vomo.max_concurrency = 1\n", a);
    free(a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    /* Five pages in the first round (users 3, groups 1, projects 1): one
     * more than a second allows, so without pacing the fifth gets a 429. */
    ck_assert(tu_run_until(&te, all_complete1, te.e, 10000));
    tu_engine_stop(&te);
    struct reqlog l;
    reqlog_get(&env, &l);
    int limited = 0;
    for (size_t i = 0; i < l.n; i++)
        limited += l.r[i].status == 429;
    ck_assert_int_ge(reqs_between(&l, "acme", NULL, 0, INT64_MAX), 5);
    reqlog_free(&l);
    ck_assert_int_eq(limited, 0);
    assert_mirrors(&env, "acme");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 3. VOMO down: the breaker ---- */

static bool breaker_open(void *arg)
{
    struct engine *e = arg;
    return e->vomo_breaker.state == BREAKER_OPEN;
}

/* VOMO requests on the wire across every tenant's lane. */
static int vomo_in_flight(struct engine *e)
{
    int n = 0;
    for (struct tenant *t = e->tenants; t; t = t->next)
        n += t->vomo_lane.in_flight;
    return n;
}

static bool breaker_closed_and_progress(void *arg)
{
    struct progress *p = arg;
    return p->e->vomo_breaker.state == BREAKER_CLOSED && progress_made(p);
}

static char *breaker_state(struct tu_env *env)
{
    return tu_db_text(env, "SELECT state FROM breakers WHERE name = 'vomo'", NULL);
}

#define OUTAGE_MS 1500
#define OPEN_TIMEOUT_MS 300
#define THRESHOLD 3

START_TEST(outage_opens_breaker_one_probe_per_open_timeout)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 5, 5);
    tu_tenant(&env, "beta", 20, 5, 5);
    tu_fake_start(&env);
    two_tenants(&env, "breaker.failure_threshold = 3\nbreaker.open_timeout = 300ms\n", NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, all_complete1, te.e, 10000));
    struct tu_logcap cap;
    tu_log_capture_start(&cap);
    int64_t t_fault = clock_wall_ms();
    add_fault(&env,
              &(struct fake_fault){.path = "/v1/*", .kind = FAKE_FAULT_STATUS, .status = 503});
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 5), 5);
    ck_assert(tu_run_until(&te, breaker_open, te.e, 3000));
    /* opened_at is monotonic; the fake's request log has wall-clock times */
    int64_t t_open = te.e->vomo_breaker.opened_at - clock_mono_ms() + clock_wall_ms();
    /* Sent before the opening, these may reach the fake's log after it on
     * a loaded machine: they are not probes. */
    int on_wire = vomo_in_flight(te.e);
    char *state = breaker_state(&env);
    ck_assert_str_eq(state ? state : "(none)", "open");
    free(state);
    int64_t left = t_fault + OUTAGE_MS - clock_wall_ms();
    tu_run_for(&te, left > 0 ? (int)left : 0);
    state = breaker_state(&env);
    ck_assert_msg(state && strcmp(state, "closed") != 0, "breaker closed during the outage");
    free(state);
    int64_t t_clear = clock_wall_ms();
    fake_clear_faults(env.fake);
    struct progress p;
    progress_mark(&p, te.e, 1);
    ck_assert(tu_run_until(&te, breaker_closed_and_progress, &p, 5000));
    tu_engine_stop(&te);

    struct reqlog l;
    reqlog_get(&env, &l);
    int during = reqs_between(&l, NULL, NULL, t_fault, t_clear);
    /*
     * Bound on the whole outage: the breaker lets requests through until
     * THRESHOLD consecutive failures; requests already on the wire then
     * still arrive: each of the 6 slots runs an incremental scan of a
     * single page, so at most 6 are in flight (retries wait for their
     * backoff and then for the breaker).  Once open, the one breaker
     * shared by every lane lets one probe through per OPEN_TIMEOUT_MS, each
     * probe's failure restarting the wait: at most OUTAGE_MS /
     * OPEN_TIMEOUT_MS + 1 probes.  3 + 6 + 6 = 15, against hundreds
     * without a breaker (6 slots polling every 200 ms with 5 attempts).
     */
    int bound = THRESHOLD + 6 + OUTAGE_MS / OPEN_TIMEOUT_MS + 1;
    if (getenv("VOMO_TEST_DIAG"))
        fprintf(stderr, "outage: %d requests, %d after the opening in %lld ms\n", during,
                reqs_between(&l, NULL, NULL, t_open + 20, t_clear), (long long)(t_clear - t_open));
    ck_assert_msg(during <= bound, "%d requests during the outage (bound %d)", during, bound);
    /* Once open, only probes: one per open_timeout, whichever lane sends
     * it, besides what was already on the wire when it opened (those
     * arrive within a few ms, later only on a loaded machine). */
    int probes = reqs_between(&l, NULL, NULL, t_open + 20, t_clear);
    int max_probes = (int)((t_clear - t_open) / OPEN_TIMEOUT_MS) + 1;
    ck_assert_msg(probes >= 1 && probes <= max_probes + on_wire,
                  "%d requests in %lld ms after the opening (at most %d probes + %d on the wire)",
                  probes, (long long)(t_clear - t_open), max_probes, on_wire);
    reqlog_free(&l);

    /* One log line per transition: opened once, closed once, and every
     * half-open probe either re-opened it or closed it. */
    const char *text = tu_log_capture_text(&cap);
    int opened = count_lines(text, msg_has, "circuit breaker vomo opened");
    int reopened = count_lines(text, msg_has, "circuit breaker vomo re-opened");
    int half = count_lines(text, msg_has, "circuit breaker vomo half-open");
    int closed = count_lines(text, msg_has, "circuit breaker vomo closed");
    ck_assert_int_eq(opened, 1);
    ck_assert_int_eq(closed, 1);
    ck_assert_int_eq(half, reopened + 1);
    ck_assert_int_le(half, max_probes + 1);
    tu_log_capture_end(&cap);

    state = breaker_state(&env);
    ck_assert_str_eq(state ? state : "(none)", "closed");
    free(state);
    assert_mirrors(&env, "acme");
    assert_mirrors(&env, "beta");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 4. a revoked token ---- */

static bool acme_auth_failed(void *arg)
{
    struct tenant *t = engine_tenant(arg, "acme");
    return t && t->status == TENANT_AUTH_FAILED;
}

static bool acme_resumed(void *arg)
{
    struct progress *p = arg;
    struct tenant *t = engine_tenant(p->e, "acme");
    return t && t->status == TENANT_OK && progress_made(p);
}

START_TEST(revoked_token_stops_its_tenant_until_the_file_changes)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 10, 10);
    tu_tenant(&env, "beta", 40, 10, 10);
    tu_fake_start(&env);
    two_tenants(&env, "vomo.max_concurrency = 1\n", NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, all_complete1, te.e, 10000));
    ck_assert_int_eq(fake_revoke(env.fake, "acme", true), 0);
    ck_assert_int_eq(fake_mutate(env.fake, "acme", "users", 4), 4);
    ck_assert_int_eq(fake_mutate(env.fake, "beta", "users", 4), 4);
    ck_assert(tu_run_until(&te, acme_auth_failed, te.e, 3000));
    /* beta goes on for two more rounds while acme is stopped. */
    struct progress p;
    progress_mark_tenant(&p, te.e, "beta", 2);
    ck_assert(tu_run_until(&te, progress_made, &p, 5000));
    char *st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st ? st : "(none)", "auth_failed");
    free(st);
    ck_assert_int_eq(tu_mirror_diff(&env, "beta", "users"), 0);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 4);

    struct reqlog l;
    reqlog_get(&env, &l);
    ssize_t i = first_with_status(&l, "acme", 401);
    ck_assert_int_ge(i, 0);
    /* One request in flight per tenant: the 401 is acted on before the
     * lane admits anything else, so nothing more leaves with that token. */
    int after = reqs_between(&l, "acme", NULL, l.r[i].time_ms, INT64_MAX) - 1;
    if (getenv("VOMO_TEST_DIAG"))
        fprintf(stderr, "revoke: %d requests after the 401\n", after);
    ck_assert_msg(after == 0, "acme sent %d requests after its 401", after);
    reqlog_free(&l);

    /* The operator installs a new token: the tenant resumes by itself. */
    ck_assert_int_eq(fake_revoke(env.fake, "acme", false), 0);
    tu_fake_set_token(&env, "acme", "token-acme-rotated-42");
    int64_t t_fix = clock_wall_ms();
    tu_write(&env, "acme.token", "token-acme-rotated-42\n");
    progress_mark_tenant(&p, te.e, "acme", 1);
    ck_assert(tu_run_until(&te, acme_resumed, &p, 6000));
    int64_t took = clock_wall_ms() - t_fix;
    ck_assert_msg(took < 4500, "acme resumed %lld ms after its token file changed",
                  (long long)took);
    tu_engine_stop(&te);
    st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st ? st : "(none)", "ok");
    free(st);
    assert_mirrors(&env, "acme");
    assert_mirrors(&env, "beta");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 5. a hanging server ---- */

START_TEST(hanging_request_is_cut_by_request_timeout_and_retried)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 5, 5);
    tu_fake_start(&env);
    int id = add_fault(
        &env, &(struct fake_fault){.path = "/v1/users", .count = 1, .kind = FAKE_FAULT_HANG});
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "vomo.request_timeout = 300ms\nvomo.connect_timeout = 200ms\n", a);
    free(a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    ck_assert(tu_run_until(&te, all_complete1, te.e, 10000));
    tu_engine_stop(&te);
    ck_assert_int_eq(fake_fault_hits(env.fake, id), 1);
    struct reqlog l;
    reqlog_get(&env, &l);
    ssize_t hung = -1;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.r[i].fault, "hang") == 0)
            hung = (ssize_t)i;
    ck_assert_int_ge(hung, 0);
    /* The same page again, once the timeout cut the first attempt. */
    int retried = 0;
    for (size_t i = 0; i < l.n; i++)
        if ((ssize_t)i != hung && strcmp(l.r[i].path, l.r[hung].path) == 0 &&
            strcmp(l.r[i].query, l.r[hung].query) == 0 && l.r[i].status == 200 &&
            l.r[i].time_ms >= l.r[hung].time_ms + 290 && l.r[i].time_ms < l.r[hung].time_ms + 1500)
            retried++;
    ck_assert_int_eq(retried, 1);
    reqlog_free(&l);
    assert_mirrors(&env, "acme");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 6. 403 on one resource ---- */

static bool others_done_thrice(void *arg)
{
    struct engine *e = arg;
    return slot_of(e, "acme", "groups")->scans_finished >= 1 &&
           slot_of(e, "acme", "users")->scans_complete >= 3 &&
           slot_of(e, "acme", "projects")->scans_complete >= 3 && complete_at_least(e, "beta", 3);
}

static bool forbidden_hint(const cJSON *line, const void *arg)
{
    (void)arg;
    const char *m = jstr(line, "msg"), *t = jstr(line, "tenant"), *r = jstr(line, "resource"),
               *c = jstr(line, "error_class");
    return m && t && r && c && strcmp(t, "acme") == 0 && strcmp(r, "groups") == 0 &&
           strcmp(c, "forbidden") == 0 && jnum(line, "http_status") == 403 &&
           strstr(m, "grant the token");
}

START_TEST(forbidden_stops_only_that_resource)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 10, 10);
    tu_tenant(&env, "beta", 20, 10, 10);
    tu_fake_start(&env);
    add_fault(&env, &(struct fake_fault){.path = "/v1/groups",
                                         .tenant = "acme",
                                         .kind = FAKE_FAULT_STATUS,
                                         .status = 403});
    two_tenants(&env, NULL, NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct tu_logcap cap;
    tu_log_capture_start(&cap);
    /* Three rounds of the others: two poll intervals passed since the 403. */
    ck_assert(tu_run_until(&te, others_done_thrice, te.e, 10000));
    struct slot *groups = slot_of(te.e, "acme", "groups");
    ck_assert(groups->forbidden);
    ck_assert_int_eq(groups->scans_complete, 0);
    ck_assert_int_eq(groups->scans_finished, 1);
    ck_assert_int_eq(count_lines(tu_log_capture_text(&cap), forbidden_hint, NULL), 1);
    tu_engine_stop(&te);
    tu_log_capture_end(&cap);
    struct reqlog l;
    reqlog_get(&env, &l);
    ck_assert_int_eq(reqs_between(&l, "acme", "/v1/groups", 0, INT64_MAX), 1);
    reqlog_free(&l);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "projects"), 0);
    ck_assert_int_eq(
        tu_db_int(&env,
                  "SELECT count(*) FROM records WHERE tenant = 'acme' AND resource = 'groups'",
                  NULL),
        0);
    assert_mirrors(&env, "beta");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 7. the retry budget ---- */

static bool budget_settled(void *arg)
{
    struct engine *e = arg;
    for (int r = 0; r < 3; r++)
        if (slot_of(e, "acme", resources[r])->scans_finished < 1)
            return false;
    return complete_at_least(e, "beta", 1);
}

START_TEST(retry_budget_bounds_retries_per_tenant)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 10, 10);
    tu_tenant(&env, "beta", 40, 10, 10);
    tu_fake_start(&env);
    add_fault(&env,
              &(struct fake_fault){
                  .path = "/v1/*", .tenant = "acme", .kind = FAKE_FAULT_STATUS, .status = 503});
    /* beta needs two retries of its own: its budget is not acme's. */
    int beta_fault = add_fault(&env, &(struct fake_fault){.path = "/v1/users",
                                                          .tenant = "beta",
                                                          .count = 2,
                                                          .kind = FAKE_FAULT_STATUS,
                                                          .status = 503});
    /* One scan per slot in this test (the interval is long): acme's first
     * attempts are one per resource, and only the budget limits retries. */
    two_tenants(&env,
                "retry.budget = 10\nretry.budget_cost = 5\nretry.max_attempts = 20\n"
                "poll.interval = 1h\n",
                NULL, NULL);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct tu_logcap cap;
    tu_log_capture_start(&cap);
    ck_assert(tu_run_until(&te, budget_settled, te.e, 10000));
    /* Let anything that would still retry show itself. */
    tu_run_for(&te, 300);
    int exhausted = count_lines(tu_log_capture_text(&cap), msg_has, "retry budget exhausted");
    tu_engine_stop(&te);
    tu_log_capture_end(&cap);
    struct reqlog l;
    reqlog_get(&env, &l);
    int acme = reqs_between(&l, "acme", NULL, 0, INT64_MAX);
    /* 3 first attempts + budget / cost = 2 retries; 60 without a budget. */
    ck_assert_msg(acme == 3 + 10 / 5, "acme sent %d requests", acme);
    reqlog_free(&l);
    ck_assert_int_eq(exhausted, 3);
    ck_assert_int_eq(fake_fault_hits(env.fake, beta_fault), 2);
    assert_mirrors(&env, "beta");
    tu_env_cleanup(&env);
}
END_TEST

/* ---- 8. retries are visible ---- */

static bool is_retry_line(const cJSON *line, const void *arg)
{
    (void)arg;
    const char *m = jstr(line, "msg");
    return m && strstr(m, "failed; retrying");
}

static bool is_complete_retry_line(const cJSON *line, const void *arg)
{
    (void)arg;
    if (!is_retry_line(line, NULL))
        return false;
    const char *trace = jstr(line, "trace_id"), *t = jstr(line, "tenant"),
               *r = jstr(line, "resource"), *c = jstr(line, "error_class");
    return trace && strlen(trace) >= 8 && t && strcmp(t, "acme") == 0 && r &&
           (strcmp(r, "users") == 0 || strcmp(r, "groups") == 0 || strcmp(r, "projects") == 0) &&
           c && strcmp(c, "transient") == 0 && jnum(line, "http_status") == 503 &&
           jhas_num(line, "attempt") && jnum(line, "attempt") >= 1 && jhas_num(line, "delay_ms") &&
           jnum(line, "delay_ms") >= 0 && jnum(line, "delay_ms") <= 50;
}

START_TEST(every_retry_is_one_structured_log_line)
{
    struct tu_env env;
    tu_env_init(&env, NULL);
    tu_tenant(&env, "acme", 40, 10, 10);
    tu_fake_start(&env);
    int id =
        add_fault(&env, &(struct fake_fault){
                            .path = "/v1/*", .count = 5, .kind = FAKE_FAULT_STATUS, .status = 503});
    char *a = tu_tenant_ini("acme", NULL);
    tu_config(&env, "retry.max_attempts = 10\n", a);
    free(a);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    struct tu_logcap cap;
    tu_log_capture_start(&cap);
    ck_assert(tu_run_until(&te, all_complete1, te.e, 10000));
    const char *text = tu_log_capture_text(&cap);
    int retries = count_lines(text, is_retry_line, NULL);
    int complete = count_lines(text, is_complete_retry_line, NULL);
    tu_engine_stop(&te);
    tu_log_capture_end(&cap);
    ck_assert_int_eq(fake_fault_hits(env.fake, id), 5);
    ck_assert_int_eq(retries, 5);
    ck_assert_int_eq(complete, 5);
    assert_mirrors(&env, "acme");
    tu_env_cleanup(&env);
}
END_TEST

struct rotation {
    struct tu_env *env;
};

static bool users_mirrored(void *arg)
{
    struct rotation *r = arg;
    return tu_db_int(r->env, "SELECT count(*) FROM records WHERE resource = 'users'", NULL) == 60;
}

/*
 * The token is rotated (the old one refused from now on) while requests
 * sent with it are still in flight.  Their 401s come back after the daemon
 * already read the new token: they must not stop the tenant, which would
 * then wait for a token change that has already happened.
 */
START_TEST(token_rotated_with_requests_in_flight)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.latency_ms = 300;
    struct tu_env env;
    tu_env_init(&env, &o);
    tu_tenant(&env, "acme", 60, 0, 0);
    tu_fake_start(&env);
    char *ini = tu_tenant_ini("acme", "resources = users");
    tu_config(&env, "vomo.max_concurrency = 4\n", ini);
    struct tu_engine te;
    tu_engine_start(&env, &te);
    tu_run_for(&te, 100); /* page 1 is on the wire with the old token */
    tu_fake_set_token(&env, "acme", "token-acme-rotated-987654");
    tu_write(&env, "acme.token", "token-acme-rotated-987654\n");
    struct tenant *t = engine_tenant(te.e, "acme");
    tenant_refresh(t, false); /* the file watch, now rather than within 2 s */
    struct rotation r = {.env = &env};
    ck_assert(tu_run_until(&te, users_mirrored, &r, 8000));
    ck_assert_int_eq(t->status, TENANT_OK);
    tu_engine_stop(&te);
    char *st = tu_db_text(&env, "SELECT status FROM tenant_state WHERE tenant = 'acme'", NULL);
    ck_assert_str_eq(st, "ok");
    free(st);
    ck_assert_int_eq(tu_mirror_diff(&env, "acme", "users"), 0);
    /* The old token was indeed refused at least once. */
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(env.fake, &reqs, &n), 0);
    int refused = 0;
    for (size_t i = 0; i < n; i++)
        refused += reqs[i].status == 401;
    fake_requests_free(reqs, n);
    ck_assert_int_ge(refused, 1);
    free(ini);
    tu_env_cleanup(&env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resilience");
    TCase *tc = tcase_create("fake");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_503_and_resets_lose_nothing);
    tcase_add_test(tc, retry_after_seconds_holds_the_whole_token);
    tcase_add_test(tc, retry_after_http_date_holds_the_whole_token);
    tcase_add_test(tc, ratelimit_headers_pace_requests_before_a_429);
    tcase_add_test(tc, outage_opens_breaker_one_probe_per_open_timeout);
    tcase_add_test(tc, revoked_token_stops_its_tenant_until_the_file_changes);
    tcase_add_test(tc, token_rotated_with_requests_in_flight);
    tcase_add_test(tc, hanging_request_is_cut_by_request_timeout_and_retried);
    tcase_add_test(tc, forbidden_stops_only_that_resource);
    tcase_add_test(tc, retry_budget_bounds_retries_per_tenant);
    tcase_add_test(tc, every_retry_is_one_structured_log_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
