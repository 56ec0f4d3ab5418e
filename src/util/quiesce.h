/* Grace periods for read-copy-update over event loops.
 *
 * A reader that loads a shared pointer inside one loop callback and never
 * keeps it past that callback is done with it once its loop has run any
 * later callback. So a writer that has published a new version frees the
 * old one after every reader loop has run a message posted after the
 * publication. Nothing blocks: the last loop to answer runs the free. */
#ifndef LUNAR_UTIL_QUIESCE_H
#define LUNAR_UTIL_QUIESCE_H

#include "util/loop.h"

/* Runs fn(arg) once each of the n loops has run a message posted now: on
 * the thread of the loop that answers last, or here at once when n is 0.
 * A loop that stops first never answers, so fn must not be needed for
 * shutdown. Returns 0, or -ENOMEM and fn is not run. */
int quiesce_then(struct loop *const *loops, unsigned n, void (*fn)(void *arg), void *arg);

#endif
