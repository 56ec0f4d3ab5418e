/* lunar-access-tool: the initiator side of tests/access/run.sh that the
 * stock libiscsi tools cannot play.
 *
 *   reinstate --portal HOST:PORT --target IQN --initiator IQN --lun N
 *       Session reinstatement (RFC 7143 §6.3.5): session A puts writes of
 *       the whole LUN (1 MiB or more) in flight and is left without a
 *       logout; session B logs in with the same initiator name and ISID,
 *       which ends A. B must work, and must read the same data twice with
 *       a pause between: nothing A sent may land after B's commands run.
 */
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BLOCK 512u
#define WRITE_BYTES (64u * 1024u)
#define REGION_BYTES (1024u * 1024u)
#define NWRITES (REGION_BYTES / WRITE_BYTES)
/* One ISID for both sessions: random format (RFC 7143 §10.12.5), fixed bits. */
#define ISID_RANDOM 0x4c554e
#define ISID_QUALIFIER 0x0a11

struct opts {
	const char *portal, *target, *initiator;
	int lun;
};

static struct iscsi_context *login(const struct opts *o)
{
	struct iscsi_context *iscsi = iscsi_create_context(o->initiator);
	if (!iscsi)
		return NULL;
	iscsi_set_targetname(iscsi, o->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_isid_random(iscsi, ISID_RANDOM, ISID_QUALIFIER);
	/* A session the target ended must stay ended, not log in again. */
	iscsi_set_noautoreconnect(iscsi, 1);
	if (iscsi_full_connect_sync(iscsi, o->portal, o->lun) != 0) {
		fprintf(stderr, "access-tool: login failed: %s\n", iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

static void write_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	(void)iscsi;
	(void)status;
	(void)priv;
	if (data)
		scsi_free_scsi_task(data);
}

/* READ(10) of the region into buf; the first command of a session may
 * meet a unit attention, so it is tried twice. */
static bool read_region(struct iscsi_context *iscsi, int lun, uint8_t *buf)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct scsi_task *t = iscsi_read10_sync(iscsi, lun, 0, REGION_BYTES, BLOCK, 0, 0, 0, 0, 0);
		bool ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size == (int)REGION_BYTES;
		if (ok)
			memcpy(buf, t->datain.data, REGION_BYTES);
		if (t)
			scsi_free_scsi_task(t);
		if (ok)
			return true;
	}
	fprintf(stderr, "access-tool: read failed: %s\n", iscsi_get_error(iscsi));
	return false;
}

static int do_reinstate(const struct opts *o)
{
	static uint8_t data[WRITE_BYTES], first[REGION_BYTES], second[REGION_BYTES];
	struct iscsi_context *a = login(o);
	if (!a)
		return 2;
	memset(data, 0x5a, sizeof(data));
	for (unsigned i = 0; i < NWRITES; i++)
		if (!iscsi_write10_task(a, o->lun, i * (WRITE_BYTES / BLOCK), data, WRITE_BYTES, BLOCK, 0, 0, 0,
					0, 0, write_done, NULL)) {
			fprintf(stderr, "access-tool: cannot queue a write: %s\n", iscsi_get_error(a));
			return 2;
		}
	/* Hand the writes to the socket; answers are never read. */
	while (iscsi_out_queue_length(a) > 0) {
		struct pollfd pfd = { .fd = iscsi_get_fd(a), .events = POLLOUT };
		if (poll(&pfd, 1, 1000) <= 0 || iscsi_service(a, pfd.revents) != 0)
			break;
	}

	struct iscsi_context *b = login(o);
	if (!b) {
		iscsi_destroy_context(a);
		return 1;
	}
	bool ok = read_region(b, o->lun, first);
	nanosleep(&(struct timespec){ .tv_nsec = 300 * 1000 * 1000 }, NULL);
	ok = ok && read_region(b, o->lun, second);
	unsigned landed = 0;
	for (unsigned i = 0; ok && i < NWRITES; i++)
		landed += first[i * WRITE_BYTES] == 0x5a && first[(i + 1) * WRITE_BYTES - 1] == 0x5a;
	bool stable = ok && memcmp(first, second, REGION_BYTES) == 0;
	iscsi_destroy_context(a);
	iscsi_logout_sync(b);
	iscsi_destroy_context(b);
	if (!ok)
		return 1;
	printf("the new session reads; %u of %u old writes had landed before it; %s\n", landed, NWRITES,
	       stable ? "none after" : "SOME LANDED AFTER its first read");
	return stable ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct opts o = { .lun = 0 };
	static const struct option longopts[] = {
		{ "portal", required_argument, NULL, 'p' },
		{ "target", required_argument, NULL, 't' },
		{ "initiator", required_argument, NULL, 'i' },
		{ "lun", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.portal = optarg; break;
		case 't': o.target = optarg; break;
		case 'i': o.initiator = optarg; break;
		case 'l': o.lun = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "reinstate") != 0 || !o.portal || !o.target ||
	    !o.initiator) {
		fprintf(stderr, "usage: lunar-access-tool reinstate --portal HOST:PORT --target IQN "
				"--initiator IQN [--lun N]\n");
		return 2;
	}
	return do_reinstate(&o);
}
