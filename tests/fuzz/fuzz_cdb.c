/* Random CDBs (and data-out) through scsi_task_prepare / execute against an
 * in-memory fake backend on a real loop. Checks that every task completes
 * once, that results stay within their buffers, and (with ASan) that no
 * handler touches memory outside buf. Input layout: byte 0 selects LUN and
 * LU settings, bytes 1-16 are the CDB, the rest is data-out. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/pr.h"
#include "scsi/pr_state.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/scsi.h"
#include "util/log.h"

#define FUZZ_NBLOCKS 64u

struct fuzz_store {
	struct backend bs;
	uint8_t *mem;
	int fail_err;
};

static void fuzz_complete(struct loop_op *op, int res)
{
	struct backend_io *io = (struct backend_io *)((char *)op - offsetof(struct backend_io, lop));
	struct fuzz_store *fs = (struct fuzz_store *)io->bs;
	if (!fs->fail_err && io->op == BACKEND_READ)
		backend_io_scatter(io, fs->mem + io->offset);
	else if (!fs->fail_err && io->op == BACKEND_WRITE)
		backend_io_gather(io, fs->mem + io->offset);
	io->done(io, fs->fail_err);
}

static void fuzz_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	io->lop.cb = fuzz_complete;
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	io_uring_prep_nop(sqe);
	loop_sqe_set_op(sqe, &io->lop);
}

/* The stores live as long as the process. */
static void fuzz_close(struct backend *bs)
{
}

static const struct backend_type fuzz_type = { .name = "fuzz", .submit = fuzz_submit };

static struct loop fuzz_loop;
static struct bufpool fuzz_pool;
static struct bufwait fuzz_bufs;
static struct fuzz_store stores[2];
static struct scsi_target target;
static struct scsi_lu *lus[2];
static unsigned ndone;

static void fuzz_done(struct scsi_task *task)
{
	ndone++;
	fuzz_loop.stop = true;
}

static void fuzz_init(void)
{
	log_set_level(LL_ERROR);
	if (loop_init(&fuzz_loop, 64) < 0 ||
	    bufpool_init(&fuzz_pool, SCSI_DATA_CHUNK, 2 * SCSI_MAX_XFER_BYTES, SCSI_MAX_XFER_BYTES) < 0)
		abort();
	bufwait_init(&fuzz_bufs, &fuzz_pool, &fuzz_loop, 4);
	bufwait_bind(&fuzz_bufs);
	static const uint32_t block_sizes[2] = { 512, 4096 };
	target.name = "iqn.2024-01.org.lunar:fuzz";
	target.rel_port = 1;
	target.tpg = 1;
	if (scsi_target_init(&target) < 0)
		abort();
	for (unsigned i = 0; i < 2; i++) {
		stores[i].bs.type = &fuzz_type;
		stores[i].bs.block_size = block_sizes[i];
		stores[i].bs.size = (uint64_t)FUZZ_NBLOCKS * block_sizes[i];
		stores[i].mem = calloc(1, stores[i].bs.size);
		struct scsi_lu_config cfg = {
			.lun = (uint16_t)i, .bs = &stores[i].bs, .close_bs = fuzz_close,
		};
		lus[i] = scsi_lu_create(&cfg, target.name);
		struct scsi_lun_map *retired;
		if (!stores[i].mem || !lus[i] || scsi_target_add_lu(&target, lus[i], &retired) < 0)
			abort();
		scsi_lun_map_free(retired);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!lus[0])
		fuzz_init();
	if (size < 1 + SCSI_CDB_MAX)
		return 0;
	uint8_t sel = data[0];
	static const int errs[4] = { 0, 0, -5 /* EIO */, -28 /* ENOSPC */ };
	unsigned lun = sel & 0x3; /* 2 and 3 are absent */
	for (unsigned i = 0; i < 2; i++) {
		lus[i]->readonly = sel & 0x04;
		scsi_lu_mode_change(lus[i], SCSI_MODE_D_SENSE | SCSI_MODE_WCE,
				    (sel & 0x08 ? SCSI_MODE_D_SENSE : 0) |
				    (sel & 0x10 ? SCSI_MODE_WCE : 0));
		stores[i].fail_err = errs[(sel >> 6) & 3];
	}
	struct scsi_nexus nexus;
	scsi_nexus_init(&nexus, &target, "iqn.2024-01.org.test:fuzz,i,0x1", &fuzz_loop, NULL);
	if (!(sel & 0x20))
		memset(nexus.ua, 0, sizeof(nexus.ua));

	struct scsi_task task;
	memset(&task, 0, sizeof(task));
	task.nexus = &nexus;
	task.lun_raw = scsi_lun_encode((uint16_t)lun);
	memcpy(task.cdb, data + 1, SCSI_CDB_MAX);
	task.attr = SCSI_ATTR_SIMPLE;
	task.loop = &fuzz_loop;
	task.done = fuzz_done;

	const uint8_t *out = data + 1 + SCSI_CDB_MAX;
	size_t out_len = size - 1 - SCSI_CDB_MAX;
	ndone = 0;
	if (scsi_task_prepare(&task)) {
		if (task.xfer_len > SCSI_MAX_XFER_BYTES ||
		    (task.xfer_len && !task.buf && !task.data_chunked))
			abort();
		/* The pool holds one largest transfer beside its reserve. */
		if (task.dir == SCSI_DIR_WRITE && !scsi_task_data_get(&task, task.xfer_len, true, NULL))
			abort();
		size_t at = 0;
		for (unsigned k = 0; task.dir == SCSI_DIR_WRITE && k < task.data_iovcnt; k++) {
			uint8_t *p = task.data_iov[k].iov_base;
			for (size_t j = 0; j < task.data_iov[k].iov_len; j++, at++)
				p[j] = out_len ? out[at % out_len] : 0;
		}
		scsi_task_execute(&task);
		if (ndone != 0)
			abort();
		loop_run(&fuzz_loop);
		fuzz_loop.stop = false;
		if (ndone != 1)
			abort();
	} else if ((task.status != SCSI_STATUS_CHECK_CONDITION &&
		    task.status != SCSI_STATUS_RESERVATION_CONFLICT) || task.buf) {
		abort();
	}
	if (task.data_len > task.xfer_len || task.sense_len > SCSI_SENSE_MAX)
		abort();
	/* Only CHECK CONDITION carries sense (RESERVATION CONFLICT has none). */
	if ((task.status == SCSI_STATUS_CHECK_CONDITION) != (task.sense_len != 0))
		abort();
	scsi_task_release(&task);
	if (bufpool_chunks(&fuzz_pool) != 0)
		abort();
	/* The nexus is on the stack: unlink it, or the next input's would
	 * find this one in the target's list (MODE SELECT walks it). */
	scsi_nexus_fini(&nexus);
	/* Each input starts without persistent reservations, as it starts
	 * with its own nexus: what one input registered must not refuse the
	 * next one's commands; nor must a SANITIZE OVERWRITE that failed
	 * (every SANITIZE has ended: its task waited for it). */
	for (unsigned i = 0; i < 2; i++) {
		pr_state_init(lus[i]->pr);
		scsi_pr_update_flag(lus[i]);
		if (atomic_load(&lus[i]->sanitize) == SBC_SANITIZE_RUNNING)
			abort();
		atomic_store(&lus[i]->sanitize, SBC_SANITIZE_IDLE);
	}
	return 0;
}
