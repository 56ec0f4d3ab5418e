/* A write whose Expected Data Transfer Length ends inside a logical block
 * (RFC 7143 §11.3.5 EDTL against the CDB's length): refused with CHECK
 * CONDITION, ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT
 * (SPC-4 0Eh/03h), and the block is left as it was. A shorter EDTL that
 * ends on a block boundary still writes the blocks it covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

#define EDTL_LBA 9100u
#define EDTL_PARTIAL 300u

static void check_unaligned_edtl(struct wire_conn *c, uint32_t bs, uint8_t *before, uint8_t *buf)
{
	static const char *const names[] = {
		"write_edtl_inside_block_refused", "write_edtl_inside_block_leaves_block",
	};
	char why[WIRE_WHY_LEN] = "";
	uint8_t cdb[10];
	struct wire_scsi_result res;

	wire_fill_pattern(before, bs, 0x71);
	if (!wire_write_lba(c, EDTL_LBA, before, bs, bs, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		return;
	}
	wire_fill_pattern(buf, bs, 0x17);
	wire_cdb_rw10(cdb, 0x2a, EDTL_LBA, 1);
	if (wire_scsi_exec(c, cdb, sizeof(cdb), WIRE_DIR_WRITE, buf, EDTL_PARTIAL, &res, why,
			   sizeof(why)) &&
	    (res.status != WIRE_SCSI_CHECK_CONDITION || !res.has_sense ||
	     res.sense_key != WIRE_SENSE_ILLEGAL_REQUEST || res.asc != 0x0e || res.ascq != 0x03))
		snprintf(why, sizeof(why), "status 0x%02x sense %x/%02x/%02x, expected 5/0e/03",
			 res.status, res.sense_key, res.asc, res.ascq);
	wire_check_why(names[0], why);
	*why = '\0';
	if (wire_read_lba(c, EDTL_LBA, buf, bs, bs, why, sizeof(why)) && memcmp(buf, before, bs))
		snprintf(why, sizeof(why), "the block changed");
	wire_check_why(names[1], why);
}

/* WRITE(10) of two blocks with an EDTL of one: GOOD (with an underflow
 * residual), the first block new, the second as it was. */
static void check_aligned_short_edtl(struct wire_conn *c, uint32_t bs, uint8_t *got, uint8_t *buf)
{
	const char *name = "write_edtl_one_of_two_blocks_writes_one";
	char why[WIRE_WHY_LEN] = "";
	uint8_t cdb[10];

	wire_fill_pattern(buf, 2 * bs, 0x33);
	if (!wire_write_lba(c, EDTL_LBA, buf, 2 * bs, bs, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		return;
	}
	wire_fill_pattern(buf, bs, 0x44);
	wire_cdb_rw10(cdb, 0x2a, EDTL_LBA, 2);
	if (wire_scsi_good(c, cdb, sizeof(cdb), WIRE_DIR_WRITE, buf, bs, why, sizeof(why)) &&
	    wire_read_lba(c, EDTL_LBA, got, 2 * bs, bs, why, sizeof(why))) {
		bool first_new = !memcmp(got, buf, bs);
		wire_fill_pattern(buf, 2 * bs, 0x33);
		bool second_old = !memcmp(got + bs, buf + bs, bs);
		if (!first_new || !second_old)
			snprintf(why, sizeof(why), "first block %s, second block %s",
				 first_new ? "new" : "not written", second_old ? "kept" : "changed");
	}
	wire_check_why(name, why);
}

void wire_edtl_checks(const struct wire_target *t)
{
	static const char *const names[] = {
		"write_edtl_inside_block_refused", "write_edtl_inside_block_leaves_block",
		"write_edtl_one_of_two_blocks_writes_one",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;

	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		return;
	}
	uint8_t *before = malloc(2 * bs), *buf = malloc(2 * bs);
	if (!before || !buf || blocks < EDTL_LBA + 2 || bs <= EDTL_PARTIAL) {
		wire_check_unreached(names, 3, "no buffer, or a LUN too small for the check");
	} else {
		check_unaligned_edtl(&c, bs, before, buf);
		check_aligned_short_edtl(&c, bs, before, buf);
	}
	free(before);
	free(buf);
	wire_close(&c);
}
