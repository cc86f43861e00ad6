/*
 * check_hintproc.c - integration suite of VOMO's webhooks as hints: the
 * real daemon binary, its endpoint POST /hooks/vomo/TENANT and its hint
 * processor, against the fake VOMO, with events signed here (OpenSSL
 * HMAC-SHA256, as VOMO signs).  Good and bad signatures (a one-byte change
 * of the body fails), refusals (404, 413) and their log line without the
 * body, a replay that changes nothing, a project.updated hint reaching the
 * mirror within 2 s while the poll interval is an hour, a project.deleted
 * hint leading to its confirmed deletion, bursts of 100 hints costing a
 * few requests, a burst of 100 deletion hints read at the paced rate and
 * each confirmed by VOMO's 404s, deletion reads leaving a place free for
 * an update, unknown types recorded and ignored, the counts in
 * `status`, and the gap ratio on /metrics.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sign.h"
#include "testutil.h"
#include "util.h"

#define SECRET "vomo-hook-secret"

struct daemon_run {
    struct tu_env env;
    pid_t pid;
    uint16_t port;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

/* POSTs body to path with vomo-signature `sig` (NULL: none); returns the
 * status and the answer (caller frees). */
static long post(uint16_t port, const char *path, const char *body, size_t len, const char *sig,
                 char **answer)
{
    struct buf b;
    buf_init(&b, 1024 * 1024);
    char url[256], hdr[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (sig) {
        snprintf(hdr, sizeof(hdr), "vomo-signature: %s", sig);
        h = curl_slist_append(h, hdr);
    }
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (!b.data)
        (void)!buf_puts(&b, "");
    *answer = buf_steal(&b);
    return status;
}

/* POSTs an event signed with SECRET to acme's hook; returns the status. */
static long send_event(struct daemon_run *d, const char *body)
{
    char sig[SHA256_HEX_LEN], *answer;
    sign_hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body), sig);
    long st = post(d->port, "/hooks/vomo/acme", body, strlen(body), sig, &answer);
    free(answer);
    return st;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool complete_scans_1(void *arg)
{
    return tu_db_int(arg, "SELECT count(*) FROM scans WHERE status = 'complete'", NULL) >= 1;
}

/* The daemon with tenant acme (projects only, VOMO webhooks on) after its
 * first scan. */
static void start(struct daemon_run *d, const char *overrides, int projects)
{
    tu_env_init(&d->env, NULL);
    tu_tenant(&d->env, "acme", 0, 0, projects);
    tu_tenant(&d->env, "plain", 0, 0, 3);
    tu_fake_start(&d->env);
    const char *secret = tu_write(&d->env, "acme.vomo-secret", SECRET "\n");
    char more[512];
    snprintf(more, sizeof(more), "resources = projects\nvomo_webhook_secret_file = %s", secret);
    char *a = tu_tenant_ini("acme", more);
    char *p = tu_tenant_ini("plain", "resources = projects");
    char ini[2048];
    snprintf(ini, sizeof(ini), "%s%s", a, p);
    free(a);
    free(p);
    char ov[512];
    snprintf(ov, sizeof(ov), "daemon.log_level = info\n%s",
             overrides ? overrides : "poll.interval = 1h\n");
    tu_config(&d->env, ov, ini);
    d->pid = tu_daemon_spawn(&d->env, NULL, NULL);
    d->port = tu_daemon_http_port(&d->env, 10000);
    ck_assert_uint_ne(d->port, 0);
    ck_assert(tu_wait(complete_scans_1, &d->env, 10000));
    /* both tenants' first scans */
    for (int i = 0; i < 500 && tu_db_int(&d->env, "SELECT count(*) FROM scans", NULL) < 2; i++)
        usleep(10000);
    fake_requests_clear(d->env.fake);
}

static void stop(struct daemon_run *d)
{
    kill(d->pid, SIGTERM);
    ck_assert_int_eq(tu_daemon_wait(d->pid, 10000), 0);
    tu_env_cleanup(&d->env);
}

