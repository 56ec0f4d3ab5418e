/* The attacks. Each one is bounded in connections, in PDUs per batch and
 * by the deadline; none addresses anything but the guard region, and the
 * only writes among them are ones the target must never execute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostile.h"
#include "hostile_flood.h"
#include "util/be.h"
#include "util/macros.h"
#include "wire_check.h"
#include "wire_scsi.h"

#define A_SESSIONS 16
#define B_CONNS 32
#define B_PDUS_PER_BATCH 256
#define C_SESSIONS 4
#define C_WRITE_BYTES 4096u
/* How far past MaxCmdSN (or below ExpCmdSN) a stray CmdSN lands: well
 * inside the 2^31 of serial number arithmetic (RFC 1982). */
#define C_CMDSN_SPREAD (1u << 30)
#define D_SESSIONS 4
#define D_PING_BYTES 4096u
#define E_CONNS 300
#define F_CONNS 16
#define F_BYTE_INTERVAL_MS 40
#define F_MAX_ROUNDS (HOSTILE_MAX_SECONDS * 1000 / F_BYTE_INTERVAL_MS)
#define G_MAX_ROUNDS 100000
#define G_BURST 256
#define G_MAX_JUNK 4096u
#define G_DRAIN_MS 10
#define G_CLOSE_WAIT_MS 1000
#define H_SESSIONS 16
#define POISON_BYTE 0xee

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64: reproducible from the seed the runner prints. */
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

void hostile_attacks_seed(uint64_t seed)
{
	rng_state = seed ? seed : 1;
}

/* Appends a PDU (BHS, data, padding) when it fits in cap. */
static bool put_pdu(uint8_t *out, size_t cap, size_t *len, const uint8_t *bhs, const uint8_t *data,
		    uint32_t data_len)
{
	size_t need = ISCSI_BHS_LEN + iscsi_pad4(data_len);

	if (*len + need > cap)
		return false;
	memcpy(out + *len, bhs, ISCSI_BHS_LEN);
	if (data_len)
		memcpy(out + *len + ISCSI_BHS_LEN, data, data_len);
	memset(out + *len + ISCSI_BHS_LEN + data_len, 0, iscsi_pad4(data_len) - data_len);
	*len += need;
	return true;
}

/* A READ(10) or WRITE(10) of len bytes somewhere in the guard region. */
static void guard_cdb(const struct hostile_env *env, uint8_t cdb[10], uint8_t opcode, uint32_t len)
{
	uint32_t per_io = len / env->block_size;
	uint32_t slots = hostile_guard_blocks(env) / per_io;

	wire_cdb_rw10(cdb, opcode, hostile_guard_lba(env) + rnd() % slots * per_io, (uint16_t)per_io);
}

static struct flood_conn *conns_alloc(unsigned n)
{
	struct flood_conn *c = calloc(n, sizeof(*c));

	if (!c)
		printf("# out of memory for %u connections\n", n);
	return c;
}

/* Opens n connections, floods them until the deadline, closes them. */
static void flood_attack(const struct hostile_env *env, struct attack_stats *st, unsigned n,
			 bool login, int rcvbuf, bool drain, flood_fill_fn fill)
{
	struct flood_conn *conns = conns_alloc(n);

	if (!conns)
		return;
	unsigned open = flood_open_all(conns, n, env, login, rcvbuf, drain, st);
	flood_run(conns, open, env, env->deadline_ms, fill, st);
	flood_close_all(conns, open);
	free(conns);
}

/* a. READs filling the whole CmdSN window, on sessions that never read
 * their sockets: the Data-In can never leave. */
static size_t fill_reads_unread(struct flood_conn *fc, const struct hostile_env *env,
				uint8_t *out, size_t cap, unsigned *pdus)
{
	struct wire_conn *c = &fc->wc;
	size_t len = 0;

	while (!iscsi_sn_lt(c->max_cmdsn, c->cmdsn)) {
		uint8_t bhs[ISCSI_BHS_LEN], cdb[10];

		guard_cdb(env, cdb, 0x28, ATTACK_IO_BYTES);
		wire_build_scsi_cmd(bhs, c, c->next_itt, true, false, ATTACK_IO_BYTES, cdb, sizeof(cdb), 0);
		if (!put_pdu(out, cap, &len, bhs, NULL, 0))
			break;
		c->next_itt++;
		c->cmdsn++;
		(*pdus)++;
	}
	return len;
}

static void attack_reads_unread(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, A_SESSIONS, true, FLOOD_SMALL_RCVBUF, false, fill_reads_unread);
}

/* b. Empty Login Requests with C=1 (RFC 7143 §11.12.2: the text goes on
 * in the next PDU) on connections that never read the answers. */
