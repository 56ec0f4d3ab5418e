/*
 * lunar-bench-report: turns bench/run.sh's raw result file into the
 * Markdown tables of docs/PERFORMANCE.md. See bench_report.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_report.h"

int main(int argc, char **argv)
{
	char line[2048], err[160];
	unsigned lineno = 0;

	if (argc != 2) {
		fputs("usage: lunar-bench-report RAW-FILE\n", stderr);
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (in == NULL) {
		perror(argv[1]);
		return EXIT_FAILURE;
	}
	struct bench_report *r = bench_report_new();
	int status = r == NULL ? EXIT_FAILURE : EXIT_SUCCESS;
	while (status == EXIT_SUCCESS && fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		if (bench_report_add(r, line, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s:%u: %s\n", argv[1], lineno, err);
			status = EXIT_FAILURE;
		}
	}
	if (status == EXIT_SUCCESS)
		bench_report_print(r, stdout);
	bench_report_free(r);
	fclose(in);
	return status;
}
