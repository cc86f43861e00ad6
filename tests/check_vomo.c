/*
 * check_vomo.c - the VOMO envelope parser and URL builder: ids as numbers
 * and numeric strings, timestamps in every accepted spelling, the many ways
 * of saying "no next page", one malformed record among good ones, bodies
 * that are not pages at all, hostile input, and query encoding.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vomo.h"

/* Parses a NUL-free string through an exact-size heap copy, so ASan sees
 * any read past the end of the body. */
static int parse_page(const char *s, struct vomo_page *p, const char **err)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    int rc = vomo_parse_page(copy, n, p, err);
    free(copy);
    return rc;
}

START_TEST(test_page_numbers_and_strings)
{
    const char *body =
        "{\"data\":[{\"id\":8205,\"name\":\"Ann\",\"updated_at\":\"2025-11-19T10:15:00+00:00\"},"
        "{\"id\":\"0042\",\"updated_at\":\"2025-11-19T12:15:00+02:00\"},"
        "{\"id\":\"7\",\"updated_at\":\"2025-11-19T10:15:00Z\"},"
        "{\"id\":9007199254740993,\"updated_at\":\"2025-11-19T10:15:00.123456Z\"}],"
        "\"links\":{\"first\":\"x?page=1\",\"next\":\"https://api.vomo.org/v1/users?page=2\"},"
        "\"meta\":{\"current_page\":1,\"last_page\":7,\"per_page\":15,\"total\":98}}";
    struct vomo_page p;
    const char *err = "unset";
    ck_assert_int_eq(parse_page(body, &p, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(p.count, 4);
    ck_assert_str_eq(p.records[0].id, "8205");
    ck_assert_str_eq(p.records[0].updated_at, "2025-11-19T10:15:00.000Z");
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].payload,
                     "{\"id\":8205,\"name\":\"Ann\",\"updated_at\":\"2025-11-19T10:15:00+00:00\"}");
    ck_assert_str_eq(p.records[1].id, "42");
    ck_assert_str_eq(p.records[1].updated_at, "2025-11-19T10:15:00.000Z");
    ck_assert_str_eq(p.records[2].id, "7");
    ck_assert_str_eq(p.records[2].updated_at, "2025-11-19T10:15:00.000Z");
    /* Beyond 2^53: read digit for digit, not through a double. */
    ck_assert_str_eq(p.records[3].id, "9007199254740993");
    ck_assert_str_eq(p.records[3].updated_at, "2025-11-19T10:15:00.123Z");
    for (size_t i = 0; i < p.count; i++)
        ck_assert_ptr_null(p.records[i].error);
    ck_assert_int_eq(p.current_page, 1);
    ck_assert_int_eq(p.last_page, 7);
    ck_assert_int_eq(p.total, 98);
    ck_assert(p.has_next);
    vomo_page_free(&p);
}
END_TEST

START_TEST(test_payload_keeps_spelling)
{
    const char *body =
        "{ \"data\" : [ {\"id\": 1, \"x\": 1.50, \"s\": \"\\u00e9\\/\"} ,\n"
        "  {\"id\":2,\"updated_at\":\"2025-01-01T00:00:00Z\",\"n\":[1,{\"a\":\"]\"}]} ] }";
    struct vomo_page p;
    ck_assert_int_eq(parse_page(body, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.records[0].payload, "{\"id\": 1, \"x\": 1.50, \"s\": \"\\u00e9\\/\"}");
    ck_assert_str_eq(p.records[0].error, "missing updated_at");
    ck_assert_str_eq(p.records[0].id, "1");
    ck_assert_str_eq(p.records[1].payload,
                     "{\"id\":2,\"updated_at\":\"2025-01-01T00:00:00Z\",\"n\":[1,{\"a\":\"]\"}]}");
    ck_assert_ptr_null(p.records[1].error);
    /* No links, no meta: no next page, unknown total. */
    ck_assert(!p.has_next);
    ck_assert_int_eq(p.total, -1);
    ck_assert_int_eq(p.last_page, 0);
    vomo_page_free(&p);
}
END_TEST

static bool next_of(const char *links_and_meta)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"data\":[]%s}", links_and_meta);
    struct vomo_page p;
    ck_assert_int_eq(parse_page(body, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 0);
    bool r = p.has_next;
    vomo_page_free(&p);
    return r;
}

