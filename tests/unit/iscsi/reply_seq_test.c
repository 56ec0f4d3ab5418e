/* Sequence numbers stamped into target PDUs when they are queued (RFC 7143
 * §4.2.2.2), and status PDUs kept until ExpStatSN acknowledges them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/reply_seq.h"
#include "util/be.h"

static unsigned released;

static void count_and_free(struct iscsi_tx *tx)
{
	released++;
	free(tx);
}

static struct iscsi_tx *new_tx(void)
{
	struct iscsi_tx *tx = calloc(1, sizeof(*tx));
	tx->sent = count_and_free;
	return tx;
}

static struct iscsi_tx *scsi_rsp(uint32_t itt)
{
	struct iscsi_tx *tx = new_tx();
	const struct iscsi_scsi_rsp r = { .itt = itt };
	iscsi_build_scsi_rsp(tx->bhs, &r);
	return tx;
}

static struct iscsi_tx *r2t(void)
{
	struct iscsi_tx *tx = new_tx();
	const struct iscsi_r2t r = { .itt = 1, .ttt = 2, .length = 512 };
	iscsi_build_r2t(tx->bhs, &r);
	return tx;
}

static struct iscsi_tx *data_in(bool with_status)
{
	struct iscsi_tx *tx = new_tx();
	const struct iscsi_data_in d = { .itt = 1, .ttt = ISCSI_RSVD_TAG, .final = true,
					 .has_status = with_status, .data_len = 512 };
	iscsi_build_data_in(tx->bhs, &d);
	return tx;
}

static uint32_t statsn_of(const struct iscsi_tx *tx)
{
	return be32_get(tx->bhs + 24);
}

static unsigned kept(const struct iscsi_reply_seq *q)
{
	unsigned n = 0;
	for (const struct iscsi_tx *tx = q->kept_head; tx; tx = tx->next)
		n++;
	return n;
}

static void reset_released(void)
{
	released = 0;
}

static void test_statsn_follows_queue_order_not_build_order(void **state)
{
	struct iscsi_reply_seq q = { .next_statsn = 100 };
	struct iscsi_tx *first_built = scsi_rsp(1), *second_built = scsi_rsp(2);
	iscsi_reply_seq_stamp(&q, second_built, 7, 20);
	iscsi_reply_seq_stamp(&q, first_built, 8, 21);
	assert_int_equal(statsn_of(second_built), 100);
	assert_int_equal(statsn_of(first_built), 101);
	assert_int_equal(q.next_statsn, 102);
	free(first_built);
	free(second_built);
}

static void test_window_is_the_one_at_queue_time(void **state)
{
	struct iscsi_reply_seq q = { .next_statsn = 1 };
	struct iscsi_tx *tx = scsi_rsp(1);
	iscsi_reply_seq_stamp(&q, tx, 0x11223344u, 0x55667788u);
	assert_int_equal(be32_get(tx->bhs + 28), 0x11223344u);
	assert_int_equal(be32_get(tx->bhs + 32), 0x55667788u);
	free(tx);
}

static void test_r2t_carries_next_statsn_without_taking_it(void **state)
{
	struct iscsi_reply_seq q = { .next_statsn = 40 };
	struct iscsi_tx *a = r2t(), *b = scsi_rsp(1);
	iscsi_reply_seq_stamp(&q, a, 1, 8);
	iscsi_reply_seq_stamp(&q, b, 1, 8);
	assert_int_equal(statsn_of(a), 40);
	assert_int_equal(statsn_of(b), 40);
	assert_int_equal(q.next_statsn, 41);
	free(a);
	free(b);
}

static void test_data_in_takes_statsn_only_with_status(void **state)
{
	struct iscsi_reply_seq q = { .next_statsn = 9 };
	struct iscsi_tx *plain = data_in(false), *last = data_in(true);
	iscsi_reply_seq_stamp(&q, plain, 3, 10);
	iscsi_reply_seq_stamp(&q, last, 3, 10);
	assert_int_equal(statsn_of(plain), 0); /* reserved without status */
	assert_int_equal(be32_get(plain->bhs + 28), 3);
	assert_int_equal(statsn_of(last), 9);
	assert_int_equal(q.next_statsn, 10);
	free(plain);
	free(last);
}

