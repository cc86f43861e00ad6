/*
 * util.c - the helpers declared in util.h: allocation that aborts on
 * exhaustion, a capped growable buffer, UTC ISO 8601 timestamps, clocks,
 * random numbers and trace ids.
 */
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    fprintf(stderr, "vomo-sync: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void buf_init(struct buf *b, size_t cap_limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->cap_limit = cap_limit;
}

static int buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap_limit && (extra > b->cap_limit || b->len > b->cap_limit - extra))
        return -E2BIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = buf_puts(b, s);
    free(s);
    return rc;
}

int buf_json_escape(struct buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        char esc[8];
        switch (*p) {
        case '"':
            rc = buf_append(b, "\\\"", 2);
            break;
        case '\\':
            rc = buf_append(b, "\\\\", 2);
            break;
        case '\n':
            rc = buf_append(b, "\\n", 2);
            break;
        case '\r':
            rc = buf_append(b, "\\r", 2);
            break;
        case '\t':
            rc = buf_append(b, "\\t", 2);
            break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                rc = buf_append(b, esc, 6);
            } else {
                rc = buf_append(b, p, 1);
            }
        }
    }
    return rc;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->cap_limit);
}

char *buf_steal(struct buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    buf_init(b, b->cap_limit);
    return p;
}

/*
 * Timestamps.  Only instants from 0001-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z exist here: that is what the four-digit year of
 * the normalised form can spell, so anything accepted formats, sorts and
 * parses back to itself.  Dates are checked against the calendar (no
 * 2025-02-29) and the range is checked after the offset is applied.
 */
#define TS_YEAR_MIN 1
#define TS_YEAR_MAX 9999

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day count (the inverse of days_from_civil). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

#define MS_PER_DAY INT64_C(86400000)
#define TS_MS_MIN (days_from_civil(TS_YEAR_MIN, 1, 1) * MS_PER_DAY)
#define TS_MS_MAX (days_from_civil(TS_YEAR_MAX + 1, 1, 1) * MS_PER_DAY - 1)

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Milliseconds of a calendar date and time; -EINVAL for an impossible one
 * (month 13, 2025-02-29, 24:00) or a year outside 1..9999. */
static int ts_from_fields(int64_t y, int mo, int d, int h, int mi, int sec, int64_t *ms)
{
    if (y < TS_YEAR_MIN || y > TS_YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return -EINVAL;
    *ms = (((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec) * 1000;
    return 0;
}

/* Writes v (0 <= v < 10^n) as exactly n decimal digits. */
static void put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

void ts_format(int64_t ms, char out[TS_LEN])
{
    /* Out-of-range instants cannot be parsed in; clamping (never wrapping
     * the year) keeps the order right should one be computed. */
    if (ms < TS_MS_MIN)
        ms = TS_MS_MIN;
    else if (ms > TS_MS_MAX)
        ms = TS_MS_MAX;
    int64_t days = ms >= 0 ? ms / MS_PER_DAY : (ms - (MS_PER_DAY - 1)) / MS_PER_DAY;
    int64_t rem = ms - days * MS_PER_DAY, y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    /* Digit by digit ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" without
     * snprintf, about 4% of a backfill's instructions): every field is in
     * range once ms is clamped (year 1..9999), so each keeps its width. */
    put_digits(out, (int)y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, (int)(rem / 3600000), 2);
    out[13] = ':';
    put_digits(out + 14, (int)(rem / 60000 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (int)(rem / 1000 % 60), 2);
    out[19] = '.';
    put_digits(out + 20, (int)(rem % 1000), 3);
    out[23] = 'Z';
    out[TS_LEN - 1] = '\0';
}

static int take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int parse_offset(const char *p, int *offset_min)
{
    int sign, hh = 0, mm = 0;
    if (*p == 'Z' || *p == 'z') {
        *offset_min = 0;
        return p[1] == '\0' ? 0 : -EINVAL;
    }
    if (*p == '\0') {
        *offset_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -EINVAL;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (take_digits(&p, 2, &hh) < 0)
        return -EINVAL;
    if (*p == ':')
        p++;
    if (*p && take_digits(&p, 2, &mm) < 0)
        return -EINVAL;
    if (*p || hh > 23 || mm > 59)
        return -EINVAL;
    *offset_min = sign * (hh * 60 + mm);
    return 0;
}

int ts_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, offset_min;
    const char *p = s;
    if (!s)
        return -EINVAL;
    if (take_digits(&p, 4, &y) < 0 || *p++ != '-' || take_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        take_digits(&p, 2, &d) < 0)
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (take_digits(&p, 2, &h) < 0 || *p++ != ':' || take_digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        take_digits(&p, 2, &sec) < 0)
        return -EINVAL;
    if (*p == '.' || *p == ',') {
        p++;
        int scale = 100, digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3)
                frac += (*p - '0') * scale;
            scale /= 10;
            digits++;
            p++;
        }
        if (digits == 0)
            return -EINVAL;
    }
    int64_t t;
    if (parse_offset(p, &offset_min) < 0 || ts_from_fields(y, mo, d, h, mi, sec, &t) < 0)
        return -EINVAL;
    t += frac - (int64_t)offset_min * 60000;
    if (t < TS_MS_MIN || t > TS_MS_MAX)
        return -EINVAL;
    *ms = t;
    return 0;
}

/* Reads 1..max digits; -EINVAL when there are none or more than max. */
static int take_some_digits(const char **p, int max, int *out)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)**p)) {
        if (++n > max)
            return -EINVAL;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return n ? 0 : -EINVAL;
}

