/* libFuzzer target for a whole iSCSI connection: the input is the byte
 * stream an initiator sends on one TCP connection. The connection runs on
 * a real io_uring loop (one socketpair end) against one target with LUN 0
 * in memory (completions delayed, see delayed_submit), from login through
 * the hand-off to the data-plane loop (the same loop here) to teardown, so
 * framing, routing, the send queue, sessions and SCSI data movement all
 * see the input.
 *
 * The input goes in chunks of a fixed size cycle, each once the previous
 * one is on the socket, so PDUs are split at varying places. Then the
 * initiator half-closes and the harness reads whatever the target sends
 * until the connection is freed, checking that its PDU framing holds
 * (out_feed). A connection still alive after
 * FUZZ_IDLE_TICKS quiet ticks, or after FUZZ_MAX_TICKS rounds of the
 * loop, is a hang: abort() so libFuzzer reports the input.
 *
 * Started with an empty corpus directory, it first writes its seeds there
 * (conn_seeds.c), so even a short run starts from full feature phase. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "conn_seeds.h"
#include "iscsi/conn.h"
#include "iscsi/sendtargets.h"
#include "iscsi/session.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/scsi.h"
#include "util/be.h"
#include "util/log.h"

#define FUZZ_STORE_SIZE (1u << 20)
#define FUZZ_RING_ENTRIES 256
#define FUZZ_TPGT 1
/* A tick ends at the next completion or after FUZZ_TICK_NS of silence.
 * Quiet ticks are bounded beyond the 1 s login timeout, so a hang is
 * never a wait lunar would end by itself. */
#define FUZZ_TICK_NS 10000000LL
#define FUZZ_IDLE_TICKS 300u
#define FUZZ_MAX_TICKS 200000u
#define FUZZ_RX_CAP 65536
/* Backing I/O waits for up to this many other completions (see below). */
#define FUZZ_DELAY_SPREAD 8u
#define FUZZ_DELAY_NS 1000000LL

static const struct backend_type *memory_type;
static struct backend_type delayed_type;
static struct scsi_target target;
static struct loop *cur_loop;

static const struct iscsi_st_portal portals[] = {
	{ .addr = "127.0.0.1:3260", .tpgt = FUZZ_TPGT },
	{ .addr = "[::1]:3260", .tpgt = FUZZ_TPGT },
};

/* References the transport holds on the target: none may outlive an input. */
static unsigned target_refs;

static void *host_find_target(const char *name)
{
	if (strcmp(name, CONN_SEEDS_TARGET) != 0)
		return NULL;
	target_refs++;
	return &target;
}

static void host_put_target(void *t)
{
	(void)t;
	if (target_refs == 0)
		abort();
	target_refs--;
}

static struct scsi_target *host_scsi_target(void *t)
{
	return t;
}

static const char *host_target_alias(void *t)
{
	(void)t;
	return "fuzz";
}

static int host_sendtargets(const char *value, const char *initiator_name,
			    const char *session_target, char *out, size_t cap)
{
	(void)initiator_name;
	const struct iscsi_st_target st = {
		.name = CONN_SEEDS_TARGET, .portals = portals,
		.nportals = sizeof(portals) / sizeof(portals[0]),
	};
	size_t len = 0;
	int ret = iscsi_sendtargets_build(value, session_target == NULL, session_target, &st, 1,
					  (uint8_t *)out, cap, &len);
	/* As the daemon does: the whole pairs that fit are still an answer. */
	return ret == 0 || ret == -ENOSPC ? (int)len : ret;
}

static struct loop *host_pick_dataplane(void)
{
	return cur_loop;
}

/* Anyone may log in and sees every LUN: the fuzzer is after the wire. */
static bool host_authorize(void *t, const char *initiator_name, const char *chap_user)
{
	(void)t;
	(void)initiator_name;
	(void)chap_user;
	return true;
}

static int host_lun_view(void *t, const char *initiator_name, struct scsi_lun_view **view)
{
	(void)t;
	(void)initiator_name;
	*view = NULL;
	return 0;
}

