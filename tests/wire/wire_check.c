/* Check reporting for the raw-wire tester. */
#include "wire_check.h"

#include <stdarg.h>
#include <stdio.h>

static unsigned passed, failed;

void wire_check(const char *name, bool ok, const char *fmt, ...)
{
	if (ok) {
		printf("ok %s\n", name);
		passed++;
	} else {
		va_list ap;

		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		failed++;
	}
	fflush(stdout);
}

void wire_check_why(const char *name, const char *why)
{
	wire_check(name, !*why, "%s", why);
}

void wire_check_unreached(const char *const *names, unsigned n, const char *why)
{
	for (unsigned i = 0; i < n; i++)
		wire_check(names[i], false, "not reached: %s", why);
}

void wire_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

unsigned wire_check_summary(void)
{
	printf("%u passed, %u failed\n", passed, failed);
	return failed;
}
