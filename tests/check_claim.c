/*
 * check_claim.c - the table of records with a delivery in flight: one
 * holder at a time, waiting claims served in order and granted with the
 * record held, claims of one owner never waiting for each other, a waiting
 * claim that withdraws, and a table that grows and shrinks back to empty.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "claim.h"
#include "util.h"

struct tclaim {
    struct claim c;
    int granted;
    int order; /* when it was granted, 1-based */
    bool release_at_once;
    struct claims *cs;
};

static int grants;

static void on_granted(struct claim *c)
{
    struct tclaim *t = container_of(c, struct tclaim, c);
    ck_assert_int_eq(c->state, CLAIM_HELD);
    t->granted++;
    t->order = ++grants;
    if (t->release_at_once)
        claim_release(t->cs, c);
}

static void tclaim_init(struct tclaim *t, struct claims *cs, const void *owner)
{
    *t = (struct tclaim){.cs = cs};
    t->c.granted = on_granted;
    t->c.owner = owner;
}

START_TEST(one_holder_then_fifo)
{
    struct claims cs;
    claims_init(&cs);
    int o1, o2, o3;
    struct tclaim a, b, c;
    tclaim_init(&a, &cs, &o1);
    tclaim_init(&b, &cs, &o2);
    tclaim_init(&c, &cs, &o3);
    grants = 0;
    ck_assert(claim_take(&cs, &a.c, "users", "7"));
    ck_assert(!claim_take(&cs, &b.c, "users", "7"));
    ck_assert(!claim_take(&cs, &c.c, "users", "7"));
    ck_assert_int_eq(b.c.state, CLAIM_WAITING);
    ck_assert_uint_eq(claims_count(&cs), 1);
    claim_release(&cs, &a.c);
    ck_assert_int_eq(b.granted, 1);
    ck_assert_int_eq(c.granted, 0);
    claim_release(&cs, &b.c);
    ck_assert_int_eq(c.granted, 1);
    ck_assert_int_eq(b.order, 1);
    ck_assert_int_eq(c.order, 2);
    claim_release(&cs, &c.c);
    ck_assert_uint_eq(claims_count(&cs), 0);
    claim_release(&cs, &c.c); /* idle: nothing happens */
    claims_free(&cs);
}
END_TEST

START_TEST(other_records_and_resources_do_not_wait)
{
    struct claims cs;
    claims_init(&cs);
    int o1, o2, o3;
    struct tclaim a, b, c;
    tclaim_init(&a, &cs, &o1);
    tclaim_init(&b, &cs, &o2);
    tclaim_init(&c, &cs, &o3);
    ck_assert(claim_take(&cs, &a.c, "users", "7"));
    ck_assert(claim_take(&cs, &b.c, "users", "8"));
    ck_assert(claim_take(&cs, &c.c, "groups", "7"));
    ck_assert_uint_eq(claims_count(&cs), 3);
    claim_release(&cs, &a.c);
    claim_release(&cs, &b.c);
    claim_release(&cs, &c.c);
    ck_assert_uint_eq(claims_count(&cs), 0);
    claims_free(&cs);
}
END_TEST

/* Two records of one page with the same id: the second does not wait for
 * the page, which would wait for it. */
START_TEST(same_owner_never_waits)
{
    struct claims cs;
    claims_init(&cs);
    int page, job;
    struct tclaim a, b, j, w1, w2;
    tclaim_init(&a, &cs, &page);
    tclaim_init(&b, &cs, &page);
    ck_assert(claim_take(&cs, &a.c, "users", "7"));
    ck_assert(claim_take(&cs, &b.c, "users", "7"));
    tclaim_init(&j, &cs, &job);
    ck_assert(!claim_take(&cs, &j.c, "users", "7"));
    claim_release(&cs, &a.c);
    ck_assert_int_eq(j.granted, 0); /* b still holds it */
    claim_release(&cs, &b.c);
    ck_assert_int_eq(j.granted, 1);
    /* Waiting behind the job: both claims of the page are granted together. */
    tclaim_init(&w1, &cs, &page);
    tclaim_init(&w2, &cs, &page);
    ck_assert(!claim_take(&cs, &w1.c, "users", "7"));
    ck_assert(!claim_take(&cs, &w2.c, "users", "7"));
    claim_release(&cs, &j.c);
    ck_assert_int_eq(w1.granted, 1);
    ck_assert_int_eq(w2.granted, 1);
    claim_release(&cs, &w1.c);
    claim_release(&cs, &w2.c);
    ck_assert_uint_eq(claims_count(&cs), 0);
    claims_free(&cs);
}
END_TEST

/* A granted claim with nothing left to send gives the record back at once:
 * the next one is granted in turn. */
START_TEST(release_inside_granted_hands_on)
{
    struct claims cs;
    claims_init(&cs);
    int o1, o2, o3;
    struct tclaim a, b, c;
    tclaim_init(&a, &cs, &o1);
    tclaim_init(&b, &cs, &o2);
    tclaim_init(&c, &cs, &o3);
    b.release_at_once = true;
    ck_assert(claim_take(&cs, &a.c, "users", "7"));
    ck_assert(!claim_take(&cs, &b.c, "users", "7"));
    ck_assert(!claim_take(&cs, &c.c, "users", "7"));
    claim_release(&cs, &a.c);
    ck_assert_int_eq(b.granted, 1);
    ck_assert_int_eq(c.granted, 1);
    ck_assert_int_eq(c.c.state, CLAIM_HELD);
    claim_release(&cs, &c.c);
    ck_assert_uint_eq(claims_count(&cs), 0);
    claims_free(&cs);
}
END_TEST

START_TEST(waiting_claim_withdraws)
{
    struct claims cs;
    claims_init(&cs);
    int o1, o2, o3;
    struct tclaim a, b, c;
    tclaim_init(&a, &cs, &o1);
    tclaim_init(&b, &cs, &o2);
    tclaim_init(&c, &cs, &o3);
    ck_assert(claim_take(&cs, &a.c, "users", "7"));
    ck_assert(!claim_take(&cs, &b.c, "users", "7"));
    ck_assert(!claim_take(&cs, &c.c, "users", "7"));
    claim_release(&cs, &c.c); /* the last waiter leaves */
    claim_release(&cs, &b.c); /* and the first */
    ck_assert_int_eq(c.c.state, CLAIM_IDLE);
    claim_release(&cs, &a.c);
    ck_assert_int_eq(b.granted + c.granted, 0);
    ck_assert_uint_eq(claims_count(&cs), 0);
    claims_free(&cs);
}
END_TEST

START_TEST(many_records_grow_and_empty)
{
    struct claims cs;
    claims_init(&cs);
    enum { N = 5000 };
    struct tclaim *t = xcalloc(N, sizeof(*t));
    int o1, o2;
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        tclaim_init(&t[i], &cs, i % 2 ? &o1 : &o2);
        ck_assert(claim_take(&cs, &t[i].c, "users", id));
    }
    ck_assert_uint_eq(claims_count(&cs), N);
    for (int i = 0; i < N; i++)
        claim_release(&cs, &t[i].c);
    ck_assert_uint_eq(claims_count(&cs), 0);
    free(t);
    claims_free(&cs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("claim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_holder_then_fifo);
    tcase_add_test(tc, other_records_and_resources_do_not_wait);
    tcase_add_test(tc, same_owner_never_waits);
    tcase_add_test(tc, release_inside_granted_hands_on);
    tcase_add_test(tc, waiting_claim_withdraws);
    tcase_add_test(tc, many_records_grow_and_empty);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
