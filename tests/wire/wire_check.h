/* Check reporting for the raw-wire tester: one "ok NAME" or "FAIL NAME: why"
 * line per check, "# ..." lines for notes, and the closing counts. */
#ifndef LUNAR_WIRE_CHECK_H
#define LUNAR_WIRE_CHECK_H

#include <stdbool.h>

#define WIRE_WHY_LEN 256

__attribute__((format(printf, 3, 4)))
void wire_check(const char *name, bool ok, const char *fmt, ...);
/* Reports name as passed when why is empty, else as failed with why. */
void wire_check_why(const char *name, const char *why);
/* Reports each of names[0..n) as failed: a scenario stopped before them. */
void wire_check_unreached(const char *const *names, unsigned n, const char *why);
__attribute__((format(printf, 1, 2)))
void wire_note(const char *fmt, ...);
/* Prints "N passed, N failed"; returns the number failed. */
unsigned wire_check_summary(void);

#endif
