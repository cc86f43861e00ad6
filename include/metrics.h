/*
 * metrics.h - a small in-process metrics registry (counters, gauges and
 * histograms with labels) and its Prometheus text exposition (format
 * 0.0.4).  Pure: no clock, no I/O; the caller decides what to count and
 * where the text goes.  Debian ships no C client library, and the daemon
 * needs only this much.
 *
 * A family has a fixed list of label names; a series is one combination of
 * label values.  Label values must come from bounded sets (tenants,
 * resources, classes, HTTP statuses): a family refuses new series beyond
 * METRICS_MAX_SERIES and counts what it dropped, so a bug can never grow
 * memory without bound.  Series are written in the order they were first
 * used, so pre-initialising them (metrics_touch) also fixes their order.
 *
 * Ownership: the registry owns its families and series and copies every
 * string it is given.  A family pointer is valid until metrics_free().
 * Every function accepts a NULL family and then does nothing, so
 * instrumentation needs no registry in unit tests.  Single-threaded.
 */
#ifndef VOMO_METRICS_H
#define VOMO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 24
#define METRICS_MAX_SERIES 50000 /* per family */
#define METRICS_MAX_VALUE 200    /* bytes of one label value; longer ones are cut */

/* Label values in the order of the family's label names: L("acme", "users"). */
#define METRIC_L(...) ((const char *const[]){__VA_ARGS__})

struct metrics;
struct metric_family;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Registers a family.  `labels` is a NULL-terminated list of label names
 * (NULL for none); `buckets` (histograms only) are the ascending upper
 * bounds, +Inf implied.  Returns NULL when a name is not a valid Prometheus
 * name, the name is taken, or there are too many labels or buckets.
 */
struct metric_family *metrics_register(struct metrics *m, enum metric_kind kind, const char *name,
                                       const char *help, const char *const *labels,
                                       const double *buckets, size_t nbuckets);
struct metric_family *metrics_find(const struct metrics *m, const char *name);

/* Counters and gauges: add (counters ignore negative amounts). */
void metrics_add(struct metric_family *f, const char *const *values, double by);
/* Gauges: set. */
void metrics_set(struct metric_family *f, const char *const *values, double v);
/* Histograms: one observation. */
void metrics_observe(struct metric_family *f, const char *const *values, double v);
/* Creates the series at zero if it does not exist (pre-initialisation). */
void metrics_touch(struct metric_family *f, const char *const *values);
/* Drops every series of the family (gauges recomputed at each scrape). */
void metrics_clear(struct metric_family *f);
/* Series a family refused because it was full. */
uint64_t metrics_dropped(const struct metric_family *f);

/* The value of a counter or gauge series, or the count of a histogram
 * series; -1 when the series does not exist (for tests and /status). */
double metrics_value(const struct metric_family *f, const char *const *values);

/*
 * Collectors run at the start of every metrics_write(), in registration
 * order: they set the gauges that are read rather than counted (queue
 * depths, breaker states, rows in SQLite).
 */
typedef void (*metrics_collect_fn)(struct metrics *m, void *arg);
void metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg);

/* Runs the collectors, then appends the whole exposition to out.  0, or
 * -E2BIG when out's cap is reached. */
int metrics_write(struct metrics *m, struct buf *out) WUR;

/* The content type of the exposition. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Escapes a label value for the text format (\\, \" and \n) into out
 * (NUL-terminated, cut to fit); returns the length written. */
size_t metrics_escape_label(const char *in, char *out, size_t outlen);

#endif
