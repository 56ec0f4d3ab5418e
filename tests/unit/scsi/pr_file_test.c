#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scsi/pr_file.h"

static const struct pr_id A = { "iqn.2026-11.org.lunar:a,i,0x23d000000001", 1 };
static const struct pr_id B = { "iqn.2026-11.org.lunar:b,i,0x23d000000002", 1 };

static void on_event(const struct pr_reg *reg, enum pr_event ev, void *arg)
{
}

static void apply(struct pr_state *s, const struct pr_id *id, uint8_t sa, enum pr_type type,
		  uint64_t key, uint64_t sa_key)
{
	struct pr_out o = { .service_action = sa, .type = type, .key = key, .sa_key = sa_key,
			    .aptpl = true };
	assert_int_equal(pr_state_out(s, id, &o, on_event, NULL), SENSE_NONE);
}

/* Two registrations, B holding Exclusive Access. */
static void sample(struct pr_state *s)
{
	pr_state_init(s);
	apply(s, &A, PR_OUT_REGISTER_IGNORE, 0, 0, 0x1122334455667788ull);
	apply(s, &B, PR_OUT_REGISTER_IGNORE, 0, 0, 0xB);
	apply(s, &B, PR_OUT_RESERVE, PR_TYPE_EA, 0xB, 0);
}

static void assert_same(const struct pr_state *a, const struct pr_state *b)
{
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->nregs, b->nregs);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->holder, b->holder);
	assert_int_equal(a->aptpl, b->aptpl);
	for (unsigned i = 0; i < a->nregs; i++) {
		assert_string_equal(a->regs[i].initiator, b->regs[i].initiator);
		assert_int_equal(a->regs[i].rel_port, b->regs[i].rel_port);
		assert_int_equal(a->regs[i].key, b->regs[i].key);
	}
}

static void test_format_parse_round_trip(void **state)
{
	struct pr_state s, back;
	sample(&s);
	char text[4096];
	size_t len = pr_file_format(&s, text, sizeof(text));
	assert_true(len > 0);
	assert_int_equal(pr_file_parse(text, &back), 0);
	assert_same(&s, &back);
}

static void test_format_refuses_a_small_buffer(void **state)
{
	struct pr_state s;
	sample(&s);
	char text[64];
	assert_int_equal(pr_file_format(&s, text, sizeof(text)), 0);
}

/* Cut anywhere, the text no longer parses: the end line is missing. */
static void test_truncated_text_is_refused(void **state)
{
	struct pr_state s, back;
	sample(&s);
	char text[4096];
	size_t len = pr_file_format(&s, text, sizeof(text));
	for (size_t cut = 0; cut < len; cut++) {
		char part[4096];
		memcpy(part, text, cut);
		part[cut] = '\0';
		assert_int_not_equal(pr_file_parse(part, &back), 0);
		assert_int_equal(back.nregs, 0);
		assert_int_equal(back.type, PR_TYPE_NONE);
	}
}

static void test_inconsistent_state_is_refused(void **state)
{
	struct pr_state back;
	const char *holder_out_of_range = "lunar persistent reservations 1\ngeneration 1\n"
					  "reservation 1 3\nregistration 0a 1 iqn.x,i,0x1\nend 1\n";
	const char *bad_type = "lunar persistent reservations 1\ngeneration 1\n"
			       "reservation 2 0\nregistration 0a 1 iqn.x,i,0x1\nend 1\n";
	const char *twice = "lunar persistent reservations 1\ngeneration 1\nreservation 0 -1\n"
			    "registration 0a 1 iqn.x,i,0x1\nregistration 0b 1 iqn.x,i,0x1\nend 2\n";
	assert_int_equal(pr_file_parse(holder_out_of_range, &back), -EINVAL);
	assert_int_equal(pr_file_parse(bad_type, &back), -EINVAL);
	assert_int_equal(pr_file_parse(twice, &back), -EINVAL);
}

struct dir {
	char path[64];
	char file[256];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/tmp/lunar-pr-file.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	assert_int_equal(pr_file_path(d->file, sizeof(d->file), d->path,
				      "iqn.2026-11.org.lunar:t/x", 3), 0);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->file);
	unlink(tmp);
	unlink(d->file);
	rmdir(d->path);
	free(d);
	return 0;
}

static void test_path_names_target_and_lun(void **state)
{
	struct dir *d = *state;
	char want[256];
	snprintf(want, sizeof(want), "%s/pr-iqn.2026-11.org.lunar:t_x-lun3.state", d->path);
	assert_string_equal(d->file, want);
}

static void test_save_load_round_trip(void **state)
{
	struct dir *d = *state;
	struct pr_state s, back;
	sample(&s);
	assert_int_equal(pr_file_save(d->file, &s), 0);
	assert_int_equal(pr_file_load(d->file, &back), 0);
	assert_same(&s, &back);
	/* saved again over the old file */
	apply(&s, &A, PR_OUT_REGISTER, 0, 0x1122334455667788ull, 0);
	assert_int_equal(pr_file_save(d->file, &s), 0);
	assert_int_equal(pr_file_load(d->file, &back), 0);
	assert_same(&s, &back);
}

static void test_missing_file_loads_nothing(void **state)
{
	struct dir *d = *state;
	struct pr_state back;
	assert_int_equal(pr_file_load(d->file, &back), -ENOENT);
	assert_int_equal(back.nregs, 0);
}

/* A crash during a save leaves a torn temporary file beside the last
 * complete one: the load reads the complete one. */
static void test_torn_temp_file_is_ignored(void **state)
{
	struct dir *d = *state;
	struct pr_state s, back;
	sample(&s);
	assert_int_equal(pr_file_save(d->file, &s), 0);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->file);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("lunar persistent reservations 1\ngeneration 9\nreserv", f);
	fclose(f);
	assert_int_equal(pr_file_load(d->file, &back), 0);
	assert_same(&s, &back);
	/* the next save replaces the torn file */
	assert_int_equal(pr_file_save(d->file, &s), 0);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_remove_then_nothing_loads(void **state)
{
	struct dir *d = *state;
	struct pr_state s, back;
	sample(&s);
	assert_int_equal(pr_file_save(d->file, &s), 0);
	assert_int_equal(pr_file_remove(d->file), 0);
	assert_int_equal(pr_file_remove(d->file), 0);
	assert_int_equal(pr_file_load(d->file, &back), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_format_refuses_a_small_buffer),
		cmocka_unit_test(test_truncated_text_is_refused),
		cmocka_unit_test(test_inconsistent_state_is_refused),
		cmocka_unit_test_setup_teardown(test_path_names_target_and_lun, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_loads_nothing, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_torn_temp_file_is_ignored, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_remove_then_nothing_loads, dir_setup,
						dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