/* An escaped "data" key does not hide the raw text: members are found by
 * position, so the payload keeps VOMO's spelling. */
START_TEST(test_payload_fallback)
{
    const char *body = "{\"d\\u0061ta\":[{\"id\": 77, \"updated_at\":\"2025-01-01T00:00:00Z\"},"
                       "{\"id\":1.5,\"updated_at\":\"2025-01-01T00:00:00Z\"}]}";
    struct vomo_page p;
    ck_assert_int_eq(parse_page(body, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.records[0].id, "77");
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].payload, "{\"id\": 77, \"updated_at\":\"2025-01-01T00:00:00Z\"}");
    ck_assert_str_eq(p.records[1].error, "id is not a positive integer");
    vomo_page_free(&p);
}
END_TEST

START_TEST(test_next_variants)
{
    ck_assert(!next_of(",\"links\":{\"next\":null}"));
    ck_assert(!next_of(",\"links\":{\"prev\":null}"));
    ck_assert(!next_of(",\"links\":{\"next\":\"null\"}"));
    ck_assert(!next_of(",\"links\":{\"next\":\"\"}"));
    ck_assert(!next_of(",\"links\":{\"next\":false}"));
    ck_assert(next_of(",\"links\":{\"next\":\"https://api.vomo.org/v1/users?page=3\"}"));
    /* Without links, meta.last_page decides. */
    ck_assert(next_of(",\"meta\":{\"current_page\":2,\"last_page\":3}"));
    ck_assert(!next_of(",\"meta\":{\"current_page\":3,\"last_page\":3}"));
    ck_assert(!next_of(",\"meta\":{\"current_page\":1}"));
    /* links present wins over meta. */
    ck_assert(!next_of(",\"links\":{\"next\":null},\"meta\":{\"current_page\":1,\"last_page\":3}"));
}
END_TEST

START_TEST(test_last_page)
{
    const char *body = "{\"data\":[{\"id\":99,\"updated_at\":\"2025-11-19T10:15:00+00:00\"}],"
                       "\"links\":{\"first\":\"a\",\"last\":\"b\",\"prev\":\"c\",\"next\":null},"
                       "\"meta\":{\"current_page\":7,\"last_page\":7,\"total\":91}}";
    struct vomo_page p;
    ck_assert_int_eq(parse_page(body, &p, NULL), 0);
    ck_assert(!p.has_next);
    ck_assert_int_eq(p.current_page, 7);
    ck_assert_int_eq(p.last_page, 7);
    ck_assert_int_eq(p.total, 91);
    ck_assert_str_eq(p.records[0].id, "99");
    vomo_page_free(&p);
}
END_TEST

