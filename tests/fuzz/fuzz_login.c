/* libFuzzer target for the login state machine: the input is cut into a
 * sequence of Login Requests, each a 4-byte header (flags, variations,
 * data length) and its text. Whatever arrives, every response must be a
 * well-formed Login Response and the outcome consistent with it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/login.h"

#define FUZZ_STEPS 64
#define FUZZ_RSP_CAP 8192

struct fuzz_env {
	int binds;
};

static int fuzz_target_handle;

static void *fuzz_find_target(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "iqn.2024-01.org.lunar:t") == 0 ? &fuzz_target_handle : NULL;
}

static const char *fuzz_alias(void *ctx, void *target)
{
	(void)ctx;
	(void)target;
	return "fuzz";
}

static uint16_t fuzz_bind(void *ctx, struct iscsi_login *lg, uint16_t *tsih)
{
	struct fuzz_env *f = ctx;

	f->binds++;
	*tsih = lg->tsih ? lg->tsih : 7;
	return lg->cid == 3 ? ISCSI_LOGIN_TOO_MANY_CONNECTIONS : ISCSI_LOGIN_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_env f = { 0 };
	struct iscsi_login_env env = {
		.ctx = &f, .find_target = fuzz_find_target, .target_alias = fuzz_alias,
		.bind_session = fuzz_bind, .tpgt = 1, .cmd_window = 16,
	};
	struct iscsi_login lg;
	static uint8_t rsp_data[FUZZ_RSP_CAP];
	uint8_t bhs[ISCSI_BHS_LEN];
	size_t off = 0;
	enum iscsi_login_result res = ISCSI_LOGIN_CONTINUE;

	iscsi_target_limits_default(&env.limits);
	if (iscsi_login_init(&lg, &env))
		return 0;
	iscsi_login_set_initial_statsn(&lg, 1);
	for (int step = 0; step < FUZZ_STEPS && off + 4 <= size; step++) {
		struct iscsi_hdr h = { 0 };
		uint8_t flags = data[off], vary = data[off + 1];
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3], rsp_len = 0;
		uint8_t *text;

		off += 4;
		if (len > size - off)
			len = size - off;
		h.opcode = vary & 0x80 ? ISCSI_OP_TEXT_REQ : ISCSI_OP_LOGIN_REQ;
		h.immediate = true;
		h.itt = (uint32_t)step;
		h.data_len = (uint32_t)len;
		h.login.transit = flags & 0x80;
		h.login.cont = flags & 0x40;
		h.login.csg = (flags >> 2) & 3;
		h.login.nsg = flags & 3;
		h.login.version_min = vary & 0x40 ? 1 : 0;
		h.login.isid[5] = vary & 0x20 ? 1 : 0;
		h.login.tsih = vary & 0x10 ? 0x42 : 0;
		h.login.cid = vary & 0x03;
		h.login.cmdsn = 100;
		/* An exact-size heap copy lets ASan catch any read past the text. */
		text = malloc(len ? len : 1);
		if (!text)
			break;
		memcpy(text, data + off, len);
		off += len;
		res = iscsi_login_step(&lg, &h, text, len, bhs, rsp_data, sizeof(rsp_data), &rsp_len);
		free(text);

		bool t = bhs[1] & 0x80, c = bhs[1] & 0x40;
		uint16_t status = (uint16_t)(bhs[36] << 8 | bhs[37]);
		uint32_t dsl = (uint32_t)bhs[5] << 16 | (uint32_t)bhs[6] << 8 | bhs[7];

		if (bhs[0] != ISCSI_OP_LOGIN_RSP || rsp_len > sizeof(rsp_data) || dsl != rsp_len)
			abort();
		if ((t && c) || (t && !h.login.transit))
			abort();
		if ((res == ISCSI_LOGIN_REJECTED) != (status != ISCSI_LOGIN_SUCCESS))
			abort();
		if (res == ISCSI_LOGIN_DONE && (!t || (bhs[1] & 3) != ISCSI_STAGE_FULL_FEATURE ||
						f.binds != 1 || lg.stage != ISCSI_STAGE_FULL_FEATURE))
			abort();
		if (res != ISCSI_LOGIN_CONTINUE)
			break;
	}
	if (res == ISCSI_LOGIN_DONE &&
	    (lg.params.first_burst > lg.params.max_burst || lg.params.max_send_dsl < 512 ||
	     lg.initiator_name[0] == '\0' || (!lg.discovery && lg.target != &fuzz_target_handle)))
		abort();
	iscsi_login_fini(&lg);
	return 0;
}