static struct iscsi_host host = {
	.find_target = host_find_target,
	.put_target = host_put_target,
	.scsi_target = host_scsi_target,
	.target_alias = host_target_alias,
	.sendtargets = host_sendtargets,
	.access.authorize = host_authorize,
	.lun_view = host_lun_view,
	.pick_dataplane = host_pick_dataplane,
	.tpgt = FUZZ_TPGT,
	.cmd_window = 16,
	.login_limits = { .login_timeout_s = 1, .login_pdu_timeout_s = 1 },
};

/* Task data comes from a pool with room outside its reserve for only a
 * few chunks, so reads and R2Ts wait for chunks often; every chunk must
 * be back when a run ends. */
#define FUZZ_POOL_FREE_CHUNKS 4
static struct bufpool fuzz_pool;

/* The initiator's side of one run. */
struct fuzz_run {
	struct loop loop;
	struct bufwait bufs;
	int fd;
	const uint8_t *data;
	size_t size, sent;
	unsigned chunk;
	bool send_done, recv_done;
	struct loop_op send_op, recv_op, tick_op;
	struct __kernel_timespec tick_ts;
	unsigned ticks, idle_ticks;
	uint8_t rx[FUZZ_RX_CAP];
	/* framing of what the target sends */
	uint8_t out_bhs[ISCSI_BHS_LEN];
	uint32_t out_got;
	uint32_t out_data_left;
	unsigned out_pdus;
};

#define RUN_OF(op, member) ((struct fuzz_run *)((char *)(op) - offsetof(struct fuzz_run, member)))

static const size_t chunk_sizes[] = { 17, 64, 512, 4096 };

static void run_send_next(struct fuzz_run *r)
{
	if (r->sent == r->size) {
		shutdown(r->fd, SHUT_WR);
		r->send_done = true;
		return;
	}
	size_t n = chunk_sizes[r->chunk++ % (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))];
	if (n > r->size - r->sent)
		n = r->size - r->sent;
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	io_uring_prep_send(sqe, r->fd, r->data + r->sent, n, MSG_NOSIGNAL);
	loop_sqe_set_op(sqe, &r->send_op);
}

static void run_on_send(struct loop_op *op, int res)
{
	struct fuzz_run *r = RUN_OF(op, send_op);
	if (res < 0) {
		/* The target closed: the rest of the input goes nowhere. */
		r->send_done = true;
		return;
	}
	r->sent += (size_t)res;
	run_send_next(r);
}

static void run_recv(struct fuzz_run *r)
{
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	io_uring_prep_recv(sqe, r->fd, r->rx, sizeof(r->rx), 0);
	loop_sqe_set_op(sqe, &r->recv_op);
}

/* Target opcodes, RFC 7143 §11.1.1. */
static bool out_opcode_valid(uint8_t op)
{
	switch (op) {
	case ISCSI_OP_NOP_IN: case ISCSI_OP_SCSI_RSP: case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_LOGIN_RSP: case ISCSI_OP_TEXT_RSP: case ISCSI_OP_DATA_IN:
	case ISCSI_OP_LOGOUT_RSP: case ISCSI_OP_R2T: case ISCSI_OP_ASYNC_MSG:
	case ISCSI_OP_REJECT:
		return true;
	default:
		return false;
	}
}

/* Follows the PDU boundaries of the target's stream: a lost or repeated
 * byte in the send queue shows up as a header that is no target PDU. lunar
 * negotiates no digests and sends no AHS, so a PDU is BHS + padded data. */
