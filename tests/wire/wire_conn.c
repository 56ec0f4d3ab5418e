/* Raw-wire initiator: socket I/O with deadlines, initiator PDU builders and
 * a minimal login (RFC 7143 §6.3). Written without the lunar codec so the
 * tool checks the target independently of it. */
#include "wire_conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/be.h"

#define LOGIN_MAX_EXCHANGES 8
#define LOGIN_TEXT_CAP 4096

static const char *const io_names[] = {
	[WIRE_IO_OK] = "ok",
	[WIRE_IO_CLOSED] = "connection closed",
	[WIRE_IO_TIMEOUT] = "timed out",
	[WIRE_IO_ERROR] = "socket error",
};

const char *wire_io_name(enum wire_io r)
{
	return io_names[r];
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool wire_bind_source(int fd, const struct wire_target *t, char *why, size_t why_len)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST,
	};
	struct addrinfo *ai;
	int rc;

	if (!t->source)
		return true;
	rc = getaddrinfo(t->source, NULL, &hints, &ai);
	if (rc) {
		snprintf(why, why_len, "source %s: %s", t->source, gai_strerror(rc));
		return false;
	}
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc) {
		snprintf(why, why_len, "bind to %s: %s", t->source, strerror(errno));
		return false;
	}
	return true;
}

bool wire_connect(struct wire_conn *c, const struct wire_target *t, char *why, size_t why_len)
{
	const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	const struct timeval tv = { .tv_sec = WIRE_IO_TIMEOUT_S };
	struct addrinfo *ai;
	int one = 1;
	int rc;

	static uint8_t isid_counter;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->target = t;
	c->next_itt = 1;
	/* ISID type 0x80 ("random", RFC 7143 §11.12.5) from the process id and
	 * a counter, so each connection of this tool is a new session. */
	c->isid[0] = 0x80;
	c->isid[1] = 0x4c;
	be24_put(c->isid + 2, (uint32_t)getpid());
	c->isid[5] = isid_counter++;
	rc = getaddrinfo(t->host, t->port, &hints, &ai);
	if (rc) {
		snprintf(why, why_len, "resolve %s:%s: %s", t->host, t->port, gai_strerror(rc));
		return false;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return false;
	}
	/* SO_SNDTIMEO also bounds connect() on Linux. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!wire_bind_source(c->fd, t, why, why_len)) {
		freeaddrinfo(ai);
		wire_close(c);
		return false;
	}
	rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc) {
		snprintf(why, why_len, "connect %s:%s: %s", t->host, t->port, strerror(errno));
		wire_close(c);
		return false;
	}
	return true;
}

void wire_close(struct wire_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

enum wire_io wire_send(struct wire_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return WIRE_IO_CLOSED;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return WIRE_IO_TIMEOUT;
		if (n < 0)
			return WIRE_IO_ERROR;
		p += n;
		len -= (size_t)n;
	}
	return WIRE_IO_OK;
}

enum wire_io wire_send_pdu(struct wire_conn *c, const uint8_t bhs[ISCSI_BHS_LEN], const void *data,
			   uint32_t data_len)
{
	static const uint8_t zeros[3];
	enum wire_io r = wire_send(c, bhs, ISCSI_BHS_LEN);

	if (r == WIRE_IO_OK && data_len)
		r = wire_send(c, data, data_len);
	if (r == WIRE_IO_OK && iscsi_pad4(data_len) != data_len)
		r = wire_send(c, zeros, iscsi_pad4(data_len) - data_len);
	return r;
}

static enum wire_io recv_exact(struct wire_conn *c, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;

	while (len) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (left <= 0)
			return WIRE_IO_TIMEOUT;
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return WIRE_IO_ERROR;
		if (pr == 0)
			return WIRE_IO_TIMEOUT;
		ssize_t n = recv(c->fd, p, len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return WIRE_IO_CLOSED;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return WIRE_IO_ERROR;
		p += n;
		len -= (size_t)n;
	}
	return WIRE_IO_OK;
}

/* StatSN is meaningful in these target PDUs (RFC 7143 §11); Data-In only
 * with S set, and an unsolicited NOP-In does not advance it (§11.19.2). */
static bool carries_statsn(const uint8_t *bhs)
{
	switch (bhs[0] & 0x3f) {
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_REJECT:
	case ISCSI_OP_ASYNC_MSG:
		return true;
	case ISCSI_OP_NOP_IN:
		return be32_get(bhs + 16) != ISCSI_RSVD_TAG;
	case ISCSI_OP_DATA_IN:
		return bhs[1] & 0x01;
	default:
		return false;
	}
}

static void track_sequence_numbers(struct wire_conn *c, const uint8_t *bhs)
{
	uint32_t max_cmdsn = be32_get(bhs + 32);

	if (carries_statsn(bhs) && iscsi_sn_le(c->exp_statsn, be32_get(bhs + 24)))
		c->exp_statsn = be32_get(bhs + 24) + 1;
	if ((bhs[0] & 0x3f) == ISCSI_OP_LOGIN_RSP)
		return;
	if (iscsi_sn_lt(max_cmdsn, c->max_cmdsn) && c->max_cmdsn_regressions++ == 0) {
		c->regressed_from = c->max_cmdsn;
		c->regressed_to = max_cmdsn;
	}
	if (iscsi_sn_lt(c->max_cmdsn, max_cmdsn))
		c->max_cmdsn = max_cmdsn;
}

enum wire_io wire_recv_pdu(struct wire_conn *c, struct wire_pdu *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	enum wire_io r;

	memset(p, 0, sizeof(*p));
	r = recv_exact(c, p->bhs, ISCSI_BHS_LEN, deadline);
	if (r != WIRE_IO_OK)
		return r;
	uint32_t ahs = p->bhs[4] * 4u;
	p->data_len = be24_get(p->bhs + 5);
	uint32_t tail = ahs + iscsi_pad4(p->data_len);
	if (tail) {
		uint8_t *buf = malloc(tail);

		if (!buf)
			return WIRE_IO_ERROR;
		r = recv_exact(c, buf, tail, deadline);
		if (r != WIRE_IO_OK) {
			free(buf);
			return r;
		}
		if (ahs)
			memmove(buf, buf + ahs, p->data_len);
		p->data = buf;
	}
	track_sequence_numbers(c, p->bhs);
	return WIRE_IO_OK;
}

void wire_pdu_free(struct wire_pdu *p)
{
	free(p->data);
	p->data = NULL;
}

/* RFC 7143 §11.18.1: a NOP-In with a TTT other than 0xffffffff is a ping
 * that must be answered by a NOP-Out echoing that TTT. */
enum wire_io wire_recv_reply(struct wire_conn *c, struct wire_pdu *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - now_ms();
		enum wire_io r = wire_recv_pdu(c, p, left > 0 ? (int)left : 0);

		if (r != WIRE_IO_OK)
			return r;
		uint8_t op = p->bhs[0] & 0x3f;
		uint32_t ttt = be32_get(p->bhs + 20);
		if (op == ISCSI_OP_NOP_IN && ttt != ISCSI_RSVD_TAG) {
			uint8_t bhs[ISCSI_BHS_LEN];

			wire_build_nop_out(bhs, c, ISCSI_RSVD_TAG, ttt, true, 0);
			wire_pdu_free(p);
			r = wire_send_pdu(c, bhs, NULL, 0);
			if (r != WIRE_IO_OK)
				return r;
			continue;
		}
		if (op == ISCSI_OP_ASYNC_MSG) {
			wire_pdu_free(p);
			continue;
		}
		return WIRE_IO_OK;
	}
}

