/*
 * fuzz_page.c - VOMO bodies through the page and record parsers (vomo.c).
 * Properties: nothing crashes or leaks; every record accepted without an
 * error has a normalised id and updated_at, its payload is the exact text
 * VOMO sent (a piece of the body), and that payload parsed on its own
 * yields the same id, updated_at and payload, so all three come from one
 * and the same element.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vomo.h"

static void check_record(const struct vomo_record *r, const uint8_t *body, size_t size)
{
    if (!r->payload)
        fuzz_fail("page", "a record without a payload");
    if (r->error)
        return;
    int64_t ms;
    if (r->id[0] < '1' || r->id[0] > '9' || ts_parse(r->updated_at, &ms) != 0)
        fuzz_fail("page", "an accepted record without a normalised id or updated_at");
    size_t n = strlen(r->payload);
    if (!memmem(body, size, r->payload, n))
        fuzz_fail("page", "the payload is not the text VOMO sent");
    struct vomo_record again;
    const char *err;
    if (vomo_parse_record(r->payload, n, &again, &err) != 0 || again.error)
        fuzz_fail("page", "an accepted record's payload does not parse alone");
    if (strcmp(again.id, r->id) != 0 || strcmp(again.updated_at, r->updated_at) != 0 ||
        strcmp(again.payload, r->payload) != 0)
        fuzz_fail("page", "payload, id and updated_at come from different elements");
    vomo_record_free(&again);
}

int fuzz_page(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the end. */
    char *body = xmalloc(size ? size : 1);
    if (size)
        memcpy(body, data, size);
    struct vomo_page p;
    const char *err = NULL;
    if (vomo_parse_page(body, size, &p, &err) == 0) {
        for (size_t i = 0; i < p.count; i++)
            check_record(&p.records[i], data, size);
        if (p.total < -1 || p.current_page < 0 || p.last_page < 0)
            fuzz_fail("page", "meta out of range");
        vomo_page_free(&p);
    } else if (!err) {
        fuzz_fail("page", "a refused page without a reason");
    }
    struct vomo_record r;
    if (vomo_parse_record(body, size, &r, &err) == 0) {
        check_record(&r, data, size);
        vomo_record_free(&r);
    }
    free(body);
    return 0;
}

FUZZ_ENTRY(fuzz_page)
