/*
 * check_outbox_ops.c - the table of writes and its pure decisions: which
 * ops exist and how they are sent, what a new write must carry, what each
 * outcome means for the row (the safety of a resend rests on this), how a
 * record found by a search is matched with the intent, and the search URL.
 */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "outbox_ops.h"

START_TEST(test_table)
{
    const struct outbox_op *o = outbox_op_find("users", "upsert");
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(o->method, "POST");
    ck_assert(o->safe);
    o = outbox_op_find("groups", "create");
    ck_assert_str_eq(o->method, "POST");
    ck_assert(!o->safe);
    ck_assert(!outbox_op_find("projects", "create")->safe);
    ck_assert(outbox_op_find("groups", "update")->safe);
    ck_assert_str_eq(outbox_op_find("groups", "delete")->method, "DELETE");
    ck_assert_int_eq(outbox_op_find("groups", "delete")->ctx, OP_VOMO_DELETE);
    ck_assert(outbox_op_find("groups", "set_members")->safe);
    ck_assert_ptr_null(outbox_op_find("users", "delete"));
    ck_assert_ptr_null(outbox_op_find("campaigns", "create"));
    ck_assert_ptr_null(outbox_op_find(NULL, "create"));

    char *u = outbox_url("http://h/v1", outbox_op_find("groups", "set_members"), "12");
    ck_assert_str_eq(u, "http://h/v1/groups/12/members");
    free(u);
    u = outbox_url("http://h/v1", outbox_op_find("projects", "update"), "7");
    ck_assert_str_eq(u, "http://h/v1/projects/7");
    free(u);
    u = outbox_url("http://h/v1", outbox_op_find("users", "upsert"), NULL);
    ck_assert_str_eq(u, "http://h/v1/users");
    free(u);
}
END_TEST

static int check(const char *res, const char *op, const char *id, const char *payload, char *why,
                 char *key)
{
    return outbox_validate(res, op, id, payload, why, 256, key);
}

START_TEST(test_validate)
{
    char why[256], key[OUTBOX_KEY_LEN];
    ck_assert_int_eq(check("users", "upsert", NULL, "{\"email\":\"Ann@Example.org\"}", why, key),
                     0);
    ck_assert_str_eq(key, "users:ann@example.org");
    ck_assert_int_eq(check("groups", "create", NULL, "{\"name\":\"Choir\"}", why, key), 0);
    ck_assert_str_eq(key, "");
    ck_assert_int_eq(check("groups", "update", "12", "{\"name\":\"Choir\"}", why, key), 0);
    ck_assert_str_eq(key, "groups:12");
    ck_assert_int_eq(check("groups", "delete", "12", NULL, why, key), 0);
    ck_assert_int_eq(check("groups", "set_members", "12", "{\"members\":[1,2]}", why, key), 0);

    ck_assert_int_eq(check("users", "upsert", NULL, "{\"first_name\":\"Ann\"}", why, key), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "\"email\""));
    ck_assert_int_eq(check("users", "upsert", NULL, "{\"email\":\"nobody\"}", why, key), -EINVAL);
    ck_assert_int_eq(check("groups", "create", NULL, "{\"name\":\"\"}", why, key), -EINVAL);
    ck_assert_int_eq(check("groups", "create", NULL, "{\"name\":\"x\"", why, key), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "not valid JSON"));
    ck_assert_int_eq(check("groups", "create", NULL, "[1]", why, key), -EINVAL);
    ck_assert_int_eq(check("groups", "create", NULL, NULL, why, key), -EINVAL);
    ck_assert_int_eq(check("groups", "create", "5", "{\"name\":\"x\"}", why, key), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "takes no id"));
    ck_assert_int_eq(check("groups", "update", NULL, "{\"name\":\"x\"}", why, key), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "--id"));
    ck_assert_int_eq(check("groups", "delete", "1/../2", NULL, why, key), -EINVAL);
    ck_assert_int_eq(check("groups", "set_members", "3", "{\"members\":5}", why, key), -EINVAL);
    ck_assert_int_eq(check("users", "frobnicate", NULL, "{}", why, key), -EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "users upsert"));
}
END_TEST

