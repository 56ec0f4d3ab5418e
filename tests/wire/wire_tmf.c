/* Task management functions beyond ABORT TASK and LOGICAL UNIT RESET
 * (RFC 7143 §11.5, §11.6; SAM-5 7), each while WRITEs run on the backing
 * store: the TMF Response comes only after every aborted write has ended,
 * no SCSI Response follows it, what the writes left on the medium no
 * longer changes, and the unit attentions land where SAM-5 puts them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

/* Blocks no other scenario writes. */
#define TMF_LBA 24000u
/* WRITEs sent back to back before the TMF. */
#define TMF_INFLIGHT 12u
#define TMF_UNUSED_ITT 0x7ffffff3u
/* A LUN lunard's test targets do not have (single level, SAM-5 4.7.7). */
#define TMF_ABSENT_LUN 255u
/* How long the medium must stay unchanged once the TMF is answered. */
#define TMF_SETTLE_MS 300

/* Functions (§11.5.1) and responses (§11.6.1). */
enum {
	TMF_ABORT_TASK_SET = 2, TMF_CLEAR_ACA = 3, TMF_CLEAR_TASK_SET = 4,
	TMF_TARGET_WARM_RESET = 6, TMF_TARGET_COLD_RESET = 7, TMF_TASK_REASSIGN = 8,
	TMF_QUERY_TASK = 9, TMF_QUERY_TASK_SET = 10, TMF_IT_NEXUS_RESET = 11,
	TMF_QUERY_ASYNC_EVENT = 12,
};
enum {
	TMF_RSP_COMPLETE = 0, TMF_RSP_NO_LUN = 2, TMF_RSP_NOT_SUPPORTED = 5,
	TMF_RSP_SUCCEEDED = 7,
};

/* Sends a TMF; lun overrides the target's LUN when not NULL. */
static bool send_tmf(struct wire_conn *c, uint8_t function, uint32_t ref_itt, const uint64_t *lun,
		     uint32_t *itt, char *why)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	*itt = c->next_itt++;
	wire_build_tmf(bhs, c, *itt, function, ref_itt, 0);
	if (lun)
		be64_put(bhs + 8, *lun);
	enum wire_io r = wire_send_pdu(c, bhs, NULL, 0);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "%s", wire_io_name(r));
		return false;
	}
	return true;
}

/* Waits for the TMF Response to itt, letting SCSI Responses to the
 * writes in flight pass before it (counted in answered); anything else
 * breaks the exchange. */
static bool await_tmf_rsp(struct wire_conn *c, uint32_t itt, uint8_t *response,
			  unsigned *answered, char *why)
{
	*answered = 0;
	for (;;) {
		struct wire_pdu p;
		enum wire_io r = wire_recv_reply(c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK) {
			snprintf(why, WIRE_WHY_LEN, "no TMF Response: %s", wire_io_name(r));
			return false;
		}
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t got = be32_get(p.bhs + 16);
		*response = p.bhs[2];
		wire_pdu_free(&p);
		if (op == ISCSI_OP_TMF_RSP && got == itt)
			return true;
		++*answered;
		if (op != ISCSI_OP_SCSI_RSP) {
			snprintf(why, WIRE_WHY_LEN, "opcode 0x%02x (ITT 0x%x) before the TMF Response", op,
				 got);
			return false;
		}
	}
}

static bool tmf(struct wire_conn *c, uint8_t function, uint32_t ref_itt, const uint64_t *lun,
		uint8_t *response, char *why)
{
	uint32_t itt;
	unsigned answered;
	return send_tmf(c, function, ref_itt, lun, &itt, why) &&
	       await_tmf_rsp(c, itt, response, &answered, why);
}

/* Sends TMF_INFLIGHT WRITEs of bytes each from TMF_LBA, data immediate
 * and no more to come, without waiting for any answer. */
