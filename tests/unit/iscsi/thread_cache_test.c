/* Tasks and reply PDUs recycled per thread (thread_cache.c): what comes
 * back is the block given back, zeroed as if new; a PDU with more inline
 * data than a recycled block holds is its own allocation; each thread
 * keeps its own lists, and frees them when it ends (a leak there shows
 * under the sanitizer build's leak check). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/task.h"
#include "iscsi/thread_cache.h"
#include "iscsi/tx.h"

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

static void a_freed_task_comes_back_zeroed(void **state)
{
	struct iscsi_task *t = iscsi_task_alloc();
	assert_non_null(t);
	memset(t, 0xA5, sizeof(*t));
	iscsi_task_free(t);
	struct iscsi_task *again = iscsi_task_alloc();
	assert_ptr_equal(again, t);
	assert_true(all_zero(again, sizeof(*again)));
	iscsi_task_free(again);
}

/* A reply with sense data: it knows its inline size, and the rest of
 * the header and the inline bytes asked for are zero, whatever the block
 * held before. */
static void a_freed_pdu_comes_back_zeroed(void **state)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(0);
	assert_non_null(tx);
	memset(tx, 0xA5, sizeof(*tx));
	tx->inline_cap = 0;
	iscsi_tx_free(tx);
	struct iscsi_tx *again = iscsi_tx_alloc(98);
	assert_ptr_equal(again, tx);
	assert_int_equal(again->inline_cap, 98);
	/* everything else zero */
	again->inline_cap = 0;
	assert_true(all_zero(again, sizeof(*again) + 98));
	again->inline_cap = 98;
	memset(again->inline_data, 0x5A, 98);
	iscsi_tx_free(again);
}

/* A large PDU is not put on the list a small one is taken from: the
 * small one after it is the small block freed before it. */
static void a_large_pdu_is_not_recycled(void **state)
{
	struct iscsi_tx *small = iscsi_tx_alloc(0);
	struct iscsi_tx *large = iscsi_tx_alloc(8192);
	assert_non_null(small);
	assert_non_null(large);
	memset(large->inline_data, 0x11, 8192);
	iscsi_tx_free(small);
	iscsi_tx_free(large);
	struct iscsi_tx *next = iscsi_tx_alloc(16);
	assert_ptr_equal(next, small);
	iscsi_tx_free(next);
}

static void *alloc_on_other_thread(void *arg)
{
	/* This thread's list is empty: the block the test thread gave back
	 * is not handed out here. */
	struct iscsi_tx *tx = iscsi_tx_alloc(0);
	*(struct iscsi_tx **)arg = tx;
	iscsi_tx_free(tx);
	struct iscsi_task *t = iscsi_task_alloc();
	iscsi_task_free(t);
	return NULL;
}

static void each_thread_keeps_its_own(void **state)
{
	struct iscsi_tx *mine = iscsi_tx_alloc(0);
	iscsi_tx_free(mine);
	struct iscsi_tx *theirs = NULL;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, alloc_on_other_thread, &theirs), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_ptr_not_equal(theirs, mine);
	struct iscsi_tx *again = iscsi_tx_alloc(0);
	assert_ptr_equal(again, mine);
	iscsi_tx_free(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_freed_task_comes_back_zeroed),
		cmocka_unit_test(a_freed_pdu_comes_back_zeroed),
		cmocka_unit_test(a_large_pdu_is_not_recycled),
		cmocka_unit_test(each_thread_keeps_its_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
