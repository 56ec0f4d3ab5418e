/* fuzz_conn's seeds, PDU by PDU (RFC 7143 §11 layouts). CmdSN and TTT
 * values follow what lunar does with them: the login's CmdSN becomes
 * ExpCmdSN, and a connection's first R2T has TTT 1. */
#include "conn_seeds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iscsi/pdu.h"
#include "util/be.h"

#define SEED_MAX 16384
#define SEED_BLOCK 512u

#define BHS_I_BIT 0x40u
#define BHS_F_BIT 0x80u
#define CMD_R_BIT 0x40u
#define CMD_W_BIT 0x20u
#define CMD_ATTR_MASK 0x07u
#define CMD_ATTR_SIMPLE 0x01u
#define CMD_ATTR_ORDERED 0x02u
#define LOGIN_T_BIT 0x80u

#define INITIATOR_NAME "InitiatorName=iqn.2026-11.org.lunar:initiator"
#define TARGET_NAME "TargetName=" CONN_SEEDS_TARGET

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
	uint32_t cmdsn; /* next CmdSN of a non-immediate command */
};

static const uint8_t seed_isid[6] = { 0x00, 0x02, 0x3d, 0x00, 0x00, 0x01 };

static void seed_pdu(struct seed *s, uint8_t bhs[ISCSI_BHS_LEN], const void *data, size_t len)
{
	size_t padded = iscsi_pad4((uint32_t)len);
	if (s->len + ISCSI_BHS_LEN + padded > sizeof(s->buf))
		return;
	be24_put(bhs + 5, (uint32_t)len);
	memcpy(s->buf + s->len, bhs, ISCSI_BHS_LEN);
	s->len += ISCSI_BHS_LEN;
	if (len)
		memcpy(s->buf + s->len, data, len);
	memset(s->buf + s->len + len, 0, padded - len);
	s->len += padded;
}

/* Key=value pairs, each NUL-terminated (RFC 7143 §6.1); keys ends in NULL. */
static size_t seed_text(uint8_t *out, size_t cap, const char *const *keys)
{
	size_t len = 0;
	for (; *keys; keys++) {
		size_t n = strlen(*keys) + 1;
		if (len + n > cap)
			break;
		memcpy(out + len, *keys, n);
		len += n;
	}
	return len;
}

/* RFC 7143 §11.12 */
static void seed_login(struct seed *s, unsigned csg, unsigned nsg, uint32_t itt,
		       const char *const *keys)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { BHS_I_BIT | ISCSI_OP_LOGIN_REQ };
	uint8_t text[1024];
	bhs[1] = (uint8_t)(LOGIN_T_BIT | csg << 2 | nsg);
	memcpy(bhs + 8, seed_isid, sizeof(seed_isid));
	be32_put(bhs + 16, itt);
	be32_put(bhs + 24, s->cmdsn);
	seed_pdu(s, bhs, text, seed_text(text, sizeof(text), keys));
}

/* RFC 7143 §11.3; SIMPLE unless flags name another task attribute. */
static void seed_cmd(struct seed *s, uint8_t flags, uint32_t itt, uint32_t edtl,
		     const uint8_t cdb[16], const void *data, size_t len)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_SCSI_CMD, flags };
	if (!(flags & CMD_ATTR_MASK))
		bhs[1] |= CMD_ATTR_SIMPLE;
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, edtl);
	be32_put(bhs + 24, s->cmdsn++);
	memcpy(bhs + 32, cdb, 16);
	seed_pdu(s, bhs, data, len);
}

/* RFC 7143 §11.7 */
static void seed_data_out(struct seed *s, uint32_t itt, uint32_t ttt, uint32_t datasn,
			  uint32_t offset, const void *data, size_t len)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_DATA_OUT, BHS_F_BIT };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ttt);
	be32_put(bhs + 36, datasn);
	be32_put(bhs + 40, offset);
	seed_pdu(s, bhs, data, len);
}

/* RFC 7143 §11.18 */
static void seed_nop_out(struct seed *s, bool immediate, uint32_t itt, const char *ping)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_NOP_OUT, BHS_F_BIT };
	if (immediate)
		bhs[0] |= BHS_I_BIT;
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ISCSI_RSVD_TAG);
	be32_put(bhs + 24, immediate ? s->cmdsn : s->cmdsn++);
	seed_pdu(s, bhs, ping, strlen(ping));
}

