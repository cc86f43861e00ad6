/*
 * rategate.c - the per-token gate that keeps vomo-sync inside VOMO's rate
 * limit.  A 429 blocks every request of the token (not only the one that
 * got it) until the instant Retry-After names; X-RateLimit-Remaining, when
 * VOMO sends it, spaces requests out before a 429 comes.  Pure: the clock
 * is a parameter and nothing here sleeps.
 *
 * Rules:
 * - Retry-After is delta seconds or an HTTP date (relative to `now`; a
 *   date in the past means 0).  A missing, unparseable or negative value
 *   waits RATEGATE_DEFAULT_WAIT_MS, and a value beyond
 *   RATEGATE_MAX_WAIT_MS waits that long: both report *clamped so the
 *   caller can log the absurd value once.  "0" waits 0 and is not clamped.
 * - A block is only ever extended: a later 429 with a shorter Retry-After
 *   (or a success) never lets requests start earlier than an earlier 429
 *   asked.
 * - The window's budget: once a response carried X-RateLimit-Remaining, the
 *   gate knows how many requests the current window still allows: that
 *   Remaining, minus every request started after the one it answered (they
 *   are in flight, or their answers are still to come).  When the budget is
 *   spent, nothing starts until the window ends (RATEGATE_WINDOW_MS after it
 *   began) plus RATEGATE_MARGIN_MS; then the next window's budget is the
 *   limit.  So the last requests of a window are never sent into a 429, and
 *   a whole window's quota goes out at once when the window opens.
 * - The window's start is learned: the start of the first request answered
 *   with a Remaining, and again whenever a response's Remaining is higher
 *   than the window's count allows (VOMO's window reset in between); a
 *   window that ends without being seen to reset continues on the same grid.
 *   That request's round trip (at most RATEGATE_SLACK_MAX_MS) is added to
 *   the wait for the next window: VOMO counted it at some instant of it.
 * - Requests in flight together reach VOMO in any order, so an answer's
 *   Remaining may leave out requests that started before it: the budget is
 *   the smaller of that Remaining (minus the starts after it) and the limit
 *   minus every start of the window, and a Remaining counts as a reset only
 *   when it is higher than expected by more than the requests in flight; a
 *   reset moves the window's phase but keeps its starts counted.
 *   A 429 counts as Remaining 0.  Without the headers there is no budget,
 *   only the 429 block.
 */
#include "rategate.h"

#include <errno.h>
#include <string.h>

#define RETRY_AFTER_MAX_LEN 64

void rategate_init(struct rategate *g)
{
    memset(g, 0, sizeof(*g));
    g->limit = -1;
}

/* The instant the request with sequence seq started, or fallback when it
 * is not (or no longer) remembered. */
static int64_t start_time(const struct rategate *g, int64_t seq, int64_t fallback)
{
    if (seq <= 0 || seq > g->seq || g->seq - seq >= RATEGATE_STARTS_KEPT)
        return fallback;
    return g->started_at[seq % RATEGATE_STARTS_KEPT];
}

/* The instant the next window's budget applies: the window's end, plus
 * the margin, plus how uncertain its start is (window_slack). */
static int64_t window_over(const struct rategate *g)
{
    return g->window_start + RATEGATE_WINDOW_MS + RATEGATE_MARGIN_MS + g->window_slack;
}

int64_t rategate_budget(const struct rategate *g, int64_t now)
{
    if (!g->have_window)
        return INT64_MAX;
    if (now >= window_over(g))
        return g->limit > 0 ? g->limit : 1;
    /* Both counts hold back what they know: VOMO's Remaining for the newest
     * answer (minus what started after it), and the limit minus every start
     * of this window.  Requests in flight together reach VOMO in any order,
     * so an answer's Remaining can leave out requests started before it:
     * the smaller count is the one to trust. */
    int64_t by_starts = g->limit > 0 ? g->limit - (g->seq - g->window_seq + 1) : INT64_MAX;
    if (g->have_obs) {
        int64_t by_obs = g->obs_remaining - (g->seq - g->obs_seq);
        return by_obs < by_starts ? by_obs : by_starts;
    }
    return by_starts;
}

int64_t rategate_next_start(const struct rategate *g, int64_t now)
{
    int64_t t = now;

    if (g->blocked_until > t)
        t = g->blocked_until;
    if (rategate_budget(g, t) <= 0 && window_over(g) > t)
        t = window_over(g);
    return t;
}

int64_t rategate_on_start(struct rategate *g, int64_t now)
{
    if (g->have_window && now >= window_over(g)) {
        /* The next window on the same grid: VOMO's windows do not move. */
        int64_t k =
            (now - g->window_start - RATEGATE_MARGIN_MS - g->window_slack) / RATEGATE_WINDOW_MS;
        g->window_start += k * RATEGATE_WINDOW_MS;
        g->window_seq = g->seq + 1;
        g->have_obs = false;
    }
    g->seq++;
    g->started_at[g->seq % RATEGATE_STARTS_KEPT] = now;
    return g->seq;
}