START_TEST(test_one_bad_record_among_good)
{
    static const struct {
        const char *json;
        const char *error;
        const char *id;
    } bad[] = {
        {"{\"updated_at\":\"2025-11-19T10:15:00Z\"}", "missing id", ""},
        {"{\"id\":5}", "missing updated_at", "5"},
        {"{\"id\":5,\"updated_at\":null}", "missing updated_at", "5"},
        {"{\"id\":5,\"updated_at\":\"yesterday\"}", "updated_at is not a valid timestamp", "5"},
        {"{\"id\":5,\"updated_at\":1700000000}", "updated_at is not a string", "5"},
        {"{\"id\":{\"v\":5},\"updated_at\":\"2025-11-19T10:15:00Z\"}",
         "id is not a positive integer", ""},
        {"{\"id\":-5,\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer", ""},
        {"{\"id\":5.5,\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer",
         ""},
        {"{\"id\":0,\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer", ""},
        {"{\"id\":\"12a\",\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer",
         ""},
        {"{\"id\":\" 12\",\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer",
         ""},
        {"{\"id\":\"\",\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is empty", ""},
        {"{\"id\":true,\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id is not a positive integer",
         ""},
        {"{\"id\":99999999999999999999,\"updated_at\":\"2025-11-19T10:15:00Z\"}", "id out of range",
         ""},
        {"{\"id\":\"99999999999999999999\",\"updated_at\":\"2025-11-19T10:15:00Z\"}",
         "id out of range", ""},
        {"[1,2]", "record is not an object", ""},
        {"\"text\"", "record is not an object", ""},
        {"null", "record is not an object", ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"data\":[{\"id\":1,\"updated_at\":\"2025-11-19T10:15:00Z\"},%s,"
                 "{\"id\":\"3\",\"updated_at\":\"2025-11-19T10:15:01Z\"}],"
                 "\"links\":{\"next\":null}}",
                 bad[i].json);
        struct vomo_page p;
        ck_assert_int_eq(parse_page(body, &p, NULL), 0);
        ck_assert_uint_eq(p.count, 3);
        ck_assert_ptr_null(p.records[0].error);
        ck_assert_str_eq(p.records[0].id, "1");
        ck_assert_ptr_null(p.records[2].error);
        ck_assert_str_eq(p.records[2].id, "3");
        ck_assert_msg(p.records[1].error && strcmp(p.records[1].error, bad[i].error) == 0,
                      "case %zu (%s): got error %s", i, bad[i].json,
                      p.records[1].error ? p.records[1].error : "(none)");
        ck_assert_str_eq(p.records[1].id, bad[i].id);
        ck_assert_str_eq(p.records[1].payload, bad[i].json);
        vomo_page_free(&p);
    }
}
END_TEST

START_TEST(test_whole_body_failures)
{
    static const char *const bodies[] = {
        "",
        "   \n",
        "<html>Bad gateway</html>",
        "{\"data\":{\"id\":1}}",
        "{\"data\":null}",
        "{\"meta\":{}}",
        "[{\"id\":1}]",
        "{\"data\":[{\"id\":1,\"updated_at\":\"2025-11-19T10:15:00Z\"}",
        "{\"data\":[]} trailing",
        "\"data\"",
        "null",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct vomo_page p;
        const char *err = NULL;
        ck_assert_msg(parse_page(bodies[i], &p, &err) == -EINVAL, "body %zu accepted", i);
        ck_assert_ptr_nonnull(err);
        ck_assert_uint_eq(p.count, 0);
        ck_assert_ptr_null(p.records);
        vomo_page_free(&p);
    }
    struct vomo_page p;
    const char *err = NULL;
    ck_assert_int_eq(vomo_parse_page(NULL, 0, &p, &err), -EINVAL);
    ck_assert_int_eq(vomo_parse_page("{\"data\":[]}\0x", 13, &p, &err), -EINVAL);
    /* A length shorter than the text cuts the JSON: truncated. */
    ck_assert_int_eq(vomo_parse_page("{\"data\":[]}", 8, &p, &err), -EINVAL);
}
END_TEST