static void out_feed(struct fuzz_run *r, const uint8_t *p, size_t n)
{
	while (n) {
		if (r->out_data_left) {
			size_t take = n < r->out_data_left ? n : r->out_data_left;
			r->out_data_left -= (uint32_t)take;
			p += take;
			n -= take;
			continue;
		}
		size_t take = ISCSI_BHS_LEN - r->out_got;
		if (take > n)
			take = n;
		memcpy(r->out_bhs + r->out_got, p, take);
		r->out_got += (uint32_t)take;
		p += take;
		n -= take;
		if (r->out_got < ISCSI_BHS_LEN)
			continue;
		const uint8_t *b = r->out_bhs;
		if ((b[0] & 0xc0) || !out_opcode_valid(b[0] & 0x3f) || b[4] != 0) {
			fprintf(stderr, "fuzz_conn: target PDU %u has a bad header: byte 0 0x%02x, "
				"TotalAHSLength %u\n", r->out_pdus, b[0], b[4]);
			abort();
		}
		r->out_data_left = iscsi_pad4(be24_get(b + 5));
		r->out_got = 0;
		r->out_pdus++;
	}
}

static void run_on_recv(struct loop_op *op, int res)
{
	struct fuzz_run *r = RUN_OF(op, recv_op);
	if (res <= 0) {
		r->recv_done = true;
		return;
	}
	out_feed(r, r->rx, (size_t)res);
	run_recv(r);
}

static void run_tick(struct fuzz_run *r)
{
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	r->tick_ts = (struct __kernel_timespec){ .tv_nsec = FUZZ_TICK_NS };
	io_uring_prep_timeout(sqe, &r->tick_ts, 1, 0);
	loop_sqe_set_op(sqe, &r->tick_op);
}

static void run_hang(const struct fuzz_run *r, const char *why)
{
	fprintf(stderr, "fuzz_conn: hang (%s): %zu of %zu bytes sent, send %s, recv %s, "
		"%u live connection(s), %u session(s)\n", why, r->sent, r->size,
		r->send_done ? "done" : "pending", r->recv_done ? "at EOF" : "open",
		iscsi_conn_live_count(), iscsi_session_count());
	abort();
}

/* A SANITIZE OVERWRITE outlives its command and connection (SBC-4 4.11):
 * the input is over once it has ended too. */
static bool fuzz_sanitize_running(void)
{
	const struct scsi_lu *lu = scsi_target_lun_map(&target)->lus[0];
	return lu && atomic_load(&lu->sanitize) == SBC_SANITIZE_RUNNING;
}

static void run_on_tick(struct loop_op *op, int res)
{
	struct fuzz_run *r = RUN_OF(op, tick_op);
	if (r->send_done && r->recv_done && iscsi_conn_live_count() == 0 && !fuzz_sanitize_running()) {
		r->loop.stop = true;
		return;
	}
	r->idle_ticks = res == -ETIME ? r->idle_ticks + 1 : 0;
	if (r->idle_ticks >= FUZZ_IDLE_TICKS)
		run_hang(r, "nothing happens");
	if (++r->ticks >= FUZZ_MAX_TICKS)
		run_hang(r, "too many loop rounds");
	run_tick(r);
}

/* Memory I/O that finished at once would end every command before the
 * next PDU is read; a disk does not. So each I/O first waits for a number
 * of other completions that its LBA picks (the input chooses), or for
 * FUZZ_DELAY_NS if nothing else happens: ABORT TASK, Logout and a dropped
 * connection then meet commands still executing, and ORDERED tasks wait. */
struct fuzz_delay {
	struct loop_op op;
	struct backend *bs;
	struct loop *loop;
	struct backend_io *io;
	struct __kernel_timespec ts;
};

static void delay_on_done(struct loop_op *op, int res)
{
	struct fuzz_delay *d = (struct fuzz_delay *)((char *)op - offsetof(struct fuzz_delay, op));
	(void)res;
	memory_type->submit(d->bs, d->loop, d->io);
	free(d);
}

static void delayed_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	unsigned events = (unsigned)(io->offset / bs->block_size % FUZZ_DELAY_SPREAD);
	if (events == 0) {
		memory_type->submit(bs, loop, io);
		return;
	}
	struct fuzz_delay *d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	*d = (struct fuzz_delay){
		.op.cb = delay_on_done, .bs = bs, .loop = loop, .io = io,
		.ts = { .tv_nsec = FUZZ_DELAY_NS },
	};
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	io_uring_prep_timeout(sqe, &d->ts, events, 0);
	loop_sqe_set_op(sqe, &d->op);
}