START_TEST(test_verdicts)
{
    ck_assert_int_eq(outbox_verdict_for(EC_NONE, TR_DONE, true), OBV_DONE);
    ck_assert_int_eq(outbox_verdict_for(EC_VALIDATION, TR_DEAD_LETTER, false), OBV_REVIEW);
    ck_assert_int_eq(outbox_verdict_for(EC_FORBIDDEN, TR_STOP_OPERATION, false), OBV_REVIEW);
    ck_assert_int_eq(outbox_verdict_for(EC_NOT_FOUND, TR_DEAD_LETTER, false), OBV_REVIEW);
    ck_assert_int_eq(outbox_verdict_for(EC_CONFLICT, TR_DEAD_LETTER, false), OBV_REVIEW);
    ck_assert_int_eq(outbox_verdict_for(EC_AUTH, TR_STOP_TENANT, false), OBV_WAIT);
    ck_assert_int_eq(outbox_verdict_for(EC_RATE_LIMITED, TR_WAIT_RETRY_AFTER, false), OBV_RETRY);
    ck_assert_int_eq(outbox_verdict_for(EC_TRANSIENT, TR_RETRY_BACKOFF, false), OBV_RETRY);
    ck_assert_int_eq(outbox_verdict_for(EC_TRANSIENT, TR_RETRY_BACKOFF, true), OBV_UNKNOWN);
    ck_assert_int_eq(outbox_verdict_for(EC_SERVER_ERROR, TR_RETRY_FEW, true), OBV_UNKNOWN);
    ck_assert_int_eq(outbox_verdict_for(EC_BAD_DATA, TR_RETRY_FEW, true), OBV_UNKNOWN);
}
END_TEST

static bool maybe(int curl_code, long status, bool sent)
{
    struct outcome o = {
        .ctx = OP_VOMO_WRITE, .curl_code = curl_code, .http_status = status, .sent = sent};
    return classify_maybe_applied(&o);
}

/* What may have reached VOMO: the line between a safe resend and a search. */
START_TEST(test_maybe_applied)
{
    ck_assert(!maybe(CURLE_COULDNT_CONNECT, 0, false));
    ck_assert(!maybe(CURLE_COULDNT_RESOLVE_HOST, 0, false));
    ck_assert(!maybe(CURLE_PEER_FAILED_VERIFICATION, 0, false));
    ck_assert(!maybe(CURLE_OPERATION_TIMEDOUT, 0, false)); /* connect timeout: nothing sent */
    ck_assert(maybe(CURLE_OPERATION_TIMEDOUT, 0, true));   /* timeout after sending */
    ck_assert(maybe(CURLE_GOT_NOTHING, 0, true));          /* response lost */
    ck_assert(maybe(CURLE_RECV_ERROR, 0, true));           /* reset mid-response */
    ck_assert(!maybe(CURLE_OK, 429, true));
    ck_assert(!maybe(CURLE_OK, 503, true));
    ck_assert(!maybe(CURLE_OK, 422, true));
    ck_assert(!maybe(CURLE_OK, 401, true));
    ck_assert(maybe(CURLE_OK, 502, true));
    ck_assert(maybe(CURLE_OK, 504, true));
    ck_assert(maybe(CURLE_OK, 500, true));
    ck_assert(maybe(CURLE_OK, 200, true));
}
END_TEST

START_TEST(test_matches)
{
    const char *rec = "{\"id\":9,\"name\":\"Choir\",\"description\":\"Sings\",\"members_count\":0,"
                      "\"active\":true,\"created_at\":\"2026-01-01T00:00:00+00:00\"}";
    ck_assert(outbox_matches("{\"name\":\"Choir\",\"description\":\"Sings\"}", rec));
    ck_assert(outbox_matches("{\"name\":\"Choir\",\"active\":1}", rec));
    ck_assert(outbox_matches("{\"name\":\"Choir\",\"phone\":null}", rec));
    ck_assert(!outbox_matches("{\"name\":\"choir\"}", rec));
    ck_assert(!outbox_matches("{\"name\":\"Choir\",\"description\":\"Hums\"}", rec));
    ck_assert(!outbox_matches("{\"name\":\"Choir\",\"active\":false}", rec));
    ck_assert(!outbox_matches("{\"name\":\"Choir\",\"extra\":\"x\"}", rec));
    ck_assert(!outbox_matches("{\"name\":\"Choir\"}", "not json"));
    ck_assert(!outbox_matches(NULL, rec));
}
END_TEST

START_TEST(test_search_url)
{
    char *u =
        outbox_search_url("http://h/v1", "groups", "Choir & Band+1", "2026-11-28T08:43:07.000Z", 2);
    ck_assert_str_eq(u, "http://h/v1/groups?name_like=Choir%20%26%20Band%2B1&created_after="
                        "2026-11-28T08%3A43%3A07.000Z&page=2");
    free(u);
    char name[32];
    ck_assert(outbox_payload_string("{\"name\":\"Choir\"}", "name", name, sizeof(name)));
    ck_assert_str_eq(name, "Choir");
    ck_assert(!outbox_payload_string("{\"name\":3}", "name", name, sizeof(name)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outbox_ops");
    TCase *tc = tcase_create("ops");
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_verdicts);
    tcase_add_test(tc, test_maybe_applied);
    tcase_add_test(tc, test_matches);
    tcase_add_test(tc, test_search_url);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