static size_t fill_login_continue(struct flood_conn *fc, const struct hostile_env *env,
				  uint8_t *out, size_t cap, unsigned *pdus)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	size_t len = 0;

	(void)env;
	/* C is 0x40 of byte 1; T must be 0 while C is set. */
	wire_build_login(bhs, &fc->wc, 0x40 | wire_login_flags(false, ISCSI_STAGE_SECURITY, 0), 1, 0);
	while (*pdus < B_PDUS_PER_BATCH && put_pdu(out, cap, &len, bhs, NULL, 0))
		(*pdus)++;
	return len;
}

static void attack_login_continue(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, B_CONNS, false, FLOOD_SMALL_RCVBUF, false, fill_login_continue);
}

/* c. WRITEs of poison into the guard region with a CmdSN past MaxCmdSN or
 * below ExpCmdSN: RFC 7143 §4.2.2.1 says the target ignores them, so not
 * one may execute. */
static size_t fill_beyond_window(struct flood_conn *fc, const struct hostile_env *env,
				 uint8_t *out, size_t cap, unsigned *pdus)
{
	struct wire_conn *c = &fc->wc;
	uint8_t data[C_WRITE_BYTES];
	size_t len = 0;

	memset(data, POISON_BYTE, sizeof(data));
	for (;;) {
		uint8_t bhs[ISCSI_BHS_LEN], cdb[10];
		bool past = (fc->sent + *pdus) % 2 == 0;
		uint32_t off = 1 + rnd() % C_CMDSN_SPREAD;

		guard_cdb(env, cdb, 0x2a, C_WRITE_BYTES);
		wire_build_scsi_cmd(bhs, c, c->next_itt, false, true, C_WRITE_BYTES, cdb, sizeof(cdb),
				    C_WRITE_BYTES);
		be32_put(bhs + 24, past ? c->max_cmdsn + off : c->cmdsn - off);
		if (!put_pdu(out, cap, &len, bhs, data, sizeof(data)))
			return len;
		c->next_itt++;
		(*pdus)++;
	}
}

static void attack_beyond_window(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, C_SESSIONS, true, 0, true, fill_beyond_window);
}

/* d. Immediate delivery (I=1) takes no CmdSN and so no window slot
 * (RFC 7143 §3.2.2.1): 64 KiB READs and NOP-Out pings with data, as fast
 * as the socket takes them; the replies are read. */
static size_t fill_immediate(struct flood_conn *fc, const struct hostile_env *env,
			     uint8_t *out, size_t cap, unsigned *pdus)
{
	struct wire_conn *c = &fc->wc;
	static uint8_t ping[D_PING_BYTES];
	size_t len = 0;

	for (;;) {
		uint8_t bhs[ISCSI_BHS_LEN], cdb[10];
		uint32_t data_len = 0;

		if ((fc->sent + *pdus) % 2 == 0) {
			guard_cdb(env, cdb, 0x28, ATTACK_IO_BYTES);
			wire_build_scsi_cmd(bhs, c, c->next_itt, true, false, ATTACK_IO_BYTES, cdb,
					    sizeof(cdb), 0);
			bhs[0] |= 0x40;
		} else {
			wire_build_nop_out(bhs, c, c->next_itt, ISCSI_RSVD_TAG, true, D_PING_BYTES);
			data_len = D_PING_BYTES;
		}
		if (!put_pdu(out, cap, &len, bhs, ping, data_len))
			return len;
		c->next_itt++;
		(*pdus)++;
	}
}

static void attack_immediate(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, D_SESSIONS, true, 0, true, fill_immediate);
}

/* e. Connections that never send a byte; the target may close them after
 * its login timeout. */
static void attack_idle(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, E_CONNS, false, 0, true, NULL);
}

/* f. A valid first Login Request, one byte per F_BYTE_INTERVAL_MS on each
 * connection: it never completes within the attack. */
static uint32_t dribble_pdu(const struct hostile_env *env, const struct wire_conn *c, uint8_t *out,
			    size_t cap)
{
	char text[512];
	uint32_t tlen = 0;
	uint8_t bhs[ISCSI_BHS_LEN];
	size_t len = 0;

	wire_text_add(text, sizeof(text), &tlen, "InitiatorName", WIRE_INITIATOR_NAME);
	wire_text_add(text, sizeof(text), &tlen, "SessionType", "Normal");
	wire_text_add(text, sizeof(text), &tlen, "TargetName", env->target->name);
	wire_text_add(text, sizeof(text), &tlen, "AuthMethod", "None");
	wire_build_login(bhs, c, wire_login_flags(true, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL),
			 1, tlen);
	put_pdu(out, cap, &len, bhs, (const uint8_t *)text, tlen);
	return (uint32_t)len;
}

