/*
 * check_jsonarena.c - cJSON's allocations in a window come from the arena
 * (frees do nothing, the end releases all), outside a window and on other
 * threads they are malloc's as before, a request larger than a chunk gets a
 * chunk of its own, and a page parse leaves no window open.
 */
#include <check.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jsonarena.h"
#include "util.h"
#include "vomo.h"

START_TEST(window_takes_cjson_allocations)
{
    struct jsonarena a;
    jsonarena_begin(&a);
    ck_assert_uint_eq(jsonarena_bytes(&a), 0);
    cJSON *j = cJSON_Parse("{\"a\":[1,2,\"x\"],\"b\":{\"c\":null}}");
    ck_assert_ptr_nonnull(j);
    size_t parsed = jsonarena_bytes(&a);
    ck_assert_uint_gt(parsed, 5 * sizeof(cJSON) - 1);
    char *s = cJSON_PrintUnformatted(j);
    ck_assert_str_eq(s, "{\"a\":[1,2,\"x\"],\"b\":{\"c\":null}}");
    ck_assert_uint_gt(jsonarena_bytes(&a), parsed);
    size_t before = jsonarena_bytes(&a);
    cJSON_free(s);
    cJSON_Delete(j); /* a no-op in the window: the end frees it */
    ck_assert_uint_eq(jsonarena_bytes(&a), before);
    jsonarena_end(&a);
    ck_assert_uint_eq(jsonarena_bytes(&a), 0);
}
END_TEST

START_TEST(outside_a_window_cjson_uses_malloc)
{
    struct jsonarena a;
    jsonarena_begin(&a);
    jsonarena_end(&a);
    /* Allocated and freed by malloc/free (AddressSanitizer would see a
     * free of arena memory or a leak). */
    cJSON *j = cJSON_Parse("[1,{\"k\":\"v\"}]");
    ck_assert_ptr_nonnull(j);
    char *s = cJSON_PrintUnformatted(j);
    ck_assert_str_eq(s, "[1,{\"k\":\"v\"}]");
    cJSON_free(s);
    cJSON_Delete(j);
    ck_assert_uint_eq(jsonarena_bytes(&a), 0);
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    cJSON *j = cJSON_Parse("{\"from\":\"another thread\"}");
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    bool ok = s && strcmp(s, "{\"from\":\"another thread\"}") == 0;
    cJSON_free(s);
    cJSON_Delete(j);
    return ok ? (void *)1 : NULL;
}

START_TEST(other_threads_are_not_in_the_window)
{
    struct jsonarena a;
    jsonarena_begin(&a);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, other_thread, NULL), 0);
    void *ok = NULL;
    ck_assert_int_eq(pthread_join(th, &ok), 0);
    ck_assert_ptr_nonnull(ok);
    ck_assert_uint_eq(jsonarena_bytes(&a), 0);
    jsonarena_end(&a);
}
END_TEST

START_TEST(large_allocation_gets_its_own_chunk)
{
    size_t n = 200 * 1024;
    char *text = xmalloc(n + 3);
    text[0] = '"';
    memset(text + 1, 'x', n);
    text[n + 1] = '"';
    text[n + 2] = '\0';
    struct jsonarena a;
    jsonarena_begin(&a);
    cJSON *j = cJSON_Parse(text);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(strlen(j->valuestring), n);
    ck_assert_uint_gt(jsonarena_bytes(&a), n);
    cJSON *small = cJSON_Parse("[true]");
    ck_assert_ptr_nonnull(small);
    ck_assert(cJSON_IsTrue(small->child));
    jsonarena_end(&a);
    free(text);
}
END_TEST

START_TEST(page_parse_closes_its_window)
{
    const char *body = "{\"data\":[{\"id\":1,\"updated_at\":\"2025-01-01T00:00:00Z\"},[]]}";
    struct vomo_page p;
    const char *err = NULL;
    ck_assert_int_eq(vomo_parse_page(body, strlen(body), &p, &err), 0);
    ck_assert_uint_eq(p.count, 2);
    ck_assert_str_eq(p.records[0].payload, "{\"id\":1,\"updated_at\":\"2025-01-01T00:00:00Z\"}");
    ck_assert_str_eq(p.records[1].payload, "[]"); /* copied out of the arena */
    vomo_page_free(&p);
    ck_assert_int_eq(vomo_parse_page("{\"data\":1}", 10, &p, &err), -EINVAL);
    /* No window is left open: another can begin (a nested one aborts). */
    struct jsonarena a;
    jsonarena_begin(&a);
    jsonarena_end(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonarena");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, window_takes_cjson_allocations);
    tcase_add_test(tc, outside_a_window_cjson_uses_malloc);
    tcase_add_test(tc, other_threads_are_not_in_the_window);
    tcase_add_test(tc, large_allocation_gets_its_own_chunk);
    tcase_add_test(tc, page_parse_closes_its_window);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