static void project_id_at(struct daemon_run *d, size_t i, char out[32])
{
    struct fake_record *recs;
    size_t n;
    ck_assert_int_eq(fake_records(d->env.fake, "acme", "projects", &recs, &n), 0);
    ck_assert_uint_gt(n, i);
    snprintf(out, 32, "%s", recs[i].id);
    fake_records_free(recs, n);
}

/* Requests the fake received on exactly `path`. */
static int requests_on(struct daemon_run *d, const char *path)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(d->env.fake, &reqs, &n), 0);
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += strcmp(reqs[i].path, path) == 0;
    fake_requests_free(reqs, n);
    return count;
}

static int requests_all(struct daemon_run *d)
{
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(d->env.fake, &reqs, &n), 0);
    fake_requests_free(reqs, n);
    return (int)n;
}

static char *held(struct daemon_run *d, const char *id)
{
    return tu_db_text(&d->env,
                      "SELECT updated_at FROM records WHERE tenant = 'acme' AND "
                      "resource = 'projects' AND id = ?1",
                      id, NULL);
}

static int64_t hints_with(struct daemon_run *d, const char *outcome)
{
    return tu_db_int(&d->env, "SELECT count(*) FROM vomo_hints WHERE outcome = ?1", outcome, NULL);
}

static double metric(uint16_t port, const char *series)
{
    char *body;
    ck_assert_int_eq(tu_http("GET", port, "/metrics", &body, NULL), 200);
    const char *p = strstr(body, series);
    double v = -1;
    if (p)
        v = strtod(p + strlen(series), NULL);
    free(body);
    return v;
}

static char *event(const char *type, const char *id)
{
    char *b = xcalloc(1, 256);
    snprintf(b, 256, "{\"type\":\"%s\",\"organization_id\":1,\"data\":{\"id\":%s,\"title\":\"x\"}}",
             type, id);
    return b;
}

START_TEST(signatures_are_checked_before_anything_else)
{
    struct daemon_run d;
    start(&d, NULL, 20);
    char id[32];
    project_id_at(&d, 1, id);
    char *body = event("project.updated", id);
    char sig[SHA256_HEX_LEN], *answer;
    sign_hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body), sig);

    /* a one-byte change of the body fails */
    char *changed = xstrdup(body);
    changed[strlen(changed) - 3] = 'y';
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", changed, strlen(changed), sig, &answer), 401);
    free(answer);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", body, strlen(body), NULL, &answer), 401);
    free(answer);
    char wrong[SHA256_HEX_LEN];
    sign_hmac_sha256_hex("not-the-secret", 14, body, strlen(body), wrong);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", body, strlen(body), wrong, &answer), 401);
    free(answer);
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT count(*) FROM vomo_hints", NULL), 0);
    ck_assert(metric(d.port, "vomo_sync_vomo_hint_bad_signatures_total{tenant=\"acme\"} ") == 3);

    /* a tenant without a secret, an unknown one, a body over the cap */
    ck_assert_int_eq(post(d.port, "/hooks/vomo/plain", body, strlen(body), sig, &answer), 404);
    free(answer);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/nobody", body, strlen(body), sig, &answer), 404);
    free(answer);
    size_t big_len = 300 * 1024;
    char *big = xcalloc(1, big_len + 1);
    memset(big, ' ', big_len);
    char big_sig[SHA256_HEX_LEN];
    sign_hmac_sha256_hex(SECRET, strlen(SECRET), big, big_len, big_sig);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", big, big_len, big_sig, &answer), 413);
    free(answer);
    free(big);

    /* the right signature: 202 at once, recorded */
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", body, strlen(body), sig, &answer), 202);
    ck_assert_msg(strstr(answer, "\"accepted\""), "%s", answer);
    free(answer);
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT count(*) FROM vomo_hints", NULL), 1);
    stop(&d);
    free(body);
    free(changed);
}
END_TEST

START_TEST(refusals_are_logged_without_the_body)
{
    struct daemon_run d;
    start(&d, NULL, 5);
    const char *body = "{\"type\":\"project.updated\",\"data\":{\"id\":1,\"marker\":\"QX7-BODY\"}}";
    char *answer;
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", body, strlen(body), "00", &answer), 401);
    free(answer);
    char *log = tu_daemon_log(&d.env);
    ck_assert_msg(strstr(log, "refused (401)"), "%s", log);
    ck_assert(!strstr(log, "QX7-BODY"));
    ck_assert(!strstr(log, SECRET));
    free(log);
    stop(&d);
}
END_TEST

