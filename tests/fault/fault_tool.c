/* lunar-fault-tool: the initiator side of the fault tests (tests/fault/run.sh).
 *
 *   write  --url URL --log FILE --seconds S   FUA writes of self-describing
 *          blocks at QD 16 until S seconds pass or the target dies; every
 *          write the target acknowledged is appended to FILE as "LBA SEQ".
 *   verify --url URL --log FILE               reads back every logged block
 *          and checks it holds what was acknowledged.
 *   drop   --url URL --rounds N               N times: log in, put 32 writes
 *          and 32 reads of 256 KiB in flight, close the socket without
 *          logging out; then check a fresh session still reads.
 *   idle   --url URL --seconds S              log in, send nothing for S
 *          seconds, then check the session still reads.
 *   hold   --url URL --seconds S              log in and serve the session
 *          (libiscsi answers a target's logout request) until the target
 *          ends it; fails if it still stands after S seconds.
 *   deaf   --url URL --seconds S              log in, then read nothing
 *          for S seconds (a peer that ignores the logout request).
 *   stall  --url URL --seconds S              log in, put 32 reads of
 *          512 KiB in flight and read none of their data: print "holding",
 *          wait S seconds (the script shrinks the LU's file meanwhile), then
 *          read what comes until the reads end or the connection does, and
 *          say how many ended GOOD.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BLOCK 512u
#define WRITE_BLOCKS 8u                 /* 4 KiB per write */
#define WRITE_QD 16u
#define DROP_IO_BYTES (256u * 1024u)
#define DROP_QD 32u
#define STALL_IO_BYTES (512u * 1024u)
#define STALL_QD 32u
#define MAGIC "LUNARFLT"

