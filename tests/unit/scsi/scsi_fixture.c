#include "scsi_fixture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/iov.h"

static void fake_complete(struct loop_op *op, int res)
{
	struct backend_io *io = (struct backend_io *)((char *)op - offsetof(struct backend_io, lop));
	struct fake_store *fs = (struct fake_store *)io->bs;
	int err = fs->fail_err;
	if (!err) {
		if (io->op == BACKEND_READ)
			backend_io_scatter(io, fs->mem + io->offset);
		else if (io->op == BACKEND_WRITE)
			backend_io_gather(io, fs->mem + io->offset);
		else if (io->op == BACKEND_DISCARD)
			memset(fs->mem + io->offset, 0, io->discard_len);
		if (io->op == BACKEND_WRITE && fs->flip_write && fs->flip_at < io->len)
			fs->mem[io->offset + fs->flip_at] ^= 0xFF;
	}
	io->done(io, err);
}

static void fake_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	struct fake_store *fs = (struct fake_store *)bs;
	fs->nsubmits++;
	if (io->op == BACKEND_FLUSH)
		fs->nflushes++;
	if (io->op == BACKEND_DISCARD)
		fs->ndiscards++;
	if (io->op == BACKEND_WRITE) {
		fs->last_fua = io->fua;
		fs->last_atomic = io->atomic;
	}
	io->lop.cb = fake_complete;
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	io_uring_prep_nop(sqe);
	loop_sqe_set_op(sqe, &io->lop);
}

void fake_store_close(struct backend *bs)
{
	((struct fake_store *)bs)->ncloses++;
}

static int fake_current_size(const struct backend *bs, uint64_t *size)
{
	const struct fake_store *s = (const struct fake_store *)bs;
	*size = s->grown_size ? s->grown_size : bs->size;
	return 0;
}

static const struct backend_type fake_type = {
	.name = "fake",
	.submit = fake_submit,
	.current_size = fake_current_size,
};

static void fixture_done(struct scsi_task *task)
{
	struct fixture *f = task->transport_priv;
	f->ndone++;
	if (f->in_execute)
		f->done_in_execute = true;
	f->loop.stop = true;
}

struct fixture *fixture_new(bool keep_ua)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || loop_init(&f->loop, 64) < 0)
		abort();
	if (bufpool_init(&f->pool, SCSI_DATA_CHUNK, FIX_POOL_BYTES, SCSI_MAX_XFER_BYTES) < 0)
		abort();
	bufwait_init(&f->bufs, &f->pool, &f->loop, 4);
	bufwait_bind(&f->bufs);
	f->read_data = malloc(SCSI_MAX_XFER_BYTES);
	f->store.bs.type = &fake_type;
	f->store.bs.size = (uint64_t)FIX_NBLOCKS * FIX_BLOCK;
	f->store.bs.block_size = FIX_BLOCK;
	f->store.mem = calloc(1, f->store.bs.size);
	f->target.name = strdup(FIX_TARGET);
	f->target.rel_port = 1;
	f->target.tpg = 1;
	if (scsi_target_init(&f->target) < 0)
		abort();
	fixture_add_lu(f, 0);
	scsi_nexus_init(&f->nexus, &f->target, "iqn.2024-01.org.test:init,i,0x1", &f->loop, NULL);
	if (!keep_ua)
		memset(f->nexus.ua, 0, sizeof(f->nexus.ua));
	return f;
}

void fixture_add_lu(struct fixture *f, uint16_t lun)
{
	struct scsi_lu_config cfg = { .lun = lun, .bs = &f->store.bs, .close_bs = fake_store_close };
	struct scsi_lu *lu = scsi_lu_create(&cfg, f->target.name);
	struct scsi_lun_map *retired;
	if (!lu || scsi_target_add_lu(&f->target, scsi_lu_get(lu), &retired) < 0)
		abort();
	/* One thread, and no reader inside a loop callback: no grace period. */
	scsi_lun_map_free(retired);
	f->lus[lun] = lu;
	/* As if configured from the start: no REPORTED LUNS DATA HAS CHANGED. */
	if (f->nexus.target)
		for (unsigned i = 0; i < SCSI_MAX_LUNS; i++)
			f->nexus.ua[i] &= ~(uint32_t)SCSI_UA_LUNS_CHANGED;
}

void fixture_remove_lu(struct fixture *f, uint16_t lun)
{
	struct scsi_lun_map *retired;
	if (scsi_target_remove_lu(&f->target, lun, &retired) < 0)
		abort();
	scsi_lun_map_free(retired);
}