START_TEST(replay_changes_nothing)
{
    struct daemon_run d;
    start(&d, NULL, 20);
    char id[32], path[64];
    project_id_at(&d, 2, id);
    snprintf(path, sizeof(path), "/v1/projects/%s", id);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", id), 0);
    char *body = event("project.updated", id);
    ck_assert_int_eq(send_event(&d, body), 202);
    for (int i = 0; i < 300 && hints_with(&d, "applied") < 1; i++)
        usleep(10000);
    ck_assert_int_eq(hints_with(&d, "applied"), 1);
    ck_assert_int_eq(send_event(&d, body), 202); /* VOMO's retry after 10 s */
    ck_assert_int_eq(send_event(&d, body), 202); /* and after 100 s */
    usleep(300 * 1000);
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT count(*) FROM vomo_hints", NULL), 1);
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT replays FROM vomo_hints", NULL), 2);
    ck_assert_int_eq(requests_on(&d, path), 1);
    ck_assert_int_eq(requests_all(&d), 1);
    free(body);
    stop(&d);
}
END_TEST

START_TEST(updated_hint_reaches_the_mirror_within_2s)
{
    struct daemon_run d;
    start(&d, NULL, 20);
    char id[32];
    project_id_at(&d, 5, id);
    char *before = held(&d, id);
    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", id), 0);
    char *body = event("project.updated", id);
    int64_t t0 = now_ms();
    ck_assert_int_eq(send_event(&d, body), 202);
    char *after = NULL;
    while (now_ms() - t0 < 2000) {
        free(after);
        after = held(&d, id);
        if (after && strcmp(after, before) != 0)
            break;
        usleep(10000);
    }
    ck_assert_msg(after && strcmp(after, before) != 0, "the change did not arrive within 2 s");
    /* A read by id, not a scan; the checkpoint did not move. */
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL),
                     1);
    for (int i = 0; i < 100 && hints_with(&d, "applied") < 1; i++)
        usleep(10000);
    ck_assert_int_eq(hints_with(&d, "applied"), 1);
    free(before);
    free(after);
    free(body);
    stop(&d);
}
END_TEST

START_TEST(deleted_hint_leads_to_a_confirmed_deletion)
{
    struct daemon_run d;
    start(&d, NULL, 20);
    char id[32], path[64];
    project_id_at(&d, 3, id);
    snprintf(path, sizeof(path), "/v1/projects/%s", id);
    ck_assert_int_eq(fake_delete_id(d.env.fake, "acme", "projects", id), 0);
    char *body = event("project.deleted", id);
    ck_assert_int_eq(send_event(&d, body), 202);
    for (int i = 0; i < 300 && hints_with(&d, "deleted") < 1; i++)
        usleep(10000);
    ck_assert_int_eq(hints_with(&d, "deleted"), 1);
    ck_assert_int_eq(tu_db_int(&d.env,
                               "SELECT count(*) FROM records WHERE resource = 'projects' AND "
                               "id = ?1 AND deleted_at IS NOT NULL",
                               id, NULL),
                     1);
    /* confirmed like reconciliation: every [retry] attempt answered 404 */
    ck_assert_int_eq(requests_on(&d, path), 5);
    /* a deletion hint for a record VOMO still has deletes nothing */
    char other[32];
    project_id_at(&d, 4, other);
    free(body);
    body = event("project.deleted", other);
    ck_assert_int_eq(send_event(&d, body), 202);
    for (int i = 0; i < 300 && hints_with(&d, "skipped") < 1; i++)
        usleep(10000);
    ck_assert_int_eq(hints_with(&d, "skipped"), 1);
    ck_assert_int_eq(tu_db_int(&d.env,
                               "SELECT count(*) FROM records WHERE resource = 'projects' AND "
                               "id = ?1 AND deleted_at IS NULL",
                               other, NULL),
                     1);
    free(body);
    stop(&d);
}
END_TEST