START_TEST(test_hostile_input)
{
    /* Nesting far past cJSON's limit: refused, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    size_t n = 0;
    n += (size_t)snprintf(deep, 16, "{\"data\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    struct vomo_page p;
    ck_assert_int_eq(vomo_parse_page(deep, n, &p, NULL), -EINVAL);
    free(deep);

    /* Nesting within the limit inside a record: parsed, payload intact. */
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(
        buf_puts(&b, "{\"data\":[{\"id\":1,\"updated_at\":\"2025-01-01T00:00:00Z\",\"x\":"), 0);
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(buf_puts(&b, "["), 0);
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(buf_puts(&b, "]"), 0);
    ck_assert_int_eq(buf_puts(&b, "}]}"), 0);
    ck_assert_int_eq(vomo_parse_page(b.data, b.len, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_uint_eq(strlen(p.records[0].payload), b.len - strlen("{\"data\":[]}"));
    vomo_page_free(&p);
    buf_free(&b);

    /* Huge numbers, invalid UTF-8, odd meta. */
    const char *odd = "{\"data\":[{\"id\":1e400,\"updated_at\":\"2025-01-01T00:00:00Z\"},"
                      "{\"id\":2,\"updated_at\":\"\xff\xfe\",\"name\":\"\xc3\x28\"}],"
                      "\"meta\":{\"current_page\":1e300,\"last_page\":-4,\"total\":\"x\"}}";
    ck_assert_int_eq(parse_page(odd, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.records[0].error, "id is not a positive integer");
    ck_assert_str_eq(p.records[1].error, "updated_at is not a valid timestamp");
    ck_assert_str_eq(p.records[1].id, "2");
    ck_assert_int_eq(p.last_page, 0);
    ck_assert_int_eq(p.total, -1);
    vomo_page_free(&p);
}
END_TEST

START_TEST(test_parse_record)
{
    struct vomo_record r;
    const char *err = "unset";
    const char *wrapped = "{\"data\":{\"id\":\"12\",\"updated_at\":\"2025-11-19T11:15:00+01:00\","
                          "\"data\":{\"k\":1}}}";
    ck_assert_int_eq(vomo_parse_record(wrapped, strlen(wrapped), &r, &err), 0);
    ck_assert_ptr_null(err);
    ck_assert_str_eq(r.id, "12");
    ck_assert_str_eq(r.updated_at, "2025-11-19T10:15:00.000Z");
    ck_assert_str_eq(r.payload, "{\"id\":\"12\",\"updated_at\":\"2025-11-19T11:15:00+01:00\","
                                "\"data\":{\"k\":1}}");
    vomo_record_free(&r);

    /* A bare record with its own "data" field is not mistaken for the envelope. */
    const char *bare = " {\"id\":13,\"updated_at\":\"2025-11-19T10:15:00Z\",\"data\":{\"k\":2}} \n";
    ck_assert_int_eq(vomo_parse_record(bare, strlen(bare), &r, &err), 0);
    ck_assert_str_eq(r.id, "13");
    ck_assert_str_eq(r.payload,
                     "{\"id\":13,\"updated_at\":\"2025-11-19T10:15:00Z\",\"data\":{\"k\":2}}");
    vomo_record_free(&r);

    const char *bad = "{\"data\":{\"id\":14}}";
    ck_assert_int_eq(vomo_parse_record(bad, strlen(bad), &r, &err), 0);
    ck_assert_str_eq(err, "missing updated_at");
    ck_assert_str_eq(r.error, "missing updated_at");
    ck_assert_str_eq(r.id, "14");
    vomo_record_free(&r);

    ck_assert_int_eq(vomo_parse_record("[1]", 3, &r, &err), -EINVAL);
    ck_assert_int_eq(vomo_parse_record("{\"id\":", 6, &r, &err), -EINVAL);
    ck_assert_ptr_null(r.payload);
}
END_TEST

START_TEST(test_urls)
{
    char *u = vomo_list_url("http://127.0.0.1:8080/v1", "users", 3, "2025-11-19T10:15:00+00:00");
    ck_assert_str_eq(
        u, "http://127.0.0.1:8080/v1/users?page=3&updated_after=2025-11-19T10%3A15%3A00%2B00%3A00");
    free(u);
    u = vomo_list_url("https://api.vomo.org/v1/", "projects", 1, NULL);
    ck_assert_str_eq(u, "https://api.vomo.org/v1/projects?page=1");
    free(u);
    u = vomo_list_url("https://api.vomo.org/v1", "groups", 2, "");
    ck_assert_str_eq(u, "https://api.vomo.org/v1/groups?page=2");
    free(u);
    u = vomo_list_url("https://x/v1", "users", 1, "2025-11-19 10:15:00.000Z&a=b~");
    ck_assert_str_eq(
        u, "https://x/v1/users?page=1&updated_after=2025-11-19%2010%3A15%3A00.000Z%26a%3Db~");
    free(u);
    u = vomo_get_url("https://x/v1", "users", "8205");
    ck_assert_str_eq(u, "https://x/v1/users/8205");
    free(u);
    u = vomo_get_url("https://x/v1/", "groups", "a b/+");
    ck_assert_str_eq(u, "https://x/v1/groups/a%20b%2F%2B");
    free(u);
}
END_TEST

/*
 * Random damage to a valid page (bytes flipped, cut short, chunks
 * repeated), many thousands of times under ASan/UBSan: the parser never
 * crashes, and whatever it accepts is consistent - each record either
 * carries an error or a normalised id and updated_at.
 */
START_TEST(test_damaged_pages_never_crash)
{
    static const char page[] =
        "{\"data\":[{\"id\":1,\"updated_at\":\"2025-11-19T10:15:00+00:00\",\"name\":\"A\"},"
        "{\"id\":\"22\",\"updated_at\":\"2025-11-19T10:15:00Z\",\"tags\":[1,2,{\"x\":null}]},"
        "{\"id\":333,\"updated_at\":\"2025-11-19T10:15:00.250+02:00\"}],"
        "\"links\":{\"next\":\"https://api.vomo.org/v1/users?page=2\"},"
        "\"meta\":{\"current_page\":1,\"last_page\":7,\"total\":98}}";
    static const char bytes[] = "{}[]\",:0123456789-+.eEtrufalsn\\ \x01\xff";
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t len = sizeof(page) - 1;
    char *buf = malloc(2 * len + 1);
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, page, len);
        size_t n = len;
        int edits = 1 + (int)(seed % 4);
        for (int e = 0; e < edits; e++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(seed >> 33) % n;
            switch ((seed >> 20) % 3) {
            case 0: /* flip a byte to a JSON-ish one */
                buf[at] = bytes[(seed >> 8) % (sizeof(bytes) - 1)];
                break;
            case 1: /* cut short */
                n = at;
                break;
            default: /* repeat a chunk */
                if (n + 16 < 2 * len) {
                    memmove(buf + at + 16, buf + at, n - at);
                    n += 16;
                }
            }
            if (n == 0)
                break;
        }
        buf[n] = '\0';
        struct vomo_page vp;
        const char *err = NULL;
        if (vomo_parse_page(buf, n, &vp, &err) == 0) {
            for (size_t i = 0; i < vp.count; i++) {
                const struct vomo_record *r = &vp.records[i];
                ck_assert_ptr_nonnull(r->payload);
                if (r->error)
                    continue;
                ck_assert(r->id[0] >= '1' && r->id[0] <= '9');
                ck_assert_int_eq(strlen(r->updated_at), TS_LEN - 1);
            }
            vomo_page_free(&vp);
        } else {
            ck_assert_ptr_nonnull(err);
        }
    }
    free(buf);
}
END_TEST

#define UA "\"updated_at\":\"2025-01-01T00:00:00Z\""

static void expect_page_rejected(const char *body, const char *why)
{
    struct vomo_page p;
    const char *err = NULL;
    ck_assert_msg(parse_page(body, &p, &err) == -EINVAL, "accepted: %s", body);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, why);
    ck_assert_uint_eq(p.count, 0);
}