enum wire_io wire_wait_close(struct wire_conn *c, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t sink[4096];

	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (left <= 0)
			return WIRE_IO_TIMEOUT;
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return pr == 0 ? WIRE_IO_TIMEOUT : WIRE_IO_ERROR;
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return WIRE_IO_CLOSED;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return WIRE_IO_ERROR;
	}
}

/* RFC 7143 §11.12: I is always set on a Login Request. */
void wire_build_login(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint8_t flags,
		      uint32_t itt, uint32_t data_len)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = 0x40 | ISCSI_OP_LOGIN_REQ;
	bhs[1] = flags;
	be24_put(bhs + 5, data_len);
	memcpy(bhs + 8, c->isid, sizeof(c->isid));
	be32_put(bhs + 16, itt);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
}

/* RFC 7143 §11.3: ATTR 1 = Simple; F set, since this tool never sends
 * unsolicited Data-Out PDUs after the command. */
void wire_build_scsi_cmd(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			 bool read, bool write, uint32_t edtl, const uint8_t *cdb, size_t cdb_len,
			 uint32_t data_len)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = ISCSI_OP_SCSI_CMD;
	bhs[1] = 0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01;
	be24_put(bhs + 5, data_len);
	be64_put(bhs + 8, c->target->lun);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, edtl);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
	memcpy(bhs + 32, cdb, cdb_len < 16 ? cdb_len : 16);
}

void wire_build_data_out(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			 uint32_t ttt, uint32_t datasn, uint32_t offset, uint32_t len, bool final)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = ISCSI_OP_DATA_OUT;
	bhs[1] = final ? 0x80 : 0;
	be24_put(bhs + 5, len);
	be64_put(bhs + 8, c->target->lun);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ttt);
	be32_put(bhs + 28, c->exp_statsn);
	be32_put(bhs + 36, datasn);
	be32_put(bhs + 40, offset);
}

