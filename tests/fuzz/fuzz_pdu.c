/* libFuzzer target for the BHS decoder: any 48 bytes must decode without a
 * memory error, and what it reports must agree with the raw bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 };
	struct iscsi_hdr h;

	memcpy(bhs, data, size < sizeof(bhs) ? size : sizeof(bhs));
	enum iscsi_parse_error e = iscsi_parse_bhs(bhs, &h);
	if (e != ISCSI_PARSE_OK && e != ISCSI_PARSE_BAD_OPCODE && e != ISCSI_PARSE_INVALID_FIELD)
		abort();
	if ((unsigned)h.opcode != (bhs[0] & 0x3fu) || h.ahs_len != bhs[4])
		abort();

	size_t tail = iscsi_pdu_tail_len(&h, size & 1, size & 2);
	size_t least = (size_t)h.ahs_len * 4u + iscsi_pad4(h.data_len);
	if (tail < least || tail > least + 2 * ISCSI_DIGEST_LEN || (tail & 3u))
		abort();
	return 0;
}