static void attack_dribble(const struct hostile_env *env, struct attack_stats *st)
{
	struct flood_conn *conns = conns_alloc(F_CONNS);

	if (!conns)
		return;
	unsigned n = flood_open_all(conns, F_CONNS, env, false, 0, true, st);
	st->unit = "bytes";
	for (unsigned i = 0; i < n; i++)
		conns[i].out_len = dribble_pdu(env, &conns[i].wc, conns[i].out, sizeof(conns[i].out));
	for (unsigned round = 0; round < F_MAX_ROUNDS && !hostile_attack_over(env); round++) {
		for (unsigned i = 0; i < n; i++) {
			struct flood_conn *fc = &conns[i];

			if (!fc->open || fc->out_off == fc->out_len)
				continue;
			if (send(fc->wc.fd, fc->out + fc->out_off, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
				fc->out_off++;
				st->pdus++;
			}
		}
		int64_t until = hostile_now_ms() + F_BYTE_INTERVAL_MS;
		flood_run(conns, n, env, until, NULL, st);
	}
	flood_close_all(conns, n);
	free(conns);
}

/* g. Bad PDUs. Opcodes a random header may carry: the ones a target must
 * refuse (undefined, or target-to-initiator) and the harmless initiator
 * ones. SCSI Command, Task Management and Logout are left out: random
 * fields there could write, reset a LUN or end the session, which a
 * target may rightly do. */
static const uint8_t junk_opcodes[] = {
	ISCSI_OP_NOP_OUT, ISCSI_OP_LOGIN_REQ, ISCSI_OP_TEXT_REQ, ISCSI_OP_DATA_OUT,
	ISCSI_OP_SNACK_REQ, 0x07, 0x0f, 0x11, 0x1b, 0x1c, 0x1f, ISCSI_OP_NOP_IN,
	ISCSI_OP_SCSI_RSP, ISCSI_OP_DATA_IN, ISCSI_OP_R2T, ISCSI_OP_REJECT, 0x3e,
};

/* A random header with a junk opcode, a random AHS now and then, and up to
 * G_MAX_JUNK bytes of random data that it declares and carries. */
static bool put_junk_pdu(uint8_t *out, size_t cap, size_t *len)
{
	uint8_t pdu[ISCSI_BHS_LEN + 4 * 3 + G_MAX_JUNK];
	uint32_t ahs = rnd() % 16 == 0 ? 1 + rnd() % 3 : 0;
	uint32_t data_len = rnd() % 4 == 0 ? rnd() % (G_MAX_JUNK + 1) : 0;
	uint32_t body = ahs * 4 + data_len;

	for (uint32_t i = 0; i < ISCSI_BHS_LEN + body; i++)
		pdu[i] = (uint8_t)rnd();
	pdu[0] = (uint8_t)((pdu[0] & 0x40) | junk_opcodes[rnd() % ARRAY_SIZE(junk_opcodes)]);
	pdu[4] = (uint8_t)ahs;
	be24_put(pdu + 5, data_len);
	/* The AHS rides in front of the data segment: send them as one body. */
	if (*len + ISCSI_BHS_LEN + iscsi_pad4(body) > cap)
		return false;
	memcpy(out + *len, pdu, ISCSI_BHS_LEN + body);
	memset(out + *len + ISCSI_BHS_LEN + body, 0, iscsi_pad4(body) - body);
	*len += ISCSI_BHS_LEN + iscsi_pad4(body);
	return true;
}

/* Random bytes where a Login Request should be. */
static void junk_before_login(const struct hostile_env *env, struct attack_stats *st)
{
	struct wire_conn c;
	uint8_t junk[ISCSI_BHS_LEN + G_MAX_JUNK];
	uint32_t n = ISCSI_BHS_LEN + rnd() % (G_MAX_JUNK + 1);
	char why[WIRE_WHY_LEN];

	if (!wire_connect(&c, env->attacker, why, sizeof(why)))
		return;
	st->conns++;
	for (uint32_t i = 0; i < n; i++)
		junk[i] = (uint8_t)rnd();
	if (wire_send(&c, junk, n) == WIRE_IO_OK)
		st->pdus++;
	if (wire_wait_close(&c, G_DRAIN_MS) == WIRE_IO_CLOSED)
		st->closed++;
	wire_close(&c);
}

/* A burst of junk PDUs on a logged-in session, its replies read. */
static void junk_in_session(const struct hostile_env *env, struct attack_stats *st)
{
	static uint8_t out[G_BURST * (ISCSI_BHS_LEN + 16 + G_MAX_JUNK)];
	struct wire_conn c;
	char why[WIRE_WHY_LEN];
	size_t len = 0;
	unsigned n = 0;

	if (!wire_login(&c, env->attacker, why, sizeof(why))) {
		printf("# bad-PDU session: %s\n", why);
		return;
	}
	st->conns++;
	while (n < G_BURST && put_junk_pdu(out, sizeof(out), &len))
		n++;
	if (wire_send(&c, out, len) == WIRE_IO_OK)
		st->pdus += n;
	if (wire_wait_close(&c, G_DRAIN_MS) == WIRE_IO_CLOSED)
		st->closed++;
	wire_close(&c);
}

/* A WRITE of poison into the guard region declaring a data segment of
 * 16 MiB - 1, over MaxRecvDataSegmentLength: a protocol error (RFC 7143
 * §7.2.2) that must close the connection, never write. */
static void oversized_write(const struct hostile_env *env, struct attack_stats *st)
{
	static uint8_t data[ATTACK_IO_BYTES];
	struct wire_conn c;
	uint8_t bhs[ISCSI_BHS_LEN], cdb[10];
	char why[WIRE_WHY_LEN];

	if (!wire_login(&c, env->attacker, why, sizeof(why))) {
		printf("# oversized-segment session: %s\n", why);
		return;
	}
	st->conns++;
	memset(data, POISON_BYTE, sizeof(data));
	guard_cdb(env, cdb, 0x2a, ATTACK_IO_BYTES);
	wire_build_scsi_cmd(bhs, &c, c.next_itt++, false, true, ATTACK_IO_BYTES, cdb, sizeof(cdb),
			    ISCSI_MAX_DSL);
	if (wire_send(&c, bhs, sizeof(bhs)) == WIRE_IO_OK &&
	    wire_send(&c, data, sizeof(data)) == WIRE_IO_OK)
		st->pdus++;
	if (wire_wait_close(&c, G_CLOSE_WAIT_MS) == WIRE_IO_CLOSED)
		st->closed++;
	wire_close(&c);
}

static void attack_bad_pdus(const struct hostile_env *env, struct attack_stats *st)
{
	for (unsigned round = 0; round < G_MAX_ROUNDS && !hostile_attack_over(env); round++) {
		junk_before_login(env, st);
		junk_in_session(env, st);
		oversized_write(env, st);
	}
}

/* h. WRITEs of poison with 64 KiB of immediate data and every CmdSN of
 * the window but the next one (ExpCmdSN): each must wait for the gap
 * (RFC 7143 §3.2.2.1), which never fills, so not one may execute, and
 * what they make the target hold must stay bounded. */
static size_t fill_window_gap(struct flood_conn *fc, const struct hostile_env *env,
			      uint8_t *out, size_t cap, unsigned *pdus)
{
	struct wire_conn *c = &fc->wc;
	static uint8_t data[ATTACK_IO_BYTES];
	size_t len = 0;

	memset(data, POISON_BYTE, sizeof(data));
	if (fc->sent + *pdus == 0)
		c->cmdsn++; /* the gap */
	while (!iscsi_sn_lt(c->max_cmdsn, c->cmdsn)) {
		uint8_t bhs[ISCSI_BHS_LEN], cdb[10];

		guard_cdb(env, cdb, 0x2a, ATTACK_IO_BYTES);
		wire_build_scsi_cmd(bhs, c, c->next_itt, false, true, ATTACK_IO_BYTES, cdb, sizeof(cdb),
				    ATTACK_IO_BYTES);
		if (!put_pdu(out, cap, &len, bhs, data, sizeof(data)))
			break;
		c->next_itt++;
		c->cmdsn++;
		(*pdus)++;
	}
	return len;
}

static void attack_window_gap(const struct hostile_env *env, struct attack_stats *st)
{
	flood_attack(env, st, H_SESSIONS, true, 0, true, fill_window_gap);
}

static const struct attack attacks[] = {
	{ "a_reads_never_read", "64 KiB READs filling the window of 16 sessions that never read",
	  attack_reads_unread },
	{ "b_login_continue_flood", "empty Login Requests with C=1 on 32 connections that never read",
	  attack_login_continue },
	{ "c_cmdsn_beyond_window", "WRITEs with CmdSN past MaxCmdSN or below ExpCmdSN, 4 sessions",
	  attack_beyond_window },
	{ "d_immediate_flood", "immediate READs and NOP-Out pings, 4 sessions",
	  attack_immediate },
	{ "e_idle_connections", "300 connections that never send",
	  attack_idle },
	{ "f_dribbled_login", "16 logins sent one byte every 40 ms",
	  attack_dribble },
	{ "g_bad_pdus", "junk before login, junk PDUs in sessions, oversized data segments",
	  attack_bad_pdus },
	{ "h_window_gap", "64 KiB immediate WRITEs behind a CmdSN gap that never fills, 16 sessions",
	  attack_window_gap },
};

const struct attack *hostile_attack_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(attacks); i++)
		if (!strcmp(attacks[i].name, name))
			return &attacks[i];
	return NULL;
}

void hostile_attacks_list(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(attacks); i++)
		printf("%-24s %s\n", attacks[i].name, attacks[i].what);
}