void wire_build_nop_out(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			uint32_t ttt, bool immediate, uint32_t data_len)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = (immediate ? 0x40 : 0) | ISCSI_OP_NOP_OUT;
	bhs[1] = 0x80;
	be24_put(bhs + 5, data_len);
	be64_put(bhs + 8, c->target->lun);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ttt);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
}

void wire_build_text(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		     uint32_t ttt, bool immediate, uint32_t data_len)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = (immediate ? 0x40 : 0) | ISCSI_OP_TEXT_REQ;
	bhs[1] = 0x80;
	be24_put(bhs + 5, data_len);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ttt);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
}

/* The reason code sits in the low 7 bits of byte 1, under F. */
void wire_build_logout(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		       uint8_t reason)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = 0x40 | ISCSI_OP_LOGOUT_REQ;
	bhs[1] = 0x80 | (reason & 0x7f);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
}

void wire_build_tmf(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		    uint8_t function, uint32_t ref_itt, uint32_t ref_cmdsn)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = 0x40 | ISCSI_OP_TMF_REQ;
	bhs[1] = 0x80 | (function & 0x7f);
	be64_put(bhs + 8, c->target->lun);
	be32_put(bhs + 16, itt);
	be32_put(bhs + 20, ref_itt);
	be32_put(bhs + 24, c->cmdsn);
	be32_put(bhs + 28, c->exp_statsn);
	be32_put(bhs + 32, ref_cmdsn);
}

bool wire_text_add(char *buf, size_t cap, uint32_t *len, const char *key, const char *value)
{
	int n = snprintf(buf + *len, cap - *len, "%s=%s", key, value);

	if (n < 0 || (size_t)n + 1 > cap - *len)
		return false;
	*len += (uint32_t)n + 1;
	return true;
}