static bool all_settled(void *arg)
{
    struct daemon_run *d = arg;
    return hints_with(d, "pending") == 0;
}

START_TEST(burst_of_100_hints_costs_a_few_requests)
{
    struct daemon_run d;
    start(&d, NULL, 120);
    /* 100 hints of one record: one read */
    char id[32], path[64];
    project_id_at(&d, 7, id);
    snprintf(path, sizeof(path), "/v1/projects/%s", id);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", id), 0);
    for (int i = 0; i < 100; i++) {
        char b[160];
        snprintf(b, sizeof(b),
                 "{\"id\":\"evt-%d\",\"type\":\"project.updated\",\"data\":{\"id\":%s}}", i, id);
        ck_assert_int_eq(send_event(&d, b), 202);
    }
    ck_assert(tu_wait(all_settled, &d, 5000));
    ck_assert_int_eq(tu_db_int(&d.env, "SELECT count(*) FROM vomo_hints", NULL), 100);
    int one = requests_all(&d);
    fprintf(stderr, "check_hintproc: 100 hints of one record: %d request(s) to VOMO\n", one);
    ck_assert_int_le(requests_on(&d, path), 3);
    ck_assert_int_le(one, 3);
    ck_assert_int_eq(hints_with(&d, "pending"), 0);

    /* 100 hints of 100 records: one early scan, no reads by id */
    fake_requests_clear(d.env.fake);
    for (int i = 0; i < 100; i++) {
        char pid[32], b[160];
        project_id_at(&d, (size_t)i, pid);
        snprintf(b, sizeof(b),
                 "{\"id\":\"evt-b%d\",\"type\":\"project.updated\",\"data\":{\"id\":%s}}", i, pid);
        ck_assert_int_eq(send_event(&d, b), 202);
    }
    ck_assert(tu_wait(all_settled, &d, 8000));
    for (int i = 0; i < 300 && tu_db_int(&d.env,
                                         "SELECT count(*) FROM scans WHERE tenant = "
                                         "'acme'",
                                         NULL) < 2;
         i++)
        usleep(10000);
    ck_assert_int_ge(hints_with(&d, "scanned"), 100 - 3);
    int total = requests_all(&d);
    fprintf(stderr,
            "check_hintproc: 100 hints of 100 records: %d request(s) to VOMO, %lld read(s) by id, "
            "%lld early scan(s)\n",
            total, (long long)(100 - hints_with(&d, "scanned")),
            (long long)tu_db_int(&d.env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL) -
                1);
    ck_assert_msg(total >= 1 && total <= 6, "%d requests", total);
    ck_assert_int_le(tu_db_int(&d.env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL),
                     3);
    stop(&d);
}
END_TEST

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t deleted_in_mirror(struct daemon_run *d)
{
    return tu_db_int(&d->env,
                     "SELECT count(*) FROM records WHERE tenant = 'acme' AND resource = "
                     "'projects' AND deleted_at IS NOT NULL",
                     NULL);
}

/*
 * 100 deletion hints in a burst, for 100 projects deleted in VOMO (and one
 * for a project VOMO still has).  The bound this design promises
 * (hintpace.h): each hinted record is read once, its 404 confirmed with
 * the [retry] attempts as in reconciliation, so the burst costs at most
 * 100 * retry.max_attempts + 1 GETs and no listing; and the reads begin at
 * the pace of poll.hint_delete_interval (30 ms here): within any t, at
 * most HINTPACE_BURST + t / 30 ms first attempts (HINTPROC_FETCHES more
 * are allowed for, since a read's first attempt can wait in the lane and
 * reach the fake later than it began).  The mirror deletes a record only
 * once VOMO answered 404 to each attempt, and never the one VOMO has.
 */