/* RFC 7143 §11.10 */
static void seed_text_req(struct seed *s, uint32_t itt, const char *pair)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_TEXT_REQ, BHS_F_BIT };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ISCSI_RSVD_TAG);
	be32_put(bhs + 24, s->cmdsn++);
	seed_pdu(s, bhs, pair, strlen(pair) + 1);
}

/* The continuation of a Text Response the target split (RFC 7143 §11.10.2). */
static void seed_text_more(struct seed *s, uint32_t itt, uint32_t ttt)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_TEXT_REQ, BHS_F_BIT };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ttt);
	be32_put(bhs + 24, s->cmdsn++);
	seed_pdu(s, bhs, NULL, 0);
}

/* RFC 7143 §11.5 */
static void seed_abort_task(struct seed *s, uint32_t itt, uint32_t ref_itt, uint32_t ref_cmdsn)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { BHS_I_BIT | ISCSI_OP_TMF_REQ, BHS_F_BIT | 1u };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ref_itt);
	be32_put(bhs + 24, s->cmdsn);
	be32_put(bhs + 32, ref_cmdsn);
	seed_pdu(s, bhs, NULL, 0);
}

/* RFC 7143 §11.5: LOGICAL UNIT RESET of LUN 0. */
static void seed_lun_reset(struct seed *s, uint32_t itt)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { BHS_I_BIT | ISCSI_OP_TMF_REQ, BHS_F_BIT | 5u };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ISCSI_RSVD_TAG);
	be32_put(bhs + 24, s->cmdsn);
	seed_pdu(s, bhs, NULL, 0);
}

/* RFC 7143 §11.14: reason 0 closes the session, 1 the connection. */
static void seed_logout(struct seed *s, uint32_t itt, uint8_t reason)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { BHS_I_BIT | ISCSI_OP_LOGOUT_REQ, (uint8_t)(BHS_F_BIT | reason) };
	be32_put(bhs + 16, itt);
	be32_put(bhs + 24, s->cmdsn);
	seed_pdu(s, bhs, NULL, 0);
}

/* SBC-4 5.19 / 5.36: READ(10) and WRITE(10). */
static void seed_cdb_rw10(uint8_t cdb[16], uint8_t opcode, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = opcode;
	be32_put(cdb + 2, lba);
	be16_put(cdb + 7, blocks);
}

static const uint8_t cdb_tur[16];

static const char *const security_normal[] = {
	INITIATOR_NAME, TARGET_NAME, "SessionType=Normal", "AuthMethod=None", NULL,
};

static const char *const operational[] = {
	"HeaderDigest=None", "DataDigest=None", "ImmediateData=Yes", "InitialR2T=No",
	"MaxRecvDataSegmentLength=8192", "MaxBurstLength=262144", "FirstBurstLength=65536",
	"MaxOutstandingR2T=1", "ErrorRecoveryLevel=0", "DataPDUInOrder=Yes",
	"DataSequenceInOrder=Yes", "MaxConnections=1", "DefaultTime2Wait=2",
	"DefaultTime2Retain=20", NULL,
};

static void seed_login_normal(struct seed *s)
{
	s->cmdsn = 1;
	seed_login(s, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, 0, security_normal);
	seed_login(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, 0, operational);
}

static uint8_t pattern[4 * SEED_BLOCK];

/* Every kind of full feature phase PDU once, in order. */
static void seed_build_normal(struct seed *s)
{
	uint8_t cdb[16];
	seed_login_normal(s);
	seed_cmd(s, BHS_F_BIT, 0x10, 0, cdb_tur, NULL, 0);
	seed_cdb_rw10(cdb, 0x2a, 0, 1);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT, 0x11, SEED_BLOCK, cdb, pattern, SEED_BLOCK);
	/* No data with the command: the target asks for it (R2T TTT 1). */
	seed_cdb_rw10(cdb, 0x2a, 8, 2);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT, 0x12, 2 * SEED_BLOCK, cdb, NULL, 0);
	seed_data_out(s, 0x12, 1, 0, 0, pattern, 2 * SEED_BLOCK);
	/* F=0 with InitialR2T=No: unsolicited Data-Out follows. */
	seed_cdb_rw10(cdb, 0x2a, 16, 1);
	seed_cmd(s, CMD_W_BIT, 0x13, SEED_BLOCK, cdb, NULL, 0);
	seed_data_out(s, 0x13, ISCSI_RSVD_TAG, 0, 0, pattern, SEED_BLOCK);
	seed_cdb_rw10(cdb, 0x28, 0, 2);
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x14, 2 * SEED_BLOCK, cdb, NULL, 0);
	seed_nop_out(s, false, 0x15, "ping");
	seed_text_req(s, 0x16, "SendTargets=All");
	seed_logout(s, 0x17, 0);
}

