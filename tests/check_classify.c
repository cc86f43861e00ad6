/*
 * check_classify.c - the error table of the VOMO guide and the webhook
 * contract of ARCHITECTURE.md, row by row and context by context: each
 * raw outcome must give the expected class and treatment.  Also the class
 * names (they are stored in the database) and the treatment table's shape.
 */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "classify.h"

struct row {
    const char *what;
    enum op_context ctx;
    int curl_code;
    long status;
    bool too_large;
    bool bad_body;
    enum err_class want_class;
    enum treatment want_tr;
};

#define L OP_VOMO_LIST
#define G OP_VOMO_GET
#define W OP_VOMO_WRITE
#define D OP_VOMO_DELETE
#define H OP_WEBHOOK

/* Rows of the guide's table that apply the same way in every VOMO context. */
#define SAME4(what, curl, st, tl, bb, cls, tr)                                                     \
    {what, L, curl, st, tl, bb, cls, tr}, {what, G, curl, st, tl, bb, cls, tr},                    \
        {what, W, curl, st, tl, bb, cls, tr},                                                      \
    {                                                                                              \
        what, D, curl, st, tl, bb, cls, tr                                                         \
    }

static const struct row vomo_rows[] = {
    SAME4("503", 0, 503, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("502", 0, 502, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("504", 0, 504, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("timeout", CURLE_OPERATION_TIMEDOUT, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("refused", CURLE_COULDNT_CONNECT, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("reset on recv", CURLE_RECV_ERROR, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("reset on send", CURLE_SEND_ERROR, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("empty reply", CURLE_GOT_NOTHING, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("cut body", CURLE_PARTIAL_FILE, 200, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("dns", CURLE_COULDNT_RESOLVE_HOST, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    SAME4("proxy dns", CURLE_COULDNT_RESOLVE_PROXY, 0, false, false, EC_TRANSIENT,
          TR_RETRY_BACKOFF),
    SAME4("429", 0, 429, false, false, EC_RATE_LIMITED, TR_WAIT_RETRY_AFTER),
    SAME4("401", 0, 401, false, false, EC_AUTH, TR_STOP_TENANT),
    SAME4("403", 0, 403, false, false, EC_FORBIDDEN, TR_STOP_OPERATION),
    SAME4("422", 0, 422, false, false, EC_VALIDATION, TR_DEAD_LETTER),
    SAME4("500", 0, 500, false, false, EC_SERVER_ERROR, TR_RETRY_FEW),
    SAME4("501", 0, 501, false, false, EC_SERVER_ERROR, TR_RETRY_FEW),
    SAME4("599", 0, 599, false, false, EC_SERVER_ERROR, TR_RETRY_FEW),
    SAME4("200", 0, 200, false, false, EC_NONE, TR_DONE),
    SAME4("201", 0, 201, false, false, EC_NONE, TR_DONE),
    SAME4("204", 0, 204, false, false, EC_NONE, TR_DONE),
    SAME4("tls verify", CURLE_PEER_FAILED_VERIFICATION, 0, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    SAME4("tls connect", CURLE_SSL_CONNECT_ERROR, 0, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    SAME4("other 4xx", 0, 400, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    SAME4("410 vomo", 0, 410, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    SAME4("3xx", 0, 302, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    SAME4("odd curl", CURLE_TOO_MANY_REDIRECTS, 0, false, false, EC_UNKNOWN, TR_RETRY_FEW),
    /* An error page larger than the cap is still that error. */
    SAME4("503 too large", CURLE_WRITE_ERROR, 503, true, false, EC_TRANSIENT, TR_RETRY_BACKOFF),
    /* 404 depends on what was being done. */
    {"404 list", L, 0, 404, false, false, EC_NOT_FOUND, TR_STOP_OPERATION},
    {"404 get", G, 0, 404, false, false, EC_NOT_FOUND, TR_RETRY_THEN_GONE},
    {"404 write", W, 0, 404, false, false, EC_NOT_FOUND, TR_DEAD_LETTER},
    {"404 delete", D, 0, 404, false, false, EC_NONE, TR_DONE},
    /* 409 matters for writes. */
    {"409 write", W, 0, 409, false, false, EC_CONFLICT, TR_REREAD_RETRY},
    {"409 delete", D, 0, 409, false, false, EC_CONFLICT, TR_REREAD_RETRY},
    {"409 get", G, 0, 409, false, false, EC_CONFLICT, TR_RETRY_FEW},
    {"409 list", L, 0, 409, false, false, EC_CONFLICT, TR_RETRY_FEW},
    /* Bad data: a page is retried as a request; a write has probably landed. */
    {"bad body list", L, 0, 200, false, true, EC_BAD_DATA, TR_RETRY_BACKOFF},
    {"bad body get", G, 0, 200, false, true, EC_BAD_DATA, TR_RETRY_BACKOFF},
    {"bad body write", W, 0, 201, false, true, EC_BAD_DATA, TR_RETRY_FEW},
    {"bad body delete", D, 0, 200, false, true, EC_BAD_DATA, TR_RETRY_FEW},
    {"too large list", L, CURLE_WRITE_ERROR, 200, true, false, EC_BAD_DATA, TR_RETRY_BACKOFF},
    {"too large get", G, CURLE_WRITE_ERROR, 200, true, false, EC_BAD_DATA, TR_RETRY_BACKOFF},
    {"too large no status", L, CURLE_WRITE_ERROR, 0, true, false, EC_BAD_DATA, TR_RETRY_BACKOFF},
    {"filesize exceeded", G, CURLE_FILESIZE_EXCEEDED, 200, false, false, EC_BAD_DATA,
     TR_RETRY_BACKOFF},
    {"write error alone", L, CURLE_WRITE_ERROR, 200, false, false, EC_UNKNOWN, TR_RETRY_FEW},
    {"no status no error", G, 0, 0, false, false, EC_UNKNOWN, TR_RETRY_FEW},
};

static const struct row webhook_rows[] = {
    {"200", H, 0, 200, false, false, EC_NONE, TR_DONE},
    {"201", H, 0, 201, false, false, EC_NONE, TR_DONE},
    {"204", H, 0, 204, false, false, EC_NONE, TR_DONE},
    {"2xx odd body", H, 0, 200, false, true, EC_NONE, TR_DONE},
    {"2xx then cut", H, CURLE_PARTIAL_FILE, 202, false, false, EC_NONE, TR_DONE},
    {"408", H, 0, 408, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"429", H, 0, 429, false, false, EC_RATE_LIMITED, TR_RETRY_BACKOFF},
    {"500", H, 0, 500, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"502", H, 0, 502, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"503", H, 0, 503, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"504", H, 0, 504, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"400", H, 0, 400, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"413", H, 0, 413, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"422", H, 0, 422, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"401", H, 0, 401, false, false, EC_AUTH, TR_PAUSE_DESTINATION},
    {"403", H, 0, 403, false, false, EC_FORBIDDEN, TR_PAUSE_DESTINATION},
    {"404", H, 0, 404, false, false, EC_NOT_FOUND, TR_PAUSE_DESTINATION},
    {"410", H, 0, 410, false, false, EC_NOT_FOUND, TR_PAUSE_DESTINATION},
    {"refused", H, CURLE_COULDNT_CONNECT, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"timeout", H, CURLE_OPERATION_TIMEDOUT, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"reset", H, CURLE_RECV_ERROR, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"dns", H, CURLE_COULDNT_RESOLVE_HOST, 0, false, false, EC_TRANSIENT, TR_RETRY_BACKOFF},
    {"tls", H, CURLE_PEER_FAILED_VERIFICATION, 0, false, false, EC_UNKNOWN, TR_PAUSE_DESTINATION},
    {"409", H, 0, 409, false, false, EC_CONFLICT, TR_RETRY_BACKOFF},
    {"405", H, 0, 405, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"418", H, 0, 418, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"451", H, 0, 451, false, false, EC_VALIDATION, TR_DEAD_LETTER},
    {"3xx", H, 0, 301, false, false, EC_UNKNOWN, TR_PAUSE_DESTINATION},
};

static void check_row(const struct row *r)
{
    struct outcome o = {.ctx = r->ctx,
                        .curl_code = r->curl_code,
                        .http_status = r->status,
                        .too_large = r->too_large,
                        .bad_body = r->bad_body};
    enum err_class c = classify(&o);
    enum treatment t = treatment_for(c, r->ctx);

    ck_assert_msg(c == r->want_class, "%s (ctx %d): class %s, want %s", r->what, (int)r->ctx,
                  err_class_name(c), err_class_name(r->want_class));
    ck_assert_msg(t == r->want_tr, "%s (ctx %d): treatment %s, want %s", r->what, (int)r->ctx,
                  treatment_name(t), treatment_name(r->want_tr));
    ck_assert_ptr_nonnull(classify_hint(&o));
}

START_TEST(vomo_table)
{
    check_row(&vomo_rows[_i]);
}
END_TEST

START_TEST(webhook_table)
{
    check_row(&webhook_rows[_i]);
}
END_TEST

START_TEST(names_round_trip)
{
    static const char *const want[] = {"none",      "transient", "rate_limited", "auth",
                                       "forbidden", "not_found", "validation",   "server_error",
                                       "conflict",  "bad_data",  "unknown"};
    ck_assert_int_eq(ARRAY_SIZE(want), EC_COUNT);
    for (int c = 0; c < EC_COUNT; c++) {
        enum err_class back = EC_COUNT;
        ck_assert_str_eq(err_class_name((enum err_class)c), want[c]);
        ck_assert_int_eq(err_class_parse(want[c], &back), 0);
        ck_assert_int_eq(back, c);
    }
    enum err_class untouched = EC_AUTH;
    ck_assert_int_eq(err_class_parse("Transient", &untouched), -EINVAL);
    ck_assert_int_eq(err_class_parse("", &untouched), -EINVAL);
    ck_assert_int_eq(err_class_parse(NULL, &untouched), -EINVAL);
    ck_assert_int_eq(untouched, EC_AUTH);
    ck_assert_str_eq(err_class_name(EC_COUNT), "unknown");
}
END_TEST

START_TEST(treatment_names)
{
    ck_assert_str_eq(treatment_name(TR_DONE), "done");
    ck_assert_str_eq(treatment_name(TR_RETRY_BACKOFF), "retry_backoff");
    ck_assert_str_eq(treatment_name(TR_WAIT_RETRY_AFTER), "wait_retry_after");
    ck_assert_str_eq(treatment_name(TR_STOP_TENANT), "stop_tenant");
    ck_assert_str_eq(treatment_name(TR_STOP_OPERATION), "stop_operation");
    ck_assert_str_eq(treatment_name(TR_DEAD_LETTER), "dead_letter");
    ck_assert_str_eq(treatment_name(TR_REREAD_RETRY), "reread_retry");
    ck_assert_str_eq(treatment_name(TR_RETRY_THEN_GONE), "retry_then_gone");
    ck_assert_str_eq(treatment_name(TR_RETRY_FEW), "retry_few");
    ck_assert_str_eq(treatment_name(TR_PAUSE_DESTINATION), "pause_destination");
}
END_TEST

START_TEST(breaker_classes)
{
    for (int c = 0; c < EC_COUNT; c++) {
        bool want = c == EC_TRANSIENT || c == EC_SERVER_ERROR;
        ck_assert_msg(err_class_trips_breaker((enum err_class)c) == want, "class %s",
                      err_class_name((enum err_class)c));
    }
}
END_TEST

/* Success is done everywhere, validation is dead-lettered everywhere, only
 * the webhook context pauses a destination and it never stops a tenant. */
START_TEST(table_shape)
{
    for (int ctx = OP_VOMO_LIST; ctx <= OP_WEBHOOK; ctx++) {
        ck_assert_int_eq(treatment_for(EC_NONE, (enum op_context)ctx), TR_DONE);
        ck_assert_int_eq(treatment_for(EC_VALIDATION, (enum op_context)ctx), TR_DEAD_LETTER);
        for (int c = 0; c < EC_COUNT; c++) {
            enum treatment t = treatment_for((enum err_class)c, (enum op_context)ctx);
            if (ctx != OP_WEBHOOK)
                ck_assert_int_ne(t, TR_PAUSE_DESTINATION);
            else
                ck_assert_int_ne(t, TR_STOP_TENANT);
        }
    }
}
END_TEST

START_TEST(hints_say_what_to_check)
{
    struct outcome o = {.ctx = OP_VOMO_LIST, .curl_code = CURLE_PEER_FAILED_VERIFICATION};
    ck_assert_ptr_nonnull(strstr(classify_hint(&o), "certificate"));
    o.curl_code = 0;
    o.http_status = 401;
    ck_assert_ptr_nonnull(strstr(classify_hint(&o), "token"));
    o.ctx = OP_WEBHOOK;
    ck_assert_ptr_nonnull(strstr(classify_hint(&o), "secret"));
}
END_TEST

static Suite *classify_suite(void)
{
    Suite *s = suite_create("classify");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, vomo_table, 0, (int)ARRAY_SIZE(vomo_rows));
    tcase_add_loop_test(tc, webhook_table, 0, (int)ARRAY_SIZE(webhook_rows));
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, treatment_names);
    tcase_add_test(tc, breaker_classes);
    tcase_add_test(tc, table_shape);
    tcase_add_test(tc, hints_say_what_to_check);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(classify_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
