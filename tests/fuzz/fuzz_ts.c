/*
 * fuzz_ts.c - timestamps: ts_parse, ts_normalise and ts_parse_http_date on
 * any text.  Properties: nothing overflows (UBSan), whatever is accepted
 * lies in 0001..9999 UTC, and every normalised timestamp parses back to
 * the same instant and normalises to itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

#define MS_MIN (-62135596800000LL) /* 0001-01-01T00:00:00.000Z */
#define MS_MAX (253402300799999LL) /* 9999-12-31T23:59:59.999Z */

static void check_instant(int64_t ms, const char *what)
{
    if (ms < MS_MIN || ms > MS_MAX)
        fuzz_fail("ts", what);
    char out[TS_LEN], again[TS_LEN];
    int64_t back;
    ts_format(ms, out);
    if (ts_parse(out, &back) != 0 || back != ms)
        fuzz_fail("ts", "a formatted instant does not parse back to itself");
    if (ts_normalise(out, again) != 0 || strcmp(out, again) != 0)
        fuzz_fail("ts", "a normalised timestamp does not normalise to itself");
}

int fuzz_ts(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    int64_t ms;
    char norm[TS_LEN];
    if (ts_parse(s, &ms) == 0) {
        check_instant(ms, "ts_parse accepted an instant outside 0001..9999");
        int64_t back;
        if (ts_normalise(s, norm) != 0 || ts_parse(norm, &back) != 0 || back != ms)
            fuzz_fail("ts", "the normalised form is another instant");
    } else if (ts_normalise(s, norm) == 0) {
        fuzz_fail("ts", "ts_normalise accepted what ts_parse refused");
    }
    if (ts_parse_http_date(s, &ms) == 0) {
        check_instant(ms, "ts_parse_http_date accepted an instant outside 0001..9999");
        if (ms % 1000)
            fuzz_fail("ts", "an HTTP date has a fraction of a second");
    }
    free(s);
    return 0;
}

FUZZ_ENTRY(fuzz_ts)