static void seed_build_discovery(struct seed *s)
{
	static const char *const security[] = {
		INITIATOR_NAME, "SessionType=Discovery", "AuthMethod=None", NULL,
	};
	static const char *const op[] = {
		"HeaderDigest=None", "DataDigest=None", "MaxRecvDataSegmentLength=8192", NULL,
	};
	s->cmdsn = 1;
	seed_login(s, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL, 0, security);
	seed_login(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, 0, op);
	seed_text_req(s, 0x20, "SendTargets=All");
	seed_nop_out(s, true, 0x21, "");
	seed_logout(s, 0x22, 0);
}

/* Small PDUs (Data-In split), CmdSN out of order (held), ABORT TASK of a
 * write waiting for data, a long read, and a connection-only logout. */
static void seed_build_window(struct seed *s)
{
	static const char *const all[] = {
		INITIATOR_NAME, TARGET_NAME, "HeaderDigest=None", "DataDigest=None",
		"MaxRecvDataSegmentLength=512", "MaxBurstLength=1024", "InitialR2T=Yes", NULL,
	};
	uint8_t cdb[16];
	s->cmdsn = 100;
	seed_login(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, 0, all);
	seed_cdb_rw10(cdb, 0x28, 0, 4);
	s->cmdsn = 101;
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x31, 4 * SEED_BLOCK, cdb, NULL, 0);
	s->cmdsn = 100;
	seed_cmd(s, BHS_F_BIT, 0x30, 0, cdb_tur, NULL, 0);
	s->cmdsn = 102;
	seed_cdb_rw10(cdb, 0x2a, 4, 4);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT, 0x32, 4 * SEED_BLOCK, cdb, pattern, SEED_BLOCK);
	seed_abort_task(s, 0x33, 0x32, 102);
	/* 1024 Data-In PDUs: more than one gathered send, and more than the
	 * socket holds, so sends come back short. */
	seed_cdb_rw10(cdb, 0x28, 0, 1024);
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x36, 1024 * SEED_BLOCK, cdb, NULL, 0);
	seed_text_req(s, 0x34, "SendTargets=");
	seed_logout(s, 0x35, 1);
}

/* The initiator goes away in the middle of a write. */
static void seed_build_dropped(struct seed *s)
{
	uint8_t cdb[16];
	seed_login_normal(s);
	/* Takes the power-on unit attention, so the write runs. */
	seed_cmd(s, BHS_F_BIT, 0x3f, 0, cdb_tur, NULL, 0);
	seed_cdb_rw10(cdb, 0x2a, 0, 4);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT, 0x40, 4 * SEED_BLOCK, cdb, pattern, SEED_BLOCK);
	seed_data_out(s, 0x40, 1, 0, SEED_BLOCK, pattern, SEED_BLOCK);
}

/* fuzz_conn delays backing I/O by the LBA modulo 8: these commands are
 * still executing when the ABORT TASK and the ORDERED write behind them
 * arrive; the NOPs give them time to finish before the Logout. */
static void seed_build_executing(struct seed *s)
{
	uint8_t cdb[16];
	seed_login_normal(s);
	seed_cmd(s, BHS_F_BIT, 0x50, 0, cdb_tur, NULL, 0);
	seed_cdb_rw10(cdb, 0x28, 7, 1);
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x51, SEED_BLOCK, cdb, NULL, 0);
	seed_abort_task(s, 0x52, 0x51, s->cmdsn - 1);
	seed_cdb_rw10(cdb, 0x28, 6, 1);
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x53, SEED_BLOCK, cdb, NULL, 0);
	seed_cdb_rw10(cdb, 0x2a, 5, 1);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT | CMD_ATTR_ORDERED, 0x54, SEED_BLOCK, cdb, pattern,
		 SEED_BLOCK);
	for (uint32_t itt = 0x55; itt < 0x5a; itt++)
		seed_nop_out(s, false, itt, "wait");
	seed_logout(s, 0x5a, 0);
}