static bool send_writes(struct wire_conn *c, uint32_t bs, uint8_t *data, uint32_t bytes,
			char *why)
{
	for (uint32_t i = 0; i < TMF_INFLIGHT; i++) {
		uint8_t cdb[10];
		wire_cdb_rw10(cdb, 0x2a, TMF_LBA + i * (bytes / bs), (uint16_t)(bytes / bs));
		wire_fill_pattern(data, bytes, (uint8_t)(0x40 + i));
		const struct wire_cmd cmd = {
			.itt = c->next_itt++, .cmdsn = c->cmdsn++, .cdb = cdb, .cdb_len = 10,
			.dir = WIRE_DIR_WRITE, .edtl = bytes, .imm = data, .imm_len = bytes,
			.final = true, .attr = WIRE_ATTR_SIMPLE,
		};
		enum wire_io r = wire_send_cmd(c, &cmd);
		if (r != WIRE_IO_OK) {
			snprintf(why, WIRE_WHY_LEN, "WRITE %u: %s", i, wire_io_name(r));
			return false;
		}
	}
	return true;
}

static void check_ua(const char *name, struct wire_conn *c, int want)
{
	char why[WIRE_WHY_LEN] = "";
	int got = wire_tur_ua(c, why, WIRE_WHY_LEN);
	if (got < 0)
		wire_check(name, false, "%s", why);
	else
		wire_check(name, got == want, "TEST UNIT READY: %04x, want %04x (0: GOOD)", got, want);
}

/* The medium under the writes, read twice TMF_SETTLE_MS apart, is the
 * same: nothing an aborted write would have written lands late. */
static bool medium_settled(struct wire_conn *c, uint32_t bs, uint32_t bytes, char *why)
{
	uint32_t total = TMF_INFLIGHT * bytes;
	uint8_t *a = malloc(total), *b = malloc(total);
	bool ok = a && b && wire_read_lba(c, TMF_LBA, a, total, bs, why, WIRE_WHY_LEN);
	if (ok) {
		usleep(TMF_SETTLE_MS * 1000);
		ok = wire_read_lba(c, TMF_LBA, b, total, bs, why, WIRE_WHY_LEN);
	}
	if (ok && memcmp(a, b, total) != 0) {
		snprintf(why, WIRE_WHY_LEN, "the medium changed after the TMF Response");
		ok = false;
	}
	if (!a || !b)
		snprintf(why, WIRE_WHY_LEN, "out of memory");
	free(a);
	free(b);
	return ok;
}

/* One function against writes in flight. names: function complete, no
 * SCSI Response after the TMF Response (for TARGET COLD RESET: the
 * connection closed), medium settled, the unit attention on its nexus
 * (own_ua), on another session of the same initiator (other_ua; for
 * TARGET COLD RESET: that session closed); 0: none, the TUR is GOOD. A
 * NULL name is not checked. */
struct inflight_case {
	uint8_t function;
	const char *const *names;
	int own_ua, other_ua;
};

static void inflight_unreached(const struct inflight_case *k, const char *why)
{
	for (unsigned i = 0; i < 5; i++)
		if (k->names[i])
			wire_check(k->names[i], false, "not reached: %s", why);
}

static void check_inflight(const struct wire_target *t, const struct inflight_case *k)
{
	struct wire_conn c, other;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t response;
	uint8_t *data = NULL;

	if (!wire_session_open(&other, t, NULL, why, sizeof(why))) {
		inflight_unreached(k, why);
		return;
	}
	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		inflight_unreached(k, why);
		wire_close(&other);
		return;
	}
	uint32_t bytes = c.first_burst < c.target_mrdsl ? c.first_burst : c.target_mrdsl;
	bytes -= bytes % bs;
	data = malloc(bytes);
	if (!data || !bytes || blocks < TMF_LBA + TMF_INFLIGHT * (bytes / bs)) {
		snprintf(why, sizeof(why), "no room for %u writes of %u bytes", TMF_INFLIGHT, bytes);
		inflight_unreached(k, why);
		goto out;
	}
	uint32_t itt;
	unsigned answered;
	if (!send_writes(&c, bs, data, bytes, why) ||
	    !send_tmf(&c, k->function, ISCSI_RSVD_TAG, NULL, &itt, why) ||
	    !await_tmf_rsp(&c, itt, &response, &answered, why)) {
		inflight_unreached(k, why);
		goto out;
	}
	wire_note("%s: %u of %u writes answered before the TMF Response", k->names[0], answered,
		  TMF_INFLIGHT);
	wire_check(k->names[0], response == TMF_RSP_COMPLETE, "response %u", response);
	if (k->function == TMF_TARGET_COLD_RESET) {
		/* RFC 7143 §11.5.1: the target drops the connection after. */
		enum wire_io r = wire_wait_close(&c, WIRE_IO_TIMEOUT_S * 1000);
		wire_check(k->names[1], r == WIRE_IO_CLOSED, "connection not closed: %s",
			   wire_io_name(r));
		r = wire_wait_close(&other, WIRE_IO_TIMEOUT_S * 1000);
		wire_check(k->names[4], r == WIRE_IO_CLOSED, "other session's connection not closed: %s",
			   wire_io_name(r));
		goto out;
	}
	wire_nothing_pending(&c, why, sizeof(why));
	wire_check_why(k->names[1], why);
	*why = '\0';
	/* The unit attention first: it would fail the reads. */
	check_ua(k->names[3], &c, k->own_ua);
	if (!medium_settled(&c, bs, bytes, why))
		wire_check(k->names[2], false, "%s", why);
	else
		wire_check_why(k->names[2], "");
	check_ua(k->names[4], &other, k->other_ua);