struct opts {
	const char *mode, *url, *log;
	unsigned seconds, rounds;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct iscsi_context *login(const char *url_text, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-11.org.lunar:fault-test");
	if (!iscsi)
		return NULL;
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		fprintf(stderr, "fault-tool: bad URL %s: %s\n", url_text, iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	/* A dead target must end the run, not be retried forever. */
	iscsi_set_noautoreconnect(iscsi, 1);
	*lun = url->lun;
	int ret = iscsi_full_connect_sync(iscsi, url->portal, url->lun);
	iscsi_destroy_url(url);
	if (ret != 0) {
		fprintf(stderr, "fault-tool: login failed: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

/* Services the socket for up to ms milliseconds; false once it is dead. */
static bool service(struct iscsi_context *iscsi, int ms)
{
	struct pollfd pfd = { .fd = iscsi_get_fd(iscsi), .events = (short)iscsi_which_events(iscsi) };
	int n = poll(&pfd, 1, ms);
	if (n < 0)
		return errno == EINTR;
	return iscsi_service(iscsi, n ? pfd.revents : 0) == 0;
}

static void fill_block(uint8_t *b, uint64_t lba, uint64_t seq)
{
	memcpy(b, MAGIC, 8);
	memcpy(b + 8, &lba, 8);
	memcpy(b + 16, &seq, 8);
	for (unsigned i = 24; i < BLOCK; i++)
		b[i] = (uint8_t)(seq * 31u + i);
}

/* ---- write ---- */

struct write_slot {
	struct write_run *run;
	uint64_t lba, seq;
	uint8_t data[WRITE_BLOCKS * BLOCK];
};

struct write_run {
	struct iscsi_context *iscsi;
	int lun;
	FILE *log;
	uint64_t next_seq, max_seq, acked;
	unsigned inflight;
	bool dead;
};

static void write_submit(struct write_run *run, struct write_slot *slot);

static void write_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct write_slot *slot = priv;
	struct write_run *run = slot->run;
	struct scsi_task *task = data;
	run->inflight--;
	if (status == SCSI_STATUS_GOOD) {
		for (unsigned b = 0; b < WRITE_BLOCKS; b++)
			fprintf(run->log, "%" PRIu64 " %" PRIu64 "\n", slot->lba + b, slot->seq);
		fflush(run->log);
		run->acked++;
	} else {
		run->dead = true;
	}
	if (task)
		scsi_free_scsi_task(task);
	if (!run->dead)
		write_submit(run, slot);
}

static void write_submit(struct write_run *run, struct write_slot *slot)
{
	if (run->next_seq >= run->max_seq)
		return;
	slot->seq = run->next_seq++;
	slot->lba = slot->seq * WRITE_BLOCKS;
	for (unsigned b = 0; b < WRITE_BLOCKS; b++)
		fill_block(slot->data + b * BLOCK, slot->lba + b, slot->seq);
	if (!iscsi_write16_task(run->iscsi, run->lun, slot->lba, slot->data, sizeof(slot->data),
				BLOCK, 0, 0, 1, 0, 0, write_done, slot)) {
		run->dead = true;
		return;
	}
	run->inflight++;
}

static int do_write(const struct opts *o)
{
	struct write_run run = { 0 };
	run.iscsi = login(o->url, &run.lun);
	if (!run.iscsi)
		return 2;
	run.log = fopen(o->log, "w");
	if (!run.log) {
		perror(o->log);
		return 2;
	}
	/* Distinct LBAs for every write in 256 MiB: no write overwrites another. */
	run.max_seq = (256u << 20) / (WRITE_BLOCKS * BLOCK);
	static struct write_slot slots[WRITE_QD];
	for (unsigned i = 0; i < WRITE_QD; i++) {
		slots[i].run = &run;
		write_submit(&run, &slots[i]);
	}
	uint64_t end = now_ms() + o->seconds * 1000u;
	while (!run.dead && run.inflight && now_ms() < end)
		if (!service(run.iscsi, 100))
			run.dead = true;
	printf("acked %" PRIu64 " writes%s\n", run.acked, run.dead ? " (target went away)" : "");
	fclose(run.log);
	iscsi_destroy_context(run.iscsi);
	return run.acked ? 0 : 1;
}

/* ---- verify ---- */

static int do_verify(const struct opts *o)
{
	int lun;
	struct iscsi_context *iscsi = login(o->url, &lun);
	if (!iscsi)
		return 2;
	FILE *log = fopen(o->log, "r");
	if (!log) {
		perror(o->log);
		return 2;
	}
	/* Clear the power-on unit attention of the restarted target. */
	for (int i = 0; i < 3; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
		bool good = t && t->status == SCSI_STATUS_GOOD;
		if (t)
			scsi_free_scsi_task(t);
		if (good)
			break;
	}
	uint64_t lba, seq, checked = 0, bad = 0;
	uint8_t want[BLOCK];
	while (fscanf(log, "%" SCNu64 " %" SCNu64, &lba, &seq) == 2) {
		struct scsi_task *t = iscsi_read16_sync(iscsi, lun, lba, BLOCK, BLOCK, 0, 0, 0, 0, 0);
		fill_block(want, lba, seq);
		if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != BLOCK ||
		    memcmp(t->datain.data, want, BLOCK) != 0) {
			if (bad < 5)
				fprintf(stderr, "fault-tool: LBA %" PRIu64 " lost acknowledged write %" PRIu64 "\n",
					lba, seq);
			bad++;
		}
		if (t)
			scsi_free_scsi_task(t);
		checked++;
	}
	fclose(log);
	iscsi_destroy_context(iscsi);
	printf("verified %" PRIu64 " blocks, %" PRIu64 " lost\n", checked, bad);
	return checked > 0 && bad == 0 ? 0 : 1;
}

/* ---- drop ---- */

static bool read_block0(struct iscsi_context *iscsi, int lun)
{
	struct scsi_task *t = iscsi_read16_sync(iscsi, lun, 0, BLOCK, BLOCK, 0, 0, 0, 0, 0);
	bool ok = t && t->status == SCSI_STATUS_GOOD;
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* A session logged in whose first command has met the power-on unit
 * attention, if there was one; NULL when the login failed. */
static struct iscsi_context *login_ready(const char *url_text, int *lun)
{
	struct iscsi_context *iscsi = login(url_text, lun);
	if (iscsi && !read_block0(iscsi, *lun))
		read_block0(iscsi, *lun);
	return iscsi;
}


static void drop_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	if (data)
		scsi_free_scsi_task(data);
}

static int do_drop(const struct opts *o)
{
	static uint8_t buf[DROP_IO_BYTES];
	memset(buf, 0xd5, sizeof(buf));
	srand(7);
	for (unsigned r = 0; r < o->rounds; r++) {
		int lun;
		struct iscsi_context *iscsi = login(o->url, &lun);
		if (!iscsi)
			return 2;
		for (unsigned i = 0; i < DROP_QD; i++) {
			uint64_t lba = (uint64_t)(512u + i) * (DROP_IO_BYTES / BLOCK);
			iscsi_write16_task(iscsi, lun, lba, buf, sizeof(buf), BLOCK, 0, 0, 0, 0, 0,
					   drop_done, NULL);
			iscsi_read16_task(iscsi, lun, lba, sizeof(buf), BLOCK, 0, 0, 0, 0, 0,
					  drop_done, NULL);
		}
		/* Let part of it reach the target, then vanish mid-transfer. */
		uint64_t end = now_ms() + (uint64_t)(rand() % 20);
		while (now_ms() < end && service(iscsi, 2))
			;
		iscsi_destroy_context(iscsi);
	}
	int lun;
	struct iscsi_context *iscsi = login(o->url, &lun);
	if (!iscsi)
		return 1;
	bool ok = false;
	for (int i = 0; i < 3 && !ok; i++)
		ok = read_block0(iscsi, lun);
	iscsi_destroy_context(iscsi);
	printf("dropped %u sessions mid-transfer; a new session %s\n", o->rounds,
	       ok ? "reads" : "FAILED to read");
	return ok ? 0 : 1;
}

/* ---- idle ---- */

static int do_idle(const struct opts *o)
{
	int lun;
	struct iscsi_context *iscsi = login_ready(o->url, &lun);
	if (!iscsi)
		return 2;
	uint64_t end = now_ms() + o->seconds * 1000u;
	while (now_ms() < end)
		if (!service(iscsi, 100))
			break;
	bool ok = read_block0(iscsi, lun);
	iscsi_destroy_context(iscsi);
	printf("idle %u s: session %s\n", o->seconds, ok ? "still reads" : "was lost");
	return ok ? 0 : 1;
}

/* ---- hold and deaf: the two sides of graceful shutdown ---- */

static int do_hold(const struct opts *o)
{
	int lun;
	struct iscsi_context *iscsi = login_ready(o->url, &lun);
	if (!iscsi)
		return 2;
	printf("hold: logged in\n");
	fflush(stdout);
	uint64_t start = now_ms(), end = start + o->seconds * 1000u;
	bool ended = false;
	while (!ended && now_ms() < end)
		ended = !service(iscsi, 100);
	iscsi_destroy_context(iscsi);
	printf("hold: session %s after %" PRIu64 " ms\n", ended ? "ended by the target" : "still up",
	       now_ms() - start);
	return ended ? 0 : 1;
}

static int do_deaf(const struct opts *o)
{
	int lun;
	struct iscsi_context *iscsi = login_ready(o->url, &lun);
	if (!iscsi)
		return 2;
	printf("deaf: logged in\n");
	fflush(stdout);
	sleep(o->seconds);
	iscsi_destroy_context(iscsi);
	return 0;
}

/* ---- stall: reads whose data waits in the target while its file shrinks ---- */

struct stall_run {
	unsigned ended, good;
};

static void stall_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct stall_run *run = priv;
	run->ended++;
	if (status == SCSI_STATUS_GOOD)
		run->good++;
	if (data)
		scsi_free_scsi_task(data);
}

static int do_stall(const struct opts *o)
{
	int lun;
	struct iscsi_context *iscsi = login_ready(o->url, &lun);
	if (!iscsi)
		return 2;
	struct stall_run run = { 0 };
	for (unsigned i = 0; i < STALL_QD; i++)
		iscsi_read16_task(iscsi, lun, (uint64_t)i * (STALL_IO_BYTES / BLOCK), STALL_IO_BYTES, BLOCK, 0, 0,
				  0, 0, 0, stall_done, &run);
	/* Send the commands, read nothing back: 16 MiB of Data-In is more
	 * than the sockets hold, so the rest waits in the target. */
	uint64_t end = now_ms() + 2000;
	while (iscsi_out_queue_length(iscsi) > 0 && now_ms() < end) {
		struct pollfd pfd = { .fd = iscsi_get_fd(iscsi), .events = POLLOUT };
		if (poll(&pfd, 1, 10) > 0 && iscsi_service(iscsi, POLLOUT) != 0)
			break;
	}
	printf("stall: holding\n");
	fflush(stdout);
	sleep(o->seconds);
	end = now_ms() + 10000;
	bool alive = true;
	while (alive && run.ended < STALL_QD && now_ms() < end)
		alive = service(iscsi, 100);
	printf("stall: %u of %u reads ended, %u of them GOOD\n", run.ended, STALL_QD, run.good);
	iscsi_destroy_context(iscsi);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .seconds = 5, .rounds = 20 };
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "log", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "u:l:s:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': o.url = optarg; break;
		case 'l': o.log = optarg; break;
		case 's': o.seconds = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o.rounds = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !o.url || o.seconds > 60 || o.rounds > 200) {
		fprintf(stderr, "usage: lunar-fault-tool write|verify|drop|idle|hold|deaf|stall --url URL [--log FILE] "
				"[--seconds S<=60] [--rounds N<=200]\n");
		return 2;
	}
	o.mode = argv[optind];
	if (strcmp(o.mode, "write") == 0 && o.log)
		return do_write(&o);
	if (strcmp(o.mode, "verify") == 0 && o.log)
		return do_verify(&o);
	if (strcmp(o.mode, "drop") == 0)
		return do_drop(&o);
	if (strcmp(o.mode, "idle") == 0)
		return do_idle(&o);
	if (strcmp(o.mode, "hold") == 0)
		return do_hold(&o);
	if (strcmp(o.mode, "deaf") == 0)
		return do_deaf(&o);
	if (strcmp(o.mode, "stall") == 0)
		return do_stall(&o);
	fprintf(stderr, "fault-tool: unknown mode or missing --log\n");
	return 2;
}
