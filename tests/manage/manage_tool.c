/* lunar-manage-tool: the initiator side of tests/manage/reload.sh that the
 * stock libiscsi tools cannot play: a session that stays logged in across
 * a reconfiguration and reports what it then sees.
 *
 *   hold URL
 *       Logs in (iscsi://HOST:PORT/IQN/LUN), clears the unit attentions of
 *       a new I_T nexus, prints "ready blocks=N" (READ CAPACITY(16)), then
 *       waits for a line on stdin. Then it sends TEST UNIT READY and prints
 *       "tur=none" or "tur=KEY/ASC/ASCQ" (hex) for the unit attention it
 *       reports, then "after blocks=N", and logs out. A session the target
 *       ended prints "tur=failed: why" and exits 1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define INITIATOR "iqn.2026-11.org.test:manage"
/* A new nexus owes POWER ON and perhaps REPORTED LUNS DATA HAS CHANGED. */
#define MAX_ATTENTIONS 8

/* READ CAPACITY(16): the number of blocks, or 0 on failure. */
static uint64_t read_blocks(struct iscsi_context *iscsi, int lun)
{
	for (int attempt = 0; attempt < MAX_ATTENTIONS; attempt++) {
		struct scsi_task *t = iscsi_readcapacity16_sync(iscsi, lun);
		if (!t)
			break;
		uint64_t blocks = 0;
		if (t->status == SCSI_STATUS_GOOD) {
			struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);
			blocks = rc ? rc->returned_lba + 1 : 0;
		}
		bool again = t->status == SCSI_STATUS_CHECK_CONDITION && t->sense.key == SCSI_SENSE_UNIT_ATTENTION;
		scsi_free_scsi_task(t);
		if (!again)
			return blocks;
	}
	fprintf(stderr, "manage-tool: READ CAPACITY(16) failed: %s\n", iscsi_get_error(iscsi));
	return 0;
}

static int do_hold(const char *url_text)
{
	struct iscsi_url *url;
	struct iscsi_context *iscsi = iscsi_create_context(INITIATOR);
	if (!iscsi || !(url = iscsi_parse_full_url(iscsi, url_text))) {
		fprintf(stderr, "manage-tool: bad URL %s\n", url_text);
		return 2;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_noautoreconnect(iscsi, 1);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "manage-tool: login failed: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	int lun = url->lun;
	uint64_t blocks = read_blocks(iscsi, lun);
	if (!blocks)
		return 1;
	printf("ready blocks=%llu\n", (unsigned long long)blocks);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
	if (!t) {
		fprintf(stderr, "manage-tool: TEST UNIT READY failed: %s\n", iscsi_get_error(iscsi));
		return 1;
	}
	bool answered = t->status == SCSI_STATUS_GOOD || t->status == SCSI_STATUS_CHECK_CONDITION;
	if (t->status == SCSI_STATUS_GOOD)
		printf("tur=none\n");
	else if (answered)
		printf("tur=%x/%02x/%02x\n", t->sense.key, t->sense.ascq >> 8, t->sense.ascq & 0xff);
	else
		printf("tur=failed: %s\n", iscsi_get_error(iscsi));
	scsi_free_scsi_task(t);
	if (!answered)
		return 1;
	blocks = read_blocks(iscsi, lun);
	printf("after blocks=%llu\n", (unsigned long long)blocks);
	if (!blocks)
		return 1;
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return do_hold(argv[2]);
	fprintf(stderr, "usage: lunar-manage-tool hold iscsi://HOST:PORT/IQN/LUN\n");
	return 2;
}
