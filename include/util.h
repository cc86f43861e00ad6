/*
 * util.h - small helpers every module uses: the xmalloc family (out of
 * memory aborts, so callers never check), a growable byte buffer with a hard
 * cap, UTC timestamp formatting and parsing, clocks, and trace ids.
 */
#ifndef VOMO_UTIL_H
#define VOMO_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);

/*
 * A growable buffer, always NUL-terminated after the last byte.  `cap_limit`
 * of 0 means unlimited; otherwise an append that would grow `len` past it
 * fails with -E2BIG and leaves the buffer unchanged (network input).
 */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t cap_limit;
};
void buf_init(struct buf *b, size_t cap_limit);
int buf_append(struct buf *b, const void *p, size_t n) WUR;
int buf_puts(struct buf *b, const char *s) WUR;
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3) WUR;
/* Appends s as the body of a JSON string (no quotes), escaping as needed. */
int buf_json_escape(struct buf *b, const char *s) WUR;
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the data over to the caller (who frees it) and resets the buffer. */
char *buf_steal(struct buf *b);

/* Timestamps: UTC ISO 8601 with milliseconds, "2026-11-28T08:43:07.000Z". */
#define TS_LEN 25 /* 24 characters and the NUL */
/* The checkpoint of a resource never scanned: everything is newer. */
#define TS_EPOCH "1970-01-01T00:00:00.000Z"
/* Formats an instant; one outside 0001..9999 is clamped to the nearest end
 * (never wrapped), which ts_parse never produces. */
void ts_format(int64_t ms, char out[TS_LEN]);
/*
 * Parses ISO 8601 date-times as VOMO sends them: "YYYY-MM-DDTHH:MM:SS" with
 * optional fraction and a "Z" or "+HH:MM" / "+HHMM" / "+HH" offset (a
 * missing offset means UTC; a space may stand for the "T").  Returns 0 and
 * milliseconds since the epoch, or -EINVAL for an impossible date
 * (2025-02-29) or an instant outside 0001-01-01..9999-12-31 UTC once the
 * offset is applied.  What ts_format writes parses back to the same instant.
 */
int ts_parse(const char *s, int64_t *ms) WUR;
/* Parses an HTTP date (RFC 7231 IMF-fixdate, e.g. Date and Retry-After):
 * "Sun, 06 Nov 1994 08:49:37 GMT", a four-digit year, the same calendar and
 * range checks as ts_parse; -EINVAL otherwise. */
int ts_parse_http_date(const char *s, int64_t *ms) WUR;
/* Normalises any accepted timestamp into out; -EINVAL when unparseable. */
int ts_normalise(const char *s, char out[TS_LEN]) WUR;

/*
 * Wall clock and monotonic clock in milliseconds.  The wall clock is for
 * timestamps people and VOMO read (stored times, logs, HTTP dates); every
 * duration (lanes, breakers, backoff, rate gate, pauses) is measured on the
 * monotonic clock, which a step of the system clock does not move.
 */
int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
/* Tests only: the wall clock reads `offset_ms` away from the system's from
 * now on (a clock stepped back or forward); 0 undoes it. */
void clock_wall_step(int64_t offset_ms);

/* A fresh random trace id: 16 lowercase hex digits. */
#define TRACE_ID_LEN 17
void trace_id_new(char out[TRACE_ID_LEN]);

/* Uniform random 64-bit values from a per-process seeded generator. */
uint64_t rand_u64(void);
/* A uniform random value in [0, n); 0 when n == 0. */
uint64_t rand_below(uint64_t n);

/* strtol/strtoll with an end check and range check: 0 or -EINVAL/-ERANGE. */
int parse_i64(const char *s, int64_t *out) WUR;

/* Reads a whole (small) file; the caller frees *out.  Negative errno. */
int read_whole_file(const char *path, size_t max, char **out, size_t *len) WUR;

#endif
