/* Aligned text tables for lunarctl's human output: a header row, then rows
 * of strings, each column as wide as its widest cell. */
#ifndef LUNAR_CLI_TABLE_H
#define LUNAR_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cli_table;

/* ncols headers; NULL when out of memory (then every call is a no-op). */
struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* One row of ncols cells (copied); NULL prints as "-". */
void cli_table_row(struct cli_table *t, const char *const *cells);
/* Prints and frees the table. */
void cli_table_print(struct cli_table *t, FILE *out);

#endif