void fixture_free(struct fixture *f)
{
	scsi_task_release(&f->task);
	if (bufpool_chunks(&f->pool) != 0)
		abort(); /* a task kept its chunks */
	bufwait_bind(NULL);
	bufwait_fini(&f->bufs);
	free(f->read_data);
	scsi_nexus_fini(&f->nexus);
	scsi_target_fini(&f->target);
	for (unsigned i = 0; i < SCSI_MAX_LUNS; i++)
		scsi_lu_put(f->lus[i]);
	free(f->target.name);
	free(f->store.mem);
	loop_fini(&f->loop);
	free(f);
}

bool fixture_run(struct fixture *f, uint16_t lun, const uint8_t *cdb, const void *data_out)
{
	return fixture_run_partial(f, lun, cdb, data_out, UINT32_MAX);
}

static void fixture_other_done(struct scsi_task *t)
{
	t->loop->stop = true;
}

uint8_t fixture_run_on(struct fixture *f, struct scsi_nexus *nexus, uint16_t lun, const uint8_t *cdb)
{
	struct scsi_task t;
	memset(&t, 0, sizeof(t));
	t.nexus = nexus;
	t.lun_raw = scsi_lun_encode(lun);
	memcpy(t.cdb, cdb, SCSI_CDB_MAX);
	t.attr = SCSI_ATTR_SIMPLE;
	t.loop = &f->loop;
	t.done = fixture_other_done;
	if (scsi_task_prepare(&t)) {
		scsi_task_execute(&t);
		f->loop.stop = false;
		loop_run(&f->loop);
		f->loop.stop = false;
	}
	scsi_task_release(&t);
	return t.status;
}

bool fixture_prepare(struct fixture *f, uint16_t lun, const uint8_t *cdb)
{
	struct scsi_task *t = &f->task;
	scsi_task_release(t);
	memset(t, 0, sizeof(*t));
	t->nexus = &f->nexus;
	t->lun_raw = scsi_lun_encode(lun);
	memcpy(t->cdb, cdb, SCSI_CDB_MAX);
	t->attr = SCSI_ATTR_SIMPLE;
	t->loop = &f->loop;
	t->done = fixture_done;
	t->transport_priv = f;
	f->ndone = 0;
	return scsi_task_prepare(t);
}

bool fixture_run_partial(struct fixture *f, uint16_t lun, const uint8_t *cdb,
			 const void *data_out, uint32_t data_out_len)
{
	struct scsi_task *t = &f->task;
	if (!fixture_prepare(f, lun, cdb))
		return false;
	if (t->dir == SCSI_DIR_WRITE)
		fixture_fill_data_out(f, data_out, data_out ? t->xfer_len : 0);
	if (data_out_len < t->data_out_len)
		t->data_out_len = data_out_len;
	f->in_execute = true;
	scsi_task_execute(t);
	f->in_execute = false;
	f->loop.stop = false;
	loop_run(&f->loop);
	f->loop.stop = false;
	return true;
}

void fixture_fill_data_out(struct fixture *f, const void *data, uint32_t len)
{
	struct scsi_task *t = &f->task;
	if (!scsi_task_data_get(t, t->xfer_len, true, NULL))
		abort(); /* the fixture's pool has room for any one command */
	iov_scatter(t->data_iov, t->data_iovcnt, 0, data, len);
}

const uint8_t *fixture_read_data(struct fixture *f)
{
	iov_gather(f->task.data_iov, f->task.data_iovcnt, 0, f->read_data, f->task.data_len);
	return f->read_data;
}

void fixture_sense(const struct fixture *f, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	const uint8_t *s = f->task.sense;
	if ((s[0] & 0x7F) == 0x72) {
		*key = s[1] & 0xF;
		*asc = s[2];
		*ascq = s[3];
	} else {
		*key = s[2] & 0xF;
		*asc = s[12];
		*ascq = s[13];
	}
}

bool fixture_check(const struct fixture *f, uint8_t key, uint8_t asc, uint8_t ascq)
{
	if (f->task.status != SCSI_STATUS_CHECK_CONDITION || f->task.sense_len == 0)
		return false;
	uint8_t k, a, q;
	fixture_sense(f, &k, &a, &q);
	return k == key && a == asc && q == ascq;
}

int fixture_field_pointer(const struct fixture *f, int *bit)
{
	const uint8_t *s = f->task.sense;
	if (!(s[15] & 0x80)) {
		*bit = -1;
		return -1;
	}
	*bit = (s[15] & 0x08) ? (s[15] & 0x7) : -1;
	return s[16] << 8 | s[17];
}