static void expect_one_bad_record(const char *body, const char *why)
{
    struct vomo_page p;
    ck_assert_int_eq(parse_page(body, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_ptr_nonnull(p.records[0].error);
    ck_assert_str_eq(p.records[0].error, why);
    vomo_page_free(&p);
}

/*
 * Issue 10 item 15, as fuzzing found it: the scanner that cuts each
 * record's text out of the body read some bodies differently from cJSON.
 * Payload, id and updated_at now always come from one element, and a body
 * the two could read differently is bad data.
 */
START_TEST(test_scanner_and_cjson_agree)
{
    struct vomo_page p;
    struct vomo_record r;
    const char *err;
    /* A control byte cJSON skips as white space: the payload was "\x01". */
    expect_page_rejected("{\"data\":\x01 [{\"id\":1," UA "}]}",
                         "body has a control byte outside a string");
    const char *ctl = "{\"data\":\x01 {\"id\":1," UA "}}";
    ck_assert_int_eq(vomo_parse_record(ctl, strlen(ctl), &r, &err), -EINVAL);
    ck_assert_str_eq(err, "body has a control byte outside a string");
    expect_page_rejected("{\"data\":[{\"id\":1,\x1f" UA "}]}",
                         "body has a control byte outside a string");
    /* Two "data" members, one spelled with an escape: payload and id came
     * from B, updated_at from A. */
    expect_page_rejected("{\"d\\u0061ta\":[{\"id\":5,\"updated_at\":\"2020-01-01T00:00:00Z\"}],"
                         "\"data\":[{\"id\":7," UA "}]}",
                         "body has a duplicate key");
    expect_page_rejected("{\"data\":[],\"data\":[]}", "body has a duplicate key");
    expect_page_rejected("{\"data\":[],\"meta\":{\"total\":1,\"total\":2}}",
                         "links or meta has a duplicate key");
    expect_page_rejected("{\"data\":[],\"links\":{\"next\":null,\"n\\u0065xt\":\"x?page=2\"}}",
                         "links or meta has a duplicate key");
    /* {"\u0069d":5,"id":7}: the scanner said 7, cJSON 5. */
    expect_one_bad_record("{\"data\":[{\"\\u0069d\":5,\"id\":7," UA "}]}",
                          "record has a duplicate key");
    expect_one_bad_record("{\"data\":[{\"id\":5," UA
                          ",\"updated_\\u0061t\":\"2030-01-01T00:00:00Z\"}]}",
                          "record has a duplicate key");
    const char *dup = "{\"\\u0069d\":5,\"id\":7," UA "}";
    ck_assert_int_eq(vomo_parse_record(dup, strlen(dup), &r, &err), -EINVAL);
    ck_assert_str_eq(err, "body has a duplicate key");
    const char *wrapped = "{\"data\":{\"\\u0069d\":5,\"id\":7," UA "}}";
    ck_assert_int_eq(vomo_parse_record(wrapped, strlen(wrapped), &r, &err), 0);
    ck_assert_str_eq(err, "record has a duplicate key");
    vomo_record_free(&r);

    /* An escaped key alone is one member: its exact digits are used. */
    ck_assert_int_eq(
        parse_page("{\"d\\u0061ta\":[{\"\\u0069d\":9007199254740993," UA "}]}", &p, NULL), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].id, "9007199254740993");
    ck_assert_str_eq(p.records[0].payload, "{\"\\u0069d\":9007199254740993," UA "}");
    vomo_page_free(&p);

    /* What the daemon does not read may repeat keys; a control byte inside a
     * string is read alike by both. */
    const char *ok = "{\"data\":[{\"id\":3," UA ",\"x\":{\"a\":1,\"a\":2},\"s\":\"a\x01z\"}]}";
    ck_assert_int_eq(parse_page(ok, &p, NULL), 0);
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].id, "3");
    ck_assert_str_eq(p.records[0].payload,
                     "{\"id\":3," UA ",\"x\":{\"a\":1,\"a\":2},\"s\":\"a\x01z\"}");
    vomo_page_free(&p);

    /* Every kind of value, nested, walked in lockstep with cJSON's tree:
     * the text is kept as sent, numbers as spelled (1e400 is cJSON's inf). */
    const char *all = "{\"data\":[{\"id\":4," UA ",\"v\":[true,false,null,-0,1.50,1e400,"
                      "{\"k\":[[],{}],\"e\":\"\\u00e9\\\"\"}], \"n\" : { } }]}";
    ck_assert_int_eq(parse_page(all, &p, NULL), 0);
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].id, "4");
    ck_assert_str_eq(p.records[0].payload, "{\"id\":4," UA ",\"v\":[true,false,null,-0,1.50,1e400,"
                                           "{\"k\":[[],{}],\"e\":\"\\u00e9\\\"\"}], \"n\" : { } }");
    vomo_page_free(&p);
}
END_TEST