/* A LOGICAL UNIT RESET meets a read still executing (delayed by its LBA),
 * a write still waiting for its data and an ORDERED write held behind
 * them; the write's Data-Out arrives after the reset dropped it. */
static void seed_build_lun_reset(struct seed *s)
{
	uint8_t cdb[16];
	seed_login_normal(s);
	seed_cmd(s, BHS_F_BIT, 0x70, 0, cdb_tur, NULL, 0);
	seed_cdb_rw10(cdb, 0x28, 7, 1);
	seed_cmd(s, BHS_F_BIT | CMD_R_BIT, 0x71, SEED_BLOCK, cdb, NULL, 0);
	seed_cdb_rw10(cdb, 0x2a, 0, 4);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT, 0x72, 4 * SEED_BLOCK, cdb, pattern, SEED_BLOCK);
	seed_cdb_rw10(cdb, 0x2a, 5, 1);
	seed_cmd(s, BHS_F_BIT | CMD_W_BIT | CMD_ATTR_ORDERED, 0x73, SEED_BLOCK, cdb, pattern,
		 SEED_BLOCK);
	seed_lun_reset(s, 0x74);
	seed_data_out(s, 0x72, 1, 0, SEED_BLOCK, pattern, SEED_BLOCK);
	seed_cmd(s, BHS_F_BIT, 0x75, 0, cdb_tur, NULL, 0);
	for (uint32_t itt = 0x76; itt < 0x7a; itt++)
		seed_nop_out(s, false, itt, "wait");
	seed_logout(s, 0x7a, 0);
}

/* A Text Response longer than the initiator's 512-byte PDUs comes in
 * parts (TTT 1 is the connection's first); then logouts the target
 * refuses (recovery needs ERL > 0, an unknown CID) before the real one. */
static void seed_build_text(struct seed *s)
{
	static const char *const all[] = {
		INITIATOR_NAME, TARGET_NAME, "MaxRecvDataSegmentLength=512", NULL,
	};
	char keys[1024];
	size_t len = 0;
	s->cmdsn = 7;
	seed_login(s, ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE, 0, all);
	for (unsigned i = 0; i < 24; i++)
		len += (size_t)snprintf(keys + len, sizeof(keys) - len, "X-org.lunar.fuzz-%02u=1", i) + 1;
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_TEXT_REQ, BHS_F_BIT };
	be32_put(bhs + 16, 0x60);
	be32_put(bhs + 20, ISCSI_RSVD_TAG);
	be32_put(bhs + 24, s->cmdsn++);
	seed_pdu(s, bhs, keys, len);
	seed_text_more(s, 0x61, 1);
	seed_text_more(s, 0x62, 1);
	seed_logout(s, 0x63, 2);
	uint8_t logout_cid[ISCSI_BHS_LEN] = { BHS_I_BIT | ISCSI_OP_LOGOUT_REQ, BHS_F_BIT | 1u };
	be32_put(logout_cid + 16, 0x64);
	be16_put(logout_cid + 20, 9);
	be32_put(logout_cid + 24, s->cmdsn);
	seed_pdu(s, logout_cid, NULL, 0);
	seed_logout(s, 0x65, 0);
}

static const struct {
	const char *name;
	void (*build)(struct seed *s);
} seeds[] = {
	{ "seed-normal", seed_build_normal },
	{ "seed-discovery", seed_build_discovery },
	{ "seed-window", seed_build_window },
	{ "seed-dropped", seed_build_dropped },
	{ "seed-executing", seed_build_executing },
	{ "seed-text", seed_build_text },
	{ "seed-lun-reset", seed_build_lun_reset },
};

static int seed_save(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s->buf, s->len);
	int err = n < 0 ? -errno : (size_t)n != s->len ? -EIO : 0;
	close(fd);
	return err;
}

int conn_seeds_write(const char *dir)
{
	static struct seed s;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		memset(&s, 0, sizeof(s));
		seeds[i].build(&s);
		int err = seed_save(dir, seeds[i].name, &s);
		if (err < 0)
			return err;
	}
	return (int)(sizeof(seeds) / sizeof(seeds[0]));
}