bool wire_text_get(const uint8_t *data, uint32_t len, const char *key, char *out, size_t out_len)
{
	size_t klen = strlen(key);
	uint32_t i = 0;

	while (i < len) {
		const char *pair = (const char *)data + i;
		size_t plen = strnlen(pair, len - i);

		if (plen > klen && pair[klen] == '=' && !memcmp(pair, key, klen)) {
			size_t vlen = plen - klen - 1;

			if (vlen >= out_len)
				vlen = out_len - 1;
			memcpy(out, pair + klen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		i += (uint32_t)plen + 1;
	}
	return false;
}

void wire_login_params_default(struct wire_login_params *p)
{
	*p = (struct wire_login_params){
		.our_mrdsl = WIRE_OUR_MRDSL,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
		.initial_r2t = false,
		.immediate_data = true,
	};
}

/* Keys this tool proposes whatever the scenario (RFC 7143 §13): no digests,
 * one connection, in-order data, ERL 0. */
static const char *const fixed_keys[][2] = {
	{ "HeaderDigest", "None" },
	{ "DataDigest", "None" },
	{ "MaxConnections", "1" },
	{ "DataPDUInOrder", "Yes" },
	{ "DataSequenceInOrder", "Yes" },
	{ "ErrorRecoveryLevel", "0" },
	{ "DefaultTime2Wait", "0" },
	{ "DefaultTime2Retain", "0" },
};

/* Records the target's declarations from one operational-stage response;
 * values absent from every response keep their RFC 7143 §13 defaults. */
static void read_declarations(struct wire_conn *c, const struct wire_pdu *p)
{
	char v[32];

	if (wire_text_get(p->data, p->data_len, "MaxRecvDataSegmentLength", v, sizeof(v)))
		c->target_mrdsl = (uint32_t)strtoul(v, NULL, 10);
	if (wire_text_get(p->data, p->data_len, "FirstBurstLength", v, sizeof(v)))
		c->first_burst = (uint32_t)strtoul(v, NULL, 10);
	if (wire_text_get(p->data, p->data_len, "MaxBurstLength", v, sizeof(v)))
		c->max_burst = (uint32_t)strtoul(v, NULL, 10);
	if (wire_text_get(p->data, p->data_len, "ImmediateData", v, sizeof(v)))
		c->immediate_data = !strcmp(v, "Yes");
	if (wire_text_get(p->data, p->data_len, "InitialR2T", v, sizeof(v)))
		c->initial_r2t = !strcmp(v, "Yes");
	if (wire_text_get(p->data, p->data_len, "MaxOutstandingR2T", v, sizeof(v)))
		c->max_outstanding_r2t = (uint32_t)strtoul(v, NULL, 10);
}

static void add_number(char *text, uint32_t *len, const char *key, uint32_t value)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", value);
	wire_text_add(text, LOGIN_TEXT_CAP, len, key, v);
}

static uint32_t build_stage_text(const struct wire_conn *c, const struct wire_login_params *lp,
				 unsigned stage, char *text)
{
	uint32_t len = 0;

	if (stage == ISCSI_STAGE_SECURITY) {
		wire_text_add(text, LOGIN_TEXT_CAP, &len, "InitiatorName", WIRE_INITIATOR_NAME);
		wire_text_add(text, LOGIN_TEXT_CAP, &len, "SessionType",
			      lp->discovery ? "Discovery" : "Normal");
		if (!lp->discovery)
			wire_text_add(text, LOGIN_TEXT_CAP, &len, "TargetName", c->target->name);
		wire_text_add(text, LOGIN_TEXT_CAP, &len, "AuthMethod", "None");
		return len;
	}
	for (size_t i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++)
		wire_text_add(text, LOGIN_TEXT_CAP, &len, fixed_keys[i][0], fixed_keys[i][1]);
	add_number(text, &len, "MaxRecvDataSegmentLength", lp->our_mrdsl);
	/* RFC 7143 §13: the data-movement keys are irrelevant in discovery. */
	if (lp->discovery)
		return len;
	wire_text_add(text, LOGIN_TEXT_CAP, &len, "ImmediateData", lp->immediate_data ? "Yes" : "No");
	wire_text_add(text, LOGIN_TEXT_CAP, &len, "InitialR2T", lp->initial_r2t ? "Yes" : "No");
	add_number(text, &len, "FirstBurstLength", lp->first_burst);
	add_number(text, &len, "MaxBurstLength", lp->max_burst);
	add_number(text, &len, "MaxOutstandingR2T", lp->max_outstanding_r2t);
	return len;
}

bool wire_login(struct wire_conn *c, const struct wire_target *t, char *why, size_t why_len)
{
	struct wire_login_params lp;

	wire_login_params_default(&lp);
	return wire_login_with(c, t, &lp, why, why_len);
}

bool wire_login_with(struct wire_conn *c, const struct wire_target *t,
		     const struct wire_login_params *lp, char *why, size_t why_len)
{
	char text[LOGIN_TEXT_CAP];
	unsigned stage = ISCSI_STAGE_SECURITY;
	bool keys_sent = false;
	uint32_t itt;

	if (!wire_connect(c, t, why, why_len))
		return false;
	itt = c->next_itt++;
	c->cmdsn = 1;
	c->target_mrdsl = 8192;
	c->first_burst = 65536;
	c->max_burst = 262144;
	c->immediate_data = true;
	c->initial_r2t = true;
	c->max_outstanding_r2t = 1;
	c->our_mrdsl = lp->our_mrdsl;
	for (int i = 0; i < LOGIN_MAX_EXCHANGES; i++) {
		unsigned nsg = stage == ISCSI_STAGE_SECURITY ? ISCSI_STAGE_OPERATIONAL : ISCSI_STAGE_FULL_FEATURE;
		uint32_t len = keys_sent ? 0 : build_stage_text(c, lp, stage, text);
		uint8_t bhs[ISCSI_BHS_LEN];
		struct wire_pdu p;
		enum wire_io r;

		wire_build_login(bhs, c, wire_login_flags(true, stage, nsg), itt, len);
		r = wire_send_pdu(c, bhs, text, len);
		if (r == WIRE_IO_OK)
			r = wire_recv_pdu(c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK) {
			snprintf(why, why_len, "login: %s", wire_io_name(r));
			wire_close(c);
			return false;
		}
		keys_sent = true;
		uint16_t status = be16_get(p.bhs + 36);
		if ((p.bhs[0] & 0x3f) != ISCSI_OP_LOGIN_RSP || status) {
			snprintf(why, why_len, "login: opcode 0x%02x status 0x%04x", p.bhs[0] & 0x3f, status);
			wire_pdu_free(&p);
			wire_close(c);
			return false;
		}
		c->exp_statsn = be32_get(p.bhs + 24) + 1;
		c->cmdsn = be32_get(p.bhs + 28);
		c->max_cmdsn = be32_get(p.bhs + 32);
		if (stage == ISCSI_STAGE_OPERATIONAL)
			read_declarations(c, &p);
		bool transit = p.bhs[1] & 0x80;
		unsigned rsp_nsg = p.bhs[1] & 3u;
		wire_pdu_free(&p);
		if (transit && rsp_nsg == ISCSI_STAGE_FULL_FEATURE)
			return true;
		if (transit && rsp_nsg == ISCSI_STAGE_OPERATIONAL && stage == ISCSI_STAGE_SECURITY) {
			stage = ISCSI_STAGE_OPERATIONAL;
			keys_sent = false;
		}
	}
	snprintf(why, why_len, "login: no FullFeaturePhase after %d exchanges", LOGIN_MAX_EXCHANGES);
	wire_close(c);
	return false;
}