/*
 * A window begins with the request seq, answered now.  VOMO counted it
 * somewhere between its start and now, and its window began before that:
 * the start is the estimate, and the round trip is how late the true
 * start may be (window_slack), so the next burst waits for it too.  Being
 * late costs a few milliseconds of a window whose quota goes out at once;
 * being early sends requests into the old window's 429s, which is what
 * jittery round trips (a loaded machine) did with the fixed margin alone.
 */
static void begin_window(struct rategate *g, int64_t seq, int64_t now)
{
    g->have_window = true;
    g->window_start = start_time(g, seq, now);
    g->window_seq = seq;
    int64_t rtt = now - g->window_start;
    g->window_slack = rtt < 0 ? 0 : rtt > RATEGATE_SLACK_MAX_MS ? RATEGATE_SLACK_MAX_MS : rtt;
}

/* Learns from the X-RateLimit-* values of the response to request seq. */
static void observe(struct rategate *g, int64_t now, long limit, long remaining, int64_t seq)
{
    if (limit > 0)
        g->limit = limit;
    if (remaining < 0)
        return;
    if (seq <= 0 || seq > g->seq)
        seq = g->seq;
    if (!g->have_window) {
        begin_window(g, seq, now);
    } else if (seq < g->window_seq || (g->have_obs && seq <= g->obs_seq)) {
        return; /* older than what the gate knows of this window */
    } else if (g->have_obs) {
        /* A reset shows as more left than this window allows; requests in
         * flight together may have reached VOMO in another order than they
         * started, which can make Remaining look up to that many higher. */
        int64_t expected = g->obs_remaining - (seq - g->obs_seq);
        int64_t in_flight = g->seq - g->answered;
        if (in_flight < 0)
            in_flight = 0;
        else if (in_flight > RATEGATE_STARTS_KEPT)
            in_flight = RATEGATE_STARTS_KEPT;
        if (remaining > (expected > 0 ? expected : 0) + in_flight) {
            /* VOMO's window reset in between: the phase moves to it, the
             * starts already counted in this window stay counted (should
             * the reset be a reordering after all, they were real). */
            int64_t counted_from = g->window_seq;
            begin_window(g, seq, now);
            g->window_seq = counted_from;
        }
    }
    g->have_obs = true;
    g->obs_seq = seq;
    g->obs_remaining = remaining;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies s without surrounding white space into out; false when too long. */
static bool trim_copy(const char *s, char out[RETRY_AFTER_MAX_LEN])
{
    size_t len;

    while (is_space(*s))
        s++;
    len = strlen(s);
    while (len > 0 && is_space(s[len - 1]))
        len--;
    if (len == 0 || len >= RETRY_AFTER_MAX_LEN)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* Delta seconds: digits only.  More seconds than fit in milliseconds
 * become INT64_MAX, which the caller clamps like any absurd value. */
static int parse_delta_seconds(const char *s, int64_t *wait_ms)
{
    int64_t secs;

    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
    }
    if (parse_i64(s, &secs) < 0 || secs > INT64_MAX / 1000) {
        *wait_ms = INT64_MAX;
        return 0;
    }
    *wait_ms = secs * 1000;
    return 0;
}

int retry_after_parse(const char *value, int64_t now, int64_t *wait_ms)
{
    char v[RETRY_AFTER_MAX_LEN];
    int64_t at;

    if (!value || !trim_copy(value, v))
        return -EINVAL;
    if (v[0] >= '0' && v[0] <= '9')
        return parse_delta_seconds(v, wait_ms);
    if (ts_parse_http_date(v, &at) < 0)
        return -EINVAL;
    /* One millisecond more: the wall clock here and the monotonic clock
     * the wait is measured on are both read in whole milliseconds, so the
     * exact difference could land the next request up to a millisecond
     * before the date VOMO named. */
    *wait_ms = at > now ? at - now + 1 : 0;
    return 0;
}

int64_t rategate_on_response(struct rategate *g, int64_t now, int64_t wall_now, long status,
                             const char *retry_after, long limit, long remaining, int64_t seq,
                             bool *clamped)
{
    int64_t wait;
    bool was_clamped = false;

    if (status == 429 && remaining < 0 && g->have_window)
        remaining = 0;
    g->answered++;
    observe(g, now, limit, remaining, seq);
    if (clamped)
        *clamped = false;
    if (status != 429)
        return 0;
    if (retry_after_parse(retry_after, wall_now, &wait) < 0) {
        wait = RATEGATE_DEFAULT_WAIT_MS;
        was_clamped = true;
    } else if (wait > RATEGATE_MAX_WAIT_MS) {
        wait = RATEGATE_MAX_WAIT_MS;
        was_clamped = true;
    }
    if (clamped)
        *clamped = was_clamped;
    if (now + wait > g->blocked_until)
        g->blocked_until = now + wait;
    return g->blocked_until - now;
}