/* The control-byte check steps over eight plain bytes at a time: a control
 * byte, a quote or an escape is found at every offset within and across
 * those steps, inside strings and out; and the numbers the scanner reads
 * without strtod (integers of up to 15 digits) agree with cJSON's. */
START_TEST(test_control_bytes_at_every_offset)
{
    for (int pad = 0; pad < 24; pad++) {
        char run[32];
        memset(run, 'a', (size_t)pad);
        run[pad] = '\0';
        char body[256];
        struct vomo_page p;
        /* outside a string, after pad bytes of a string: refused */
        snprintf(body, sizeof(body),
                 "{\"data\":[{\"id\":1," UA ",\"s\":\"%s\",\"x\":\x01"
                 "1}]}",
                 run);
        expect_page_rejected(body, "body has a control byte outside a string");
        /* inside a string, after an escaped quote: read alike by both */
        snprintf(body, sizeof(body), "{\"data\":[{\"id\":1," UA ",\"s\":\"%s\\\"\x01%s\"}]}", run,
                 run);
        ck_assert_int_eq(parse_page(body, &p, NULL), 0);
        ck_assert_uint_eq(p.count, 1);
        ck_assert_ptr_null(p.records[0].error);
        vomo_page_free(&p);
        /* an escaped backslash ends just before the closing quote */
        snprintf(body, sizeof(body), "{\"data\":[{\"id\":1," UA ",\"s\":\"%s\\\\\"},\x02{}]}", run);
        expect_page_rejected(body, "body has a control byte outside a string");
    }
    const char *nums = "{\"data\":[{\"id\":123456789012345," UA
                       ",\"n\":[0,-0,7,-12,999999999999999,1000000000000000,12.5,1e3,-1E-2]}]}";
    struct vomo_page p;
    ck_assert_int_eq(parse_page(nums, &p, NULL), 0);
    ck_assert_uint_eq(p.count, 1);
    ck_assert_ptr_null(p.records[0].error);
    ck_assert_str_eq(p.records[0].id, "123456789012345");
    ck_assert_ptr_nonnull(strstr(p.records[0].payload, "[0,-0,7,-12,999999999999999,"));
    vomo_page_free(&p);
}
END_TEST

static Suite *vomo_suite(void)
{
    Suite *s = suite_create("vomo");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_page_numbers_and_strings);
    tcase_add_test(tc, test_control_bytes_at_every_offset);
    tcase_add_test(tc, test_payload_keeps_spelling);
    tcase_add_test(tc, test_payload_fallback);
    tcase_add_test(tc, test_scanner_and_cjson_agree);
    tcase_add_test(tc, test_next_variants);
    tcase_add_test(tc, test_last_page);
    tcase_add_test(tc, test_one_bad_record_among_good);
    tcase_add_test(tc, test_whole_body_failures);
    tcase_add_test(tc, test_hostile_input);
    tcase_add_test(tc, test_parse_record);
    tcase_add_test(tc, test_urls);
    tcase_add_test(tc, test_damaged_pages_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vomo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