static int take_word(const char **p, const char *const *words, int nwords, int *out)
{
    for (int i = 0; i < nwords; i++)
        if (strncmp(*p, words[i], 3) == 0) {
            *p += 3;
            *out = i;
            return 0;
        }
    return -EINVAL;
}

/* One or more spaces (what senders put between IMF-fixdate fields). */
static int take_spaces(const char **p)
{
    if (**p != ' ')
        return -EINVAL;
    while (**p == ' ')
        (*p)++;
    return 0;
}

int ts_parse_http_date(const char *s, int64_t *ms)
{
    static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *const zones[] = {"GMT", "UTC"};
    int wd, d, mo, y, h, mi, sec, tz;
    const char *p = s;
    /* "Sun, 06 Nov 1994 08:49:37 GMT": every field bounded in length, the
     * year exactly four digits, so nothing can overflow on the way. */
    if (!s || take_word(&p, wdays, 7, &wd) < 0 || *p++ != ',')
        return -EINVAL;
    while (*p == ' ')
        p++;
    if (take_some_digits(&p, 2, &d) < 0 || take_spaces(&p) < 0 ||
        take_word(&p, months, 12, &mo) < 0 || take_spaces(&p) < 0 || take_digits(&p, 4, &y) < 0 ||
        take_spaces(&p) < 0 || take_some_digits(&p, 2, &h) < 0 || *p++ != ':' ||
        take_some_digits(&p, 2, &mi) < 0 || *p++ != ':' || take_some_digits(&p, 2, &sec) < 0 ||
        take_spaces(&p) < 0 || take_word(&p, zones, 2, &tz) < 0 || *p != '\0')
        return -EINVAL;
    int64_t t;
    if (ts_from_fields(y, mo + 1, d, h, mi, sec, &t) < 0 || t > TS_MS_MAX)
        return -EINVAL;
    *ms = t;
    return 0;
}

int ts_normalise(const char *s, char out[TS_LEN])
{
    int64_t ms;
    if (ts_parse(s, &ms) < 0)
        return -EINVAL;
    ts_format(ms, out);
    return 0;
}

static int64_t wall_offset_ms; /* tests stepping the wall clock */

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + wall_offset_ms;
}

void clock_wall_step(int64_t offset_ms)
{
    wall_offset_ms = offset_ms;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: fast, good enough for jitter and trace ids, never for keys. */
static uint64_t rng_state;

uint64_t rand_u64(void)
{
    if (rng_state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rng_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            uint64_t seed;
            if (read(fd, &seed, sizeof(seed)) == (ssize_t)sizeof(seed))
                rng_state ^= seed;
            close(fd);
        }
        if (rng_state == 0)
            rng_state = 0x9e3779b97f4a7c15ULL;
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

uint64_t rand_below(uint64_t n)
{
    return n ? rand_u64() % n : 0;
}

void trace_id_new(char out[TRACE_ID_LEN])
{
    snprintf(out, TRACE_ID_LEN, "%016llx", (unsigned long long)rand_u64());
}

int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (end == s || *end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

int read_whole_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct buf b;
    buf_init(&b, max);
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            buf_free(&b);
            return e;
        }
        if (n == 0)
            break;
        if (buf_append(&b, chunk, (size_t)n) < 0) {
            close(fd);
            buf_free(&b);
            return -EFBIG;
        }
    }
    close(fd);
    if (len)
        *len = b.len;
    *out = buf_steal(&b);
    return 0;
}
