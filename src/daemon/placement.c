#include "daemon/placement.h"

unsigned placement_pick(const unsigned *load, unsigned n, unsigned from)
{
	unsigned best = from;
	for (unsigned k = 1; k < n; k++) {
		unsigned i = (from + k) % n;
		if (load[i] < load[best])
			best = i;
	}
	return best;
}
