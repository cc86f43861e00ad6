/*
 * fuzz_retry_after.c - a 429's Retry-After header, as delta seconds or an
 * HTTP date, through retry_after_parse and the rate gate.  Properties: no
 * overflow (UBSan), a parsed wait is never negative, and the gate never
 * blocks for less than nothing or longer than RATEGATE_MAX_WAIT_MS.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rategate.h"

int fuzz_retry_after(const uint8_t *data, size_t size)
{
    /* "now" sweeps the range a wall clock can have, from the input. */
    static const int64_t nows[] = {0, 1445412480000LL, 1796197863000LL, 253402300799000LL};
    char *s = fuzz_string(data, size);
    for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        int64_t wait = -1;
        if (retry_after_parse(s, nows[i], &wait) == 0 && wait < 0)
            fuzz_fail("retry_after", "a negative wait");
        struct rategate g;
        rategate_init(&g);
        bool clamped = false;
        int64_t seq = rategate_on_start(&g, nows[i]);
        int64_t w = rategate_on_response(&g, nows[i], nows[i], 429, s, -1, -1, seq, &clamped);
        if (w < 0 || w > RATEGATE_MAX_WAIT_MS)
            fuzz_fail("retry_after", "the gate waits outside 0..RATEGATE_MAX_WAIT_MS");
        if (rategate_next_start(&g, nows[i]) < nows[i])
            fuzz_fail("retry_after", "the next start is before now");
    }
    free(s);
    return 0;
}

FUZZ_ENTRY(fuzz_retry_after)