static void test_nop_in_without_answer_does_not_take_statsn(void **state)
{
	struct iscsi_reply_seq q = { .next_statsn = 5 };
	struct iscsi_tx *ping = new_tx(), *echo = new_tx();
	const struct iscsi_nop_in p = { .itt = ISCSI_RSVD_TAG, .ttt = 1 };
	const struct iscsi_nop_in e = { .itt = 3, .ttt = ISCSI_RSVD_TAG };
	iscsi_build_nop_in(ping->bhs, &p);
	iscsi_build_nop_in(echo->bhs, &e);
	iscsi_reply_seq_stamp(&q, ping, 1, 1);
	iscsi_reply_seq_stamp(&q, echo, 1, 1);
	assert_int_equal(statsn_of(ping), 5);
	assert_int_equal(statsn_of(echo), 5);
	assert_int_equal(q.next_statsn, 6);
	free(ping);
	free(echo);
}

static void test_without_retention_a_pdu_is_released_once_sent(void **state)
{
	reset_released();
	struct iscsi_reply_seq q = { .next_statsn = 1 };
	struct iscsi_tx *tx = scsi_rsp(1);
	iscsi_reply_seq_stamp(&q, tx, 1, 1);
	iscsi_reply_seq_sent(&q, tx);
	assert_int_equal(released, 1);
	assert_int_equal(kept(&q), 0);
}

static void test_retention_keeps_status_pdus_until_expstatsn_passes_them(void **state)
{
	reset_released();
	struct iscsi_reply_seq q = { .next_statsn = 10, .retain = true };
	struct iscsi_tx *tx[4] = { scsi_rsp(1), r2t(), scsi_rsp(2), data_in(true) };
	for (unsigned i = 0; i < 4; i++)
		iscsi_reply_seq_stamp(&q, tx[i], 1, 1);
	for (unsigned i = 0; i < 4; i++)
		iscsi_reply_seq_sent(&q, tx[i]);
	assert_int_equal(released, 1); /* the R2T carries no status */
	assert_int_equal(kept(&q), 3);  /* StatSN 10, 11, 12 */
	iscsi_reply_seq_ack(&q, 10);   /* acknowledges nothing yet */
	assert_int_equal(released, 1);
	iscsi_reply_seq_ack(&q, 12);   /* 10 and 11 */
	assert_int_equal(released, 3);
	assert_int_equal(kept(&q), 1);
	iscsi_reply_seq_ack(&q, 11);   /* older ExpStatSN: nothing */
	assert_int_equal(released, 3);
	iscsi_reply_seq_ack(&q, 13);
	assert_int_equal(released, 4);
	assert_null(q.kept_head);
	assert_null(q.kept_tail);
}

static void test_retention_release_wraps_at_2_32(void **state)
{
	reset_released();
	struct iscsi_reply_seq q = { .next_statsn = 0xfffffffeu, .retain = true };
	for (unsigned i = 0; i < 4; i++) { /* StatSN fffffffe, ffffffff, 0, 1 */
		struct iscsi_tx *tx = scsi_rsp(i);
		iscsi_reply_seq_stamp(&q, tx, 1, 1);
		iscsi_reply_seq_sent(&q, tx);
	}
	assert_int_equal(kept(&q), 4);
	iscsi_reply_seq_ack(&q, 0);
	assert_int_equal(released, 2);
	iscsi_reply_seq_ack(&q, 1);
	assert_int_equal(released, 3);
	iscsi_reply_seq_ack(&q, 2);
	assert_int_equal(released, 4);
}

static void test_close_releases_every_kept_pdu(void **state)
{
	reset_released();
	struct iscsi_reply_seq q = { .next_statsn = 1, .retain = true };
	for (unsigned i = 0; i < 3; i++) {
		struct iscsi_tx *tx = scsi_rsp(i);
		iscsi_reply_seq_stamp(&q, tx, 1, 1);
		iscsi_reply_seq_sent(&q, tx);
	}
	iscsi_reply_seq_release_all(&q);
	assert_int_equal(released, 3);
	assert_int_equal(kept(&q), 0);
	assert_null(q.kept_head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statsn_follows_queue_order_not_build_order),
		cmocka_unit_test(test_window_is_the_one_at_queue_time),
		cmocka_unit_test(test_r2t_carries_next_statsn_without_taking_it),
		cmocka_unit_test(test_data_in_takes_statsn_only_with_status),
		cmocka_unit_test(test_nop_in_without_answer_does_not_take_statsn),
		cmocka_unit_test(test_without_retention_a_pdu_is_released_once_sent),
		cmocka_unit_test(test_retention_keeps_status_pdus_until_expstatsn_passes_them),
		cmocka_unit_test(test_retention_release_wraps_at_2_32),
		cmocka_unit_test(test_close_releases_every_kept_pdu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