out:
	free(data);
	wire_close(&c);
	wire_close(&other);
}

/* QUERY TASK and QUERY TASK SET of a WRITE waiting for its data (its R2T
 * has come): FUNCTION SUCCEEDED; of nothing: FUNCTION COMPLETE (SAM-5
 * 7.9, 7.10). QUERY ASYNCHRONOUS EVENT: succeeded while a new nexus's
 * unit attention is pending, complete once it is reported (SAM-5 7.11). */
static void check_queries(const struct wire_target *t)
{
	static const char *const names[] = {
		"tmf_query_async_event_pending_ua_succeeded", "tmf_query_async_event_none_complete",
		"tmf_query_task_set_empty_complete", "tmf_query_task_waiting_write_succeeded",
		"tmf_query_task_unknown_complete", "tmf_query_task_set_waiting_write_succeeded",
	};
	struct wire_conn c;
	struct wire_login_params lp;
	char why[WIRE_WHY_LEN] = "";
	uint8_t response, cdb[10];
	struct wire_pdu p;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_login_with(&c, t, &lp, why, sizeof(why)) ||
	    !tmf(&c, TMF_QUERY_ASYNC_EVENT, ISCSI_RSVD_TAG, NULL, &response, why)) {
		wire_check_unreached(names, 6, why);
		wire_close(&c);
		return;
	}
	wire_check(names[0], response == TMF_RSP_SUCCEEDED, "response %u", response);
	uint64_t blocks;
	uint32_t bs = 512;
	for (int i = 0; i < 3 && wire_tur_ua(&c, why, WIRE_WHY_LEN) > 0; i++)
		;
	*why = '\0';
	if (!wire_read_capacity(&c, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names + 1, 5, why);
		wire_close(&c);
		return;
	}
	if (!tmf(&c, TMF_QUERY_ASYNC_EVENT, ISCSI_RSVD_TAG, NULL, &response, why))
		wire_check(names[1], false, "%s", why);
	else
		wire_check(names[1], response == TMF_RSP_COMPLETE, "response %u", response);
	*why = '\0';
	if (!tmf(&c, TMF_QUERY_TASK_SET, ISCSI_RSVD_TAG, NULL, &response, why))
		wire_check(names[2], false, "%s", why);
	else
		wire_check(names[2], response == TMF_RSP_COMPLETE, "response %u", response);
	*why = '\0';
	wire_cdb_rw10(cdb, 0x2a, TMF_LBA, 1);
	const struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = 10,
		.dir = WIRE_DIR_WRITE, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	if (r != WIRE_IO_OK || !wire_expect(&c, &p, ISCSI_OP_R2T, cmd.itt, why, sizeof(why))) {
		wire_check_unreached(names + 3, 3, why);
		wire_close(&c);
		return;
	}
	wire_pdu_free(&p);
	if (!tmf(&c, TMF_QUERY_TASK, cmd.itt, NULL, &response, why))
		wire_check(names[3], false, "%s", why);
	else
		wire_check(names[3], response == TMF_RSP_SUCCEEDED, "response %u", response);
	*why = '\0';
	if (!tmf(&c, TMF_QUERY_TASK, TMF_UNUSED_ITT, NULL, &response, why))
		wire_check(names[4], false, "%s", why);
	else
		wire_check(names[4], response == TMF_RSP_COMPLETE, "response %u", response);
	*why = '\0';
	if (!tmf(&c, TMF_QUERY_TASK_SET, ISCSI_RSVD_TAG, NULL, &response, why))
		wire_check(names[5], false, "%s", why);
	else
		wire_check(names[5], response == TMF_RSP_SUCCEEDED, "response %u", response);
	wire_close(&c);
}

