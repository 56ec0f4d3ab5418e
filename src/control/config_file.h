/* A configuration file read or written whole: the loader reads it, and
 * the running configuration (running.h) saves its document to it. */
#ifndef LUNAR_CONTROL_CONFIG_FILE_H
#define LUNAR_CONTROL_CONFIG_FILE_H

/* The file's bytes as a NUL-terminated string (malloc'd), or NULL with
 * errno set. */
char *config_file_read(const char *path);
/* Replaces path by text atomically: written to "path.tmp" with mode 0600
 * (a configuration holds CHAP secrets), flushed (fsync), renamed over
 * path, and the directory flushed; after a crash path holds the old text
 * or the new. Returns 0 or -errno, and then path is untouched. */
int config_file_save(const char *path, const char *text);

#endif
