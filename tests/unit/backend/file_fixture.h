/* A fresh directory for a file store's backing file, and a loop to run its
 * I/Os on, for the backend tests that need a real file. */
#ifndef LUNAR_TEST_BACKEND_FILE_FIXTURE_H
#define LUNAR_TEST_BACKEND_FILE_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io_runner.h"

struct file_fixture {
	char dir[256];
	char path[PATH_MAX];     /* dir/lun.img, not created */
	struct io_runner runner;
};

/* For cmocka's setup: name prefixes the directory in $TMPDIR (or /tmp). */
static inline int file_fixture_setup(void **state, const char *name)
{
	struct file_fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/%s-XXXXXX", tmp, name);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/lun.img", f->dir);
	if (loop_init(&f->runner.loop, 64) < 0)
		return -1;
	*state = f;
	return 0;
}

static inline int file_fixture_teardown(void **state)
{
	struct file_fixture *f = *state;
	assert_false(f->runner.done_inside_submit);
	loop_fini(&f->runner.loop);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

#endif
