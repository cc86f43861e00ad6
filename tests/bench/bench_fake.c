/*
 * bench_fake.c - throughput of the fake's list pages: starts a fake
 * in-process (one tenant, 100,000 users by default) and drives it with a
 * libcurl multi loop over keep-alive connections, printing requests per
 * second for plain pages, pages filtered by updated_after (the cached O(n)
 * filter) and shuffled pages.
 *
 *     build/rel/bench/bench_fake [users] [connections] [requests-per-mode]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

struct slot {
    CURL *e;
    char url[256];
};

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static long arg_or(int argc, char **argv, int i, long dflt)
{
    if (argc <= i)
        return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    return end != argv[i] && *end == '\0' && v > 0 ? v : dflt;
}

static void set_url(struct slot *s, uint16_t port, const char *query, long page)
{
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u/v1/users?page=%ld%s", (unsigned)port,
             page, query);
    curl_easy_setopt(s->e, CURLOPT_URL, s->url);
}

/* Runs `total` requests over `conns` connections; returns requests/s. */
static double run(uint16_t port, const char *query, long pages, int conns, long total, long *errors)
{
    CURLM *m = curl_multi_init();
    struct slot *slots = calloc((size_t)conns, sizeof(*slots));
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer bench-token");
    long started = 0, done = 0;
    *errors = 0;
    for (int i = 0; i < conns && started < total; i++, started++) {
        slots[i].e = curl_easy_init();
        curl_easy_setopt(slots[i].e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(slots[i].e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(slots[i].e, CURLOPT_PRIVATE, &slots[i]);
        set_url(&slots[i], port, query, 1 + started % pages);
        curl_multi_add_handle(m, slots[i].e);
    }
    int64_t t0 = clock_mono_ms();
    while (done < total) {
        int running, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            *errors += msg->data.result != CURLE_OK || status != 200;
            done++;
            curl_multi_remove_handle(m, s->e);
            if (started < total) {
                set_url(s, port, query, 1 + started++ % pages);
                curl_multi_add_handle(m, s->e);
            }
        }
        if (done < total)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = (double)(clock_mono_ms() - t0) / 1000.0;
    for (int i = 0; i < conns; i++)
        if (slots[i].e)
            curl_easy_cleanup(slots[i].e);
    free(slots);
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    return secs > 0 ? (double)total / secs : 0;
}

static int bench(const char *label, bool shuffle, const char *query, int users, int conns,
                 long total)
{
    struct fake_opts o;
    fake_opts_default(&o);
    o.shuffle = shuffle;
    struct fake *f = fake_new(&o);
    if (fake_add_tenant(f, "bench", "bench-token", users, 10, 10) < 0 || fake_start(f) < 0) {
        fprintf(stderr, "bench_fake: cannot start the fake\n");
        fake_free(f);
        return 1;
    }
    /* Pages 1..200 of the set (fewer when it is smaller): every request
     * returns a full page in each mode. */
    long pages = (users + 14) / 15 / 4, errors;
    if (pages > 200)
        pages = 200;
    double rps = run(fake_port(f), query, pages > 0 ? pages : 1, conns, total, &errors);
    printf("bench_fake: %-28s users=%d conns=%d requests=%ld: %.0f requests/s, errors=%ld\n", label,
           users, conns, total, rps, errors);
    fake_free(f);
    return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
    int users = (int)arg_or(argc, argv, 1, 100000);
    int conns = (int)arg_or(argc, argv, 2, 8);
    long total = arg_or(argc, argv, 3, 20000);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = bench("list page", false, "", users, conns, total);
    rc |= bench("list page, updated_after", false, "&updated_after=2025-06-01T00:00:00Z", users,
                conns, total);
    rc |= bench("list page, shuffle", true, "", users, conns, total / 4);
    curl_global_cleanup();
    return rc;
}
