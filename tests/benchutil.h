/*
 * benchutil.h - small pieces every benchmark in tests/bench needs: a
 * monotonic clock in fractional milliseconds, an order for qsort over
 * timings, and running SQL on a benchmark's own database, dying with the
 * statement and SQLite's message when it fails (a benchmark that cannot
 * set itself up has nothing to measure).
 */
#ifndef VOMO_BENCHUTIL_H
#define VOMO_BENCHUTIL_H

#include <sqlite3.h>

/* CLOCK_MONOTONIC in milliseconds, with the fraction. */
double bench_now_ms(void);
/* qsort order for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* Runs sql on db; on failure prints "who: sql: message" and exits 1. */
void bench_exec(sqlite3 *db, const char *who, const char *sql);

#endif
