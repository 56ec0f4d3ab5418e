/* Aligned tables: cells kept until printing, when column widths are known. */
#include "cli/cli_table.h"

#include <stdlib.h>
#include <string.h>

struct cli_table {
	size_t ncols, nrows, cap;
	char **cells;               /* row-major, the header row first */
};

static void row_add(struct cli_table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

struct cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	if (t) {
		t->ncols = ncols;
		row_add(t, headers);
	}
	return t;
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
	row_add(t, cells);
}

void cli_table_print(struct cli_table *t, FILE *out)
{
	if (!t)
		return;
	size_t *width = calloc(t->ncols, sizeof(*width));
	for (size_t r = 0; width && r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t w = s ? strlen(s) : 0;
			width[c] = w > width[c] ? w : width[c];
		}
	for (size_t r = 0; width && r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			/* the last column is not padded: no trailing blanks */
			if (c + 1 < t->ncols)
				fprintf(out, "%-*s  ", (int)width[c], s ? s : "");
			else
				fprintf(out, "%s\n", s ? s : "");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(width);
	free(t->cells);
	free(t);
}
