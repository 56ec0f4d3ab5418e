/* Persistent reservations that persist through power loss (SPC-4 5.12.4,
 * APTPL): one LU's pr_state as a small text file in the state directory,
 * replaced atomically (a temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the old file or the new one, never a mix.
 * A temporary file a crash left behind is never read. */
#ifndef LUNAR_SCSI_PR_FILE_H
#define LUNAR_SCSI_PR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "scsi/pr_state.h"

/* The file for LUN lun of target under dir; 0, or -ENAMETOOLONG. */
int pr_file_path(char *buf, size_t cap, const char *dir, const char *target, uint16_t lun);
/* s as text; returns its length, or 0 when cap is too small. */
size_t pr_file_format(const struct pr_state *s, char *buf, size_t cap);
/* Reads what pr_file_format wrote into s; 0, or -EINVAL (s is then
 * empty) for anything else, a truncated file included. */
int pr_file_parse(const char *text, struct pr_state *s);
/* Replaces path's contents with s; 0 or -errno (logged). */
int pr_file_save(const char *path, const struct pr_state *s);
/* Removes path (APTPL 0: nothing survives power loss); 0 or -errno. */
int pr_file_remove(const char *path);
/* Loads path into s; 0, -ENOENT (no file: s is empty) or another -errno
 * (logged). */
int pr_file_load(const char *path, struct pr_state *s);

#endif