START_TEST(burst_of_100_deletion_hints_is_paced_and_confirmed)
{
    enum { N = 100, ATTEMPTS = 5, PACE_MS = 30, BURST = 5, FETCHES = 4 };
    struct daemon_run d;
    start(&d, "poll.interval = 1h\npoll.hint_delete_interval = 30ms\nretry.budget = 100000\n", 120);
    char ids[N][32], kept[32];
    for (int i = 0; i < N; i++) {
        project_id_at(&d, (size_t)i, ids[i]);
    }
    project_id_at(&d, 110, kept);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(fake_delete_id(d.env.fake, "acme", "projects", ids[i]), 0);
    fake_requests_clear(d.env.fake);
    int64_t t0 = now_ms();
    for (int i = 0; i < N; i++) {
        char b[160];
        snprintf(b, sizeof(b),
                 "{\"id\":\"evt-d%d\",\"type\":\"project.deleted\",\"data\":{\"id\":%s}}", i,
                 ids[i]);
        ck_assert_int_eq(send_event(&d, b), 202);
    }
    char b[160];
    snprintf(b, sizeof(b),
             "{\"id\":\"evt-kept\",\"type\":\"project.deleted\",\"data\":{\"id\":%s}}", kept);
    ck_assert_int_eq(send_event(&d, b), 202);
    /* Paced: a burst of 101 is not read at once, and no hint alone deleted anything. */
    int64_t mid_deleted = deleted_in_mirror(&d), mid_pending = hints_with(&d, "pending");
    ck_assert_int_gt(mid_pending, 0);
    ck_assert(tu_wait(all_settled, &d, 20000));
    int64_t elapsed = now_ms() - t0;

    /* (b) every record deleted in the mirror, each after ATTEMPTS 404s */
    ck_assert_int_eq(hints_with(&d, "deleted"), N);
    ck_assert_int_eq(deleted_in_mirror(&d), N);
    struct fake_request *reqs;
    size_t n;
    ck_assert_int_eq(fake_requests(d.env.fake, &reqs, &n), 0);
    int64_t firsts[N];
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/v1/projects/%s", ids[i]);
        int got = 0;
        firsts[i] = INT64_MAX;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(reqs[k].path, path) != 0)
                continue;
            ck_assert_int_eq(reqs[k].status, 404);
            got++;
            if (reqs[k].time_ms < firsts[i])
                firsts[i] = reqs[k].time_ms;
        }
        ck_assert_msg(got == ATTEMPTS, "record %s: %d GETs", ids[i], got);
    }
    /* (a) the bound: no listing, nothing but the reads */
    ck_assert_uint_le(n, (size_t)(N * ATTEMPTS + 1));
    qsort(firsts, N, sizeof(firsts[0]), cmp_i64);
    for (int i = 0; i < N; i++)
        for (int j = i; j < N; j++) {
            int64_t span = firsts[j] - firsts[i];
            ck_assert_msg(j - i + 1 <= BURST + span / PACE_MS + FETCHES,
                          "%d reads began within %lld ms (pace %d ms)", j - i + 1, (long long)span,
                          PACE_MS);
        }
    ck_assert_int_ge(firsts[N - 1] - firsts[0], (N - BURST - FETCHES) * PACE_MS);
    fake_requests_free(reqs, n);

    /* (c) the record VOMO still has: read once, kept */
    char path[64];
    snprintf(path, sizeof(path), "/v1/projects/%s", kept);
    ck_assert_int_eq(requests_on(&d, path), 1);
    ck_assert_int_eq(hints_with(&d, "skipped"), 1);
    ck_assert_int_eq(tu_db_int(&d.env,
                               "SELECT count(*) FROM records WHERE resource = 'projects' AND "
                               "id = ?1 AND deleted_at IS NULL",
                               kept, NULL),
                     1);
    fprintf(stderr,
            "check_hintproc: 100 deletion hints (+1 for a kept record): %zu request(s) to VOMO "
            "in %lld ms, reads begun over %lld ms; %lld deleted and %lld pending right after "
            "the burst\n",
            n, (long long)elapsed, (long long)(firsts[N - 1] - firsts[0]), (long long)mid_deleted,
            (long long)mid_pending);
    stop(&d);
}
END_TEST

/*
 * Deletion reads leave a place free for updates: six deletion hints whose
 * first GET VOMO answers only after 1.5 s hold at most
 * HINTPROC_DELETE_FETCHES (3) of the tenant's 4 places, so a
 * project.updated hint sent meanwhile still reaches the mirror within a
 * second; the deletions then end confirmed.
 */