/* CLEAR ACA: no ACA condition can exist (NACA=1 is refused), so there is
 * nothing to clear: FUNCTION COMPLETE. TASK REASSIGN needs
 * ErrorRecoveryLevel 2: not supported. A function for one LU, sent to a
 * LUN the target lacks: LUN does not exist (§11.6.1). */
static void check_simple_answers(const struct wire_target *t)
{
	static const char *const names[] = {
		"tmf_clear_aca_function_complete", "tmf_task_reassign_not_supported",
		"tmf_abort_task_set_absent_lun",
	};
	static const struct {
		uint8_t function;
		bool absent_lun;
		uint8_t want;
	} cases[] = {
		{ TMF_CLEAR_ACA, false, TMF_RSP_COMPLETE },
		{ TMF_TASK_REASSIGN, false, TMF_RSP_NOT_SUPPORTED },
		{ TMF_ABORT_TASK_SET, true, TMF_RSP_NO_LUN },
	};
	const uint64_t absent = (uint64_t)TMF_ABSENT_LUN << 48;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t response;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		wire_close(&c);
		return;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		*why = '\0';
		if (!tmf(&c, cases[i].function, ISCSI_RSVD_TAG, cases[i].absent_lun ? &absent : NULL,
			 &response, why))
			wire_check(names[i], false, "%s", why);
		else
			wire_check(names[i], response == cases[i].want, "response %u, want %u",
				   response, cases[i].want);
	}
	wire_close(&c);
}

void wire_tmf_checks(const struct wire_target *t)
{
	/* Unit attentions as asc << 8 | ascq (SPC-4 D.2). */
	enum { UA_RESET = 0x2900, UA_IT_NEXUS_LOSS = 0x2907 };
	static const char *const abort_set[] = {
		"tmf_abort_task_set_function_complete", "tmf_abort_task_set_no_response_after",
		"tmf_abort_task_set_medium_settled", "tmf_abort_task_set_no_ua",
		"tmf_abort_task_set_other_nexus_no_ua",
	};
	static const char *const clear_set[] = {
		"tmf_clear_task_set_function_complete", "tmf_clear_task_set_no_response_after",
		"tmf_clear_task_set_medium_settled", "tmf_clear_task_set_no_ua",
		"tmf_clear_task_set_other_nexus_no_ua",
	};
	static const char *const nexus_reset[] = {
		"tmf_it_nexus_reset_function_complete", "tmf_it_nexus_reset_no_response_after",
		"tmf_it_nexus_reset_medium_settled", "tmf_it_nexus_reset_ua_29h_07h",
		"tmf_it_nexus_reset_other_nexus_no_ua",
	};
	static const char *const warm[] = {
		"tmf_target_warm_reset_function_complete", "tmf_target_warm_reset_no_response_after",
		"tmf_target_warm_reset_medium_settled", "tmf_target_warm_reset_ua_29h_00h",
		"tmf_target_warm_reset_other_nexus_ua_29h_00h",
	};
	static const char *const cold[] = {
		"tmf_target_cold_reset_function_complete", "tmf_target_cold_reset_connection_closed",
		NULL, NULL, "tmf_target_cold_reset_other_session_closed",
	};
	const struct inflight_case cases[] = {
		{ TMF_ABORT_TASK_SET, abort_set, 0, 0 },
		{ TMF_CLEAR_TASK_SET, clear_set, 0, 0 },
		{ TMF_IT_NEXUS_RESET, nexus_reset, UA_IT_NEXUS_LOSS, 0 },
		{ TMF_TARGET_WARM_RESET, warm, UA_RESET, UA_RESET },
		{ TMF_TARGET_COLD_RESET, cold, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_inflight(t, &cases[i]);
	check_queries(t);
	check_simple_answers(t);
}
