#include "bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_spread_pct(double *v, size_t n)
{
	double m = bench_median(v, n);

	if (n == 0 || m == 0)
		return NAN;
	return 100 * (v[n - 1] - v[0]) / m;
}

int bench_kv_text(const char *line, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = line;

	while (*p != '\0') {
		p += strspn(p, " \t\n");
		size_t wlen = strcspn(p, " \t\n");
		if (wlen > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vlen = wlen - klen - 1;
			if (vlen >= outlen)
				return -1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p += wlen;
	}
	return -1;
}

int bench_kv_number(const char *line, const char *key, double *out)
{
	char text[64], *end;

	if (bench_kv_text(line, key, text, sizeof(text)) != 0 || text[0] == '\0')
		return -1;
	double v = strtod(text, &end);
	if (*end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

void bench_format_count(double v, char *out, size_t outlen)
{
	if (v < 999.5)
		snprintf(out, outlen, "%.0f", v);
	else if (v < 9999.5)
		snprintf(out, outlen, "%.2fK", v / 1e3);
	else if (v < 999950)
		snprintf(out, outlen, "%.*fK", v < 99950 ? 1 : 0, v / 1e3);
	else
		snprintf(out, outlen, "%.2fM", v / 1e6);
}