START_TEST(deletion_reads_leave_room_for_updates)
{
    enum { N = 6 };
    struct daemon_run d;
    start(&d, NULL, 20);
    char ids[N][32], upd[32];
    for (int i = 0; i < N; i++) {
        project_id_at(&d, (size_t)i, ids[i]);
        char path[64];
        snprintf(path, sizeof(path), "/v1/projects/%s", ids[i]);
        struct fake_fault f = {
            .method = "GET", .path = path, .count = 1, .kind = FAKE_FAULT_DELAY, .delay_ms = 1500};
        ck_assert_int_gt(fake_add_fault(d.env.fake, &f), 0);
    }
    project_id_at(&d, 10, upd);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(fake_delete_id(d.env.fake, "acme", "projects", ids[i]), 0);
        char b[160];
        snprintf(b, sizeof(b),
                 "{\"id\":\"evt-r%d\",\"type\":\"project.deleted\",\"data\":{\"id\":%s}}", i,
                 ids[i]);
        ck_assert_int_eq(send_event(&d, b), 202);
    }
    usleep(200 * 1000); /* the deletion reads are waiting for VOMO now */
    char *before = held(&d, upd);
    ck_assert_ptr_nonnull(before);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", upd), 0);
    char *body = event("project.updated", upd);
    int64_t t0 = now_ms();
    ck_assert_int_eq(send_event(&d, body), 202);
    char *after = NULL;
    while (now_ms() - t0 < 1000) {
        free(after);
        after = held(&d, upd);
        if (after && strcmp(after, before) != 0)
            break;
        usleep(10000);
    }
    ck_assert_msg(after && strcmp(after, before) != 0,
                  "the update waited for the deletion reads (%lld ms)", (long long)(now_ms() - t0));
    ck_assert_int_eq(hints_with(&d, "deleted"), 0); /* none confirmed yet */
    ck_assert(tu_wait(all_settled, &d, 10000));
    ck_assert_int_eq(hints_with(&d, "deleted"), N);
    free(before);
    free(after);
    free(body);
    stop(&d);
}
END_TEST

START_TEST(unknown_types_are_recorded_and_ignored)
{
    struct daemon_run d;
    start(&d, NULL, 5);
    ck_assert_int_eq(send_event(&d, "{\"type\":\"campaign.updated\",\"data\":{\"id\":3}}"), 202);
    ck_assert_int_eq(send_event(&d, "{\"type\":\"participation.created\",\"data\":{\"id\":4}}"),
                     202);
    char *answer;
    char sig[SHA256_HEX_LEN];
    const char *bad = "{\"data\":{\"id\":3}}";
    sign_hmac_sha256_hex(SECRET, strlen(SECRET), bad, strlen(bad), sig);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/acme", bad, strlen(bad), sig, &answer), 400);
    free(answer);
    usleep(200 * 1000);
    ck_assert_int_eq(hints_with(&d, "ignored"), 2);
    ck_assert_int_eq(requests_all(&d), 0);
    ck_assert(metric(d.port, "vomo_sync_vomo_hints_total{tenant=\"acme\",type=\"campaign."
                             "updated\",outcome=\"ignored\"} ") == 1);
    /* status shows the hints */
    char *body;
    ck_assert_int_eq(tu_http("GET", d.port, "/status", &body, NULL), 200);
    cJSON *doc = cJSON_Parse(body);
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "hints"), 0);
    ck_assert_msg(h, "%s", body);
    ck_assert_str_eq(cJSON_GetObjectItem(h, "tenant")->valuestring, "acme");
    ck_assert_int_eq(cJSON_GetObjectItem(h, "received")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(h, "ignored")->valueint, 2);
    cJSON_Delete(doc);
    free(body);
    stop(&d);
}
END_TEST

/* SIGHUP reads the secret files again: a key added (or a secret changed)
 * takes effect without a restart. */