static void fuzz_init_once(void)
{
	log_set_level(LL_ERROR);
	iscsi_target_limits_default(&host.limits);
	memory_type = backend_type_find("memory");
	delayed_type = *memory_type;
	delayed_type.submit = delayed_submit;
	target.name = CONN_SEEDS_TARGET;
	target.rel_port = 1;
	target.tpg = FUZZ_TPGT;
	if (scsi_target_init(&target) < 0)
		abort();
}

/* Fresh LU state and zeroed blocks for each input: what one input does
 * (MODE SELECT, writes) must not change how the next one runs. */
static void fuzz_lu_start(void)
{
	struct backend_config cfg;
	struct backend *store;
	backend_config_init(&cfg, &delayed_type);
	cfg.block_size = 512;
	if (backend_config_set_size(&cfg, "size", FUZZ_STORE_SIZE) < 0 || backend_open(&cfg, &store) < 0)
		abort();
	/* The LU owns the store: it is closed when the LU's last reference goes. */
	const struct scsi_lu_config lc = { .lun = 0, .bs = store, .close_bs = backend_close };
	struct scsi_lu *lu = scsi_lu_create(&lc, target.name);
	struct scsi_lun_map *retired;
	if (!lu || scsi_target_add_lu(&target, lu, &retired) < 0)
		abort();
	scsi_lun_map_free(retired);
}

static void fuzz_lu_end(void)
{
	if (target.nexuses || iscsi_session_count() != 0 || target_refs != 0) {
		fprintf(stderr, "fuzz_conn: a session, I_T nexus or target reference outlived its connection\n");
		abort();
	}
	struct scsi_lun_map *retired;
	if (scsi_target_remove_lu(&target, 0, &retired) < 0)
		abort();
	scsi_lun_map_free(retired);
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool empty = true;
	struct dirent *e;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init_once();
	if (bufpool_init(&fuzz_pool, SCSI_DATA_CHUNK,
			 SCSI_MAX_XFER_BYTES + FUZZ_POOL_FREE_CHUNKS * SCSI_DATA_CHUNK,
			 SCSI_MAX_XFER_BYTES) < 0)
		abort();
	/* The first corpus directory, if empty, gets the seeds. */
	for (int i = 1; i < *argc; i++) {
		const char *arg = (*argv)[i];
		struct stat st;
		if (arg[0] == '-' || stat(arg, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (dir_is_empty(arg)) {
			int n = conn_seeds_write(arg);
			if (n < 0)
				fprintf(stderr, "fuzz_conn: writing seeds to %s: %s\n", arg, strerror(-n));
		}
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct fuzz_run *r = calloc(1, sizeof(*r));
	if (!r || loop_init(&r->loop, FUZZ_RING_ENTRIES) < 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fuzz_lu_start();
	cur_loop = &r->loop;
	bufwait_init(&r->bufs, &fuzz_pool, &r->loop, 2);
	bufwait_bind(&r->bufs);
	r->fd = sv[0];
	r->data = data;
	r->size = size;
	r->send_op.cb = run_on_send;
	r->recv_op.cb = run_on_recv;
	r->tick_op.cb = run_on_tick;

	if (iscsi_conn_start(sv[1], &r->loop, &host) < 0)
		abort();
	run_send_next(r);
	run_recv(r);
	run_tick(r);
	loop_run(&r->loop);

	fuzz_lu_end();
	close(r->fd);
	if (bufpool_chunks(&fuzz_pool) != 0) {
		fprintf(stderr, "fuzz_conn: %zu task data chunks not given back\n",
			bufpool_chunks(&fuzz_pool));
		abort();
	}
	bufwait_bind(NULL);
	bufwait_fini(&r->bufs);
	loop_fini(&r->loop);
	free(r);
	cur_loop = NULL;
	return 0;
}