START_TEST(reload_reads_the_secret_again)
{
    struct daemon_run d;
    start(&d, NULL, 5);
    const char *body = "{\"type\":\"project.updated\",\"data\":{\"id\":1}}";
    char sig[SHA256_HEX_LEN], *answer;
    sign_hmac_sha256_hex("plain-secret", 12, body, strlen(body), sig);
    ck_assert_int_eq(post(d.port, "/hooks/vomo/plain", body, strlen(body), sig, &answer), 404);
    free(answer);
    const char *secret = tu_write(&d.env, "plain.vomo-secret", "plain-secret\n");
    const char *acme_secret = tu_write(&d.env, "acme.vomo-secret", "rotated\n");
    char more_a[512], more_p[512];
    snprintf(more_a, sizeof(more_a), "resources = projects\nvomo_webhook_secret_file = %s",
             acme_secret);
    snprintf(more_p, sizeof(more_p), "resources = projects\nvomo_webhook_secret_file = %s", secret);
    char *a = tu_tenant_ini("acme", more_a);
    char *p = tu_tenant_ini("plain", more_p);
    char ini[2048];
    snprintf(ini, sizeof(ini), "%s%s", a, p);
    free(a);
    free(p);
    tu_config(&d.env, "daemon.log_level = info\npoll.interval = 1h\n", ini);
    kill(d.pid, SIGHUP);
    long st = 0;
    for (int i = 0; i < 300 && st != 202; i++) {
        st = post(d.port, "/hooks/vomo/plain", body, strlen(body), sig, &answer);
        free(answer);
        if (st != 202)
            usleep(10000);
    }
    ck_assert_int_eq(st, 202);
    /* acme's old secret no longer signs */
    ck_assert_int_eq(send_event(&d, body), 401);
    stop(&d);
}
END_TEST

static bool scans_at_least(struct daemon_run *d, int64_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (tu_db_int(&d->env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL) >= n)
            return true;
        usleep(5000);
    }
    return false;
}

/* One change a hint brought, one a poll found unannounced: 0.5. */
START_TEST(gap_ratio_counts_changes_no_hint_announced)
{
    struct daemon_run d;
    start(&d, "poll.interval = 1500ms\n", 20);
    int64_t n = tu_db_int(&d.env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL);
    ck_assert(scans_at_least(&d, n + 1)); /* just after a poll: the next is 1.5 s away */
    char a[32], b[32];
    project_id_at(&d, 1, a);
    project_id_at(&d, 2, b);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", a), 0);
    char *body = event("project.updated", a);
    ck_assert_int_eq(send_event(&d, body), 202);
    for (int i = 0; i < 300 && hints_with(&d, "applied") < 1; i++)
        usleep(10000);
    ck_assert_int_eq(hints_with(&d, "applied"), 1);
    ck_assert(metric(d.port,
                     "vomo_sync_vomo_hint_gap_ratio{tenant=\"acme\",resource=\"projects\"} ") == 0);
    ck_assert_int_eq(fake_mutate_id(d.env.fake, "acme", "projects", b), 0);
    int64_t m = tu_db_int(&d.env, "SELECT count(*) FROM scans WHERE tenant = 'acme'", NULL);
    ck_assert(scans_at_least(&d, m + 1));
    usleep(100 * 1000);
    double gap =
        metric(d.port, "vomo_sync_vomo_hint_gap_ratio{tenant=\"acme\",resource=\"projects\"} ");
    ck_assert_msg(gap == 0.5, "gap ratio %g", gap);
    free(body);
    stop(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hintproc");
    TCase *tc = tcase_create("hintproc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, signatures_are_checked_before_anything_else);
    tcase_add_test(tc, refusals_are_logged_without_the_body);
    tcase_add_test(tc, replay_changes_nothing);
    tcase_add_test(tc, updated_hint_reaches_the_mirror_within_2s);
    tcase_add_test(tc, deleted_hint_leads_to_a_confirmed_deletion);
    tcase_add_test(tc, burst_of_100_hints_costs_a_few_requests);
    tcase_add_test(tc, burst_of_100_deletion_hints_is_paced_and_confirmed);
    tcase_add_test(tc, deletion_reads_leave_room_for_updates);
    tcase_add_test(tc, unknown_types_are_recorded_and_ignored);
    tcase_add_test(tc, gap_ratio_counts_changes_no_hint_announced);
    tcase_add_test(tc, reload_reads_the_secret_again);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
