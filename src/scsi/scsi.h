/* The SCSI target core: logical units, I_T nexus state and task execution.
 *
 * Transport-neutral: it sees CDBs, data buffers and LUN numbers, never PDUs.
 * A transport drives a task in three steps:
 *   1. fill the "set by transport" fields and call scsi_task_prepare();
 *      if it returns false the task is already complete (status/sense set);
 *   2. for dir == SCSI_DIR_WRITE, place the data in data_iov (taking its
 *      memory with scsi_task_data_get as it arrives, see below);
 *   3. call scsi_task_execute(); task->done runs later on task->loop with
 *      status, sense and (for reads) data_len bytes of data_iov filled in.
 * scsi_task_release() frees what prepare allocated, gives the task's
 * chunks back and drops its reference to its LU; call it once after each
 * prepare, on task->loop's thread.
 *
 * Data buffers. A command whose data is blocks of the medium (READ,
 * WRITE, VERIFY and WRITE AND VERIFY with data, up to SCSI_MAX_XFER_BYTES)
 * keeps it in chunks of SCSI_DATA_CHUNK bytes from its thread's pool
 * (util/bufwait.h), so memory is bounded by the pool's budget, not by what
 * initiators ask for: data_iov[i] is bytes [i * SCSI_DATA_CHUNK, ...) of
 * the transfer, the last entry ending at xfer_len, and the first
 * data_iovcnt entries have their memory. A read takes its chunks when it
 * is handed to scsi_task_execute, waiting (in arrival order on its thread)
 * when the budget is spent, and joins the task set once it has them; a
 * write's transport takes them as data is about to arrive. Every
 * other command moves at most a few KiB (an allocation length or a
 * parameter list): prepare gives it one flat buffer, buf, which
 * data_iov[0] also describes, so a transport moves all data as iovecs. */
#ifndef LUNAR_SCSI_SCSI_H
#define LUNAR_SCSI_SCSI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "scsi/range_lock.h"
#include "util/bufwait.h"
#include "util/loop.h"

#define SCSI_CDB_MAX 16
#define SCSI_SENSE_MAX 96
#define SCSI_MAX_LUNS 256
/* Largest transfer one command may ask for (Block Limits VPD). */
#define SCSI_MAX_XFER_BYTES (8u << 20)
/* The chunk block data lives in. 64 KiB: the largest transfer is then 128
 * chunks, an eighth of the iovecs one backend I/O may carry
 * (BACKEND_MAX_IOV) and few enough to sit in the task; a Data-In or
 * Data-Out PDU of the usual 256 KiB gathers 4 or 5 of them; and a 4 KiB
 * command ties up no more than 64 KiB of the budget. */
#define SCSI_DATA_CHUNK (64u << 10)
#define SCSI_TASK_MAX_CHUNKS (SCSI_MAX_XFER_BYTES / SCSI_DATA_CHUNK)
/* MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD, SBC-4 6.6.4): the
 * field's largest value. Its data-out and the blocks read to compare fit
 * the task's chunks for any block size: 3 x 255 x 4 KiB < 8 MiB. */
#define SCSI_CAW_MAX_BLOCKS 255

enum scsi_status {
	SCSI_STATUS_GOOD = 0x00,
	SCSI_STATUS_CHECK_CONDITION = 0x02,
	SCSI_STATUS_CONDITION_MET = 0x04,
	SCSI_STATUS_BUSY = 0x08,
	SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
	SCSI_STATUS_TASK_SET_FULL = 0x28,
	SCSI_STATUS_TASK_ABORTED = 0x40,
};

/* SAM-5 task attributes, as iSCSI carries them in ATTR (RFC 7143 §11.3.1).
 * Each I_T nexus has its own task set (TST=001b): an ORDERED task starts
 * once every older task has completed and holds back every newer one, HEAD
 * OF QUEUE starts at once, SIMPLE and UNTAGGED run concurrently with each
 * other (QAM=1). ACA runs as SIMPLE: NACA is never set (the control byte
 * rejects it), so no ACA condition can exist. */
enum scsi_task_attr {
	SCSI_ATTR_UNTAGGED = 0,
	SCSI_ATTR_SIMPLE = 1,
	SCSI_ATTR_ORDERED = 2,
	SCSI_ATTR_HEAD_OF_QUEUE = 3,
	SCSI_ATTR_ACA = 4,
};

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_READ, SCSI_DIR_WRITE };

struct scsi_lu_config {
	uint16_t lun;
	/* opened by the caller and handed to the LU when scsi_lu_create
	 * succeeds: the LU closes it with close_bs when its last reference
	 * goes (backend_close, or a test's own) */
	struct backend *bs;
	void (*close_bs)(struct backend *bs);
	const char *serial; /* NULL: derived from target name and LUN */
	const char *product; /* NULL: "lunar disk" */
	/* where persistent reservations with APTPL are kept (pr_file.h);
	 * NULL: APTPL is not supported */
	const char *state_dir;
	/* SANITIZE OVERWRITE writes at most this many bytes a second (0: as
	 * fast as the store goes), so one LU's sanitize leaves the disk to
	 * the others */
	uint64_t sanitize_rate;
};

/* The parameters MODE SELECT can change, as bits of scsi_lu.mode. */
enum scsi_lu_mode {
	SCSI_MODE_WCE = 1u << 0,     /* Caching page: write cache enabled */
	SCSI_MODE_D_SENSE = 1u << 1, /* Control page: descriptor-format sense */
	SCSI_MODE_SWP = 1u << 2,     /* Control page: software write protect */
};

struct pr_state;
struct scsi_stats_block;

/* A logical unit. Locking rule:
 * - identity and geometry (lun ... revision, readonly) are fixed at
 *   creation and read without locks, except nblocks, which only grows
 *   and is atomic;
 * - mode is the LU-wide state MODE SELECT changes: one atomic word of
 *   enum scsi_lu_mode bits. Tasks on any data-plane thread read it
 *   lock-free (scsi_lu_mode_has); a change is one compare-and-swap of the
 *   bits a MODE SELECT carries (scsi_lu_mode_change), so two MODE SELECTs
 *   on different threads never undo each other's bits and a task never
 *   sees half of one;
 * - unit attentions the LU establishes on every I_T nexus go through its
 *   target's nexus list under scsi_target.lock;
 * - persistent reservations (pr, pr.c) change several fields at once:
 *   they and the SPC-2 reservation (spc2_holder, reserve.c) are read and
 *   changed under pr_lock, taken before a target's lock when both are
 *   held. pr_reserved mirrors "a reservation of either kind exists",
 *   so a command on an unreserved LU checks one relaxed atomic and takes
 *   no lock;
 * - refs counts the holders: each LUN map that lists the LU, and each task
 *   from scsi_task_prepare to scsi_task_release. The backing store is
 *   closed when the last one goes, so a removed LU's commands in flight
 *   finish on an open store. */
struct scsi_lu {
	uint16_t lun;
	struct backend *bs;  /* owned; see scsi_lu_config */
	void (*close_bs)(struct backend *bs);
	uint32_t block_size;
	uint32_t physical_block_size; /* the store's; a power-of-two multiple of block_size */
	/* grows when the store does (scsi_lu_refresh_size), never shrinks:
	 * a range checked against it stays valid */
	_Atomic uint64_t nblocks;
	char serial[33];     /* Unit Serial Number VPD, space-free ASCII */
	uint8_t naa[16];     /* NAA 6 designator, stable for target name + LUN */
	char vendor[9], product[17], revision[5];
	bool readonly;       /* fixed by the configuration */
	_Atomic uint32_t mode;
	pthread_mutex_t pr_lock;
	struct pr_state *pr;
	char *pr_path;       /* the APTPL file, or NULL */
	/* the holder of a RESERVE(6)/(10) (SPC-2), or NULL; under pr_lock,
	 * compared and never followed, cleared by the holder's nexus_fini */
	const struct scsi_nexus *spc2_holder;
	/* under pr_lock: the APTPL save in flight (pr.c), and the PERSISTENT
	 * RESERVE OUT commands waiting for it; NULL: none */
	struct pr_save *pr_save;
	struct pr_save *pr_waiters;
	_Atomic bool pr_reserved;
	_Atomic unsigned refs;
	struct range_lock range_lock; /* writes vs atomic commands, any thread */
	/* ROD tokens over this LU's blocks that a write must cancel
	 * (rod_token.h); 0 keeps writes to one relaxed load */
	_Atomic unsigned rod_tokens;
	struct scsi_stats_block *stats; /* its I/O counters (stats.h), or NULL */
	/* enum sbc_sanitize_state: a sanitize the LU owns (sbc_sanitize.c),
	 * read lock-free by every command's checks */
	_Atomic int sanitize;
	_Atomic uint32_t sanitize_progress; /* of the one running, in 65536ths */
	uint64_t sanitize_rate; /* bytes/s, 0: unpaced */
};

static inline bool scsi_lu_mode_has(const struct scsi_lu *lu, enum scsi_lu_mode bit)
{
	return atomic_load_explicit(&lu->mode, memory_order_relaxed) & bit;
}

/* Sets the bits of mask to their values in bits, leaving the others. */
void scsi_lu_mode_change(struct scsi_lu *lu, uint32_t mask, uint32_t bits);
/* Whether blocks [lba, lba + count) lie within the medium; written so
 * that lba + count cannot wrap (SBC-3 4.5). The size is read once: it
 * only grows, so the answer stays true. */
static inline bool scsi_lu_range_ok(const struct scsi_lu *lu, uint64_t lba, uint64_t count)
{
	uint64_t n = atomic_load_explicit(&lu->nblocks, memory_order_relaxed);
	return lba <= n && count <= n - lba;
}
struct scsi_target;
struct scsi_nexus;

/* Asks the store whether it has grown and, if it has, grows nblocks and
 * establishes CAPACITY DATA HAS CHANGED (SBC-3 4.8) on every I_T nexus of
 * from's target but from, which learns the new size from its answer.
 * Synchronous, any thread. */
void scsi_lu_refresh_size(struct scsi_lu *lu, struct scsi_nexus *from);
/* The same from the control plane (a LUN grown by a reconfiguration):
 * every I_T nexus of target gets the unit attention. */
void scsi_lu_refresh_size_all(struct scsi_lu *lu, struct scsi_target *target);

/* A target's LUN table as the data plane sees it: an immutable snapshot.
 * It holds a reference to each LU it lists. */
struct scsi_lun_map {
	struct scsi_lu *lus[SCSI_MAX_LUNS]; /* indexed by LUN; NULL where absent */
};

/* A SCSI target device. The LUN table is read-copy-update:
 * - a change (scsi_target_add_lu, scsi_target_remove_lu) builds a new map
 *   and publishes it with one atomic pointer store, under lock, which
 *   serializes changes; the map it replaces is handed back "retired";
 * - data-plane threads read luns without locks (scsi_target_lu_get,
 *   scsi_target_lun_map), only inside one loop callback and never keep
 *   the map past it; what they keep is an LU reference;
 * - so a retired map is freed (scsi_lun_map_free) only after a grace
 *   period: every data-plane loop has since finished a callback (the
 *   control plane posts a message to each and counts the answers). The
 *   LU it drops stays alive while tasks hold references to it;
 * - any other thread reads luns under lock (scsi_nexus_init does).
 * lock also guards the nexus list, through which unit attentions reach
 * every I_T nexus. */
#define SCSI_MAX_PORTS 64

struct scsi_target {
	char *name;          /* SCSI target device name: the iSCSI target name */
	/* the port of a nexus set up without one (scsi_nexus_init) */
	uint16_t rel_port;   /* relative target port identifier */
	uint16_t tpg;        /* target port group */
	/* every target port group, of one port each whose relative port
	 * identifier is the group's (in iSCSI, a portal group and its tag),
	 * for REPORT TARGET PORT GROUPS; under lock (scsi_target_set_ports);
	 * none: the one port above */
	uint16_t ports[SCSI_MAX_PORTS];
	unsigned nports;
	struct scsi_lun_map *_Atomic luns;
	pthread_mutex_t lock;
	struct scsi_nexus *nexuses; /* every I_T nexus to this target (scsi_nexus_init/fini) */
};

/* An I_T nexus: one initiator port talking to one target port (in iSCSI,
 * one session). Holds the per-nexus unit attention state and task set. */
struct scsi_task;

/* Tasks linked through their set_prev / set_next. */
struct scsi_task_list {
	struct scsi_task *head, *tail;
};

struct scsi_nexus;
struct scsi_lu_reset;

/* LUN masking and mapping (SAM-5 4.6.2: a logical unit may have a
 * different LUN on each I_T nexus): the LUNs one I_T nexus sees and the
 * target's LU behind each. Immutable once created and reference-counted,
 * so a nexus reads it without locks on every command; a change (a new
 * ACL, issue 8) publishes a new view the way a target publishes its LUN
 * map. A nexus without a view sees every LUN under its own number. */
#define SCSI_LUN_NONE 0xFFFF
struct scsi_lun_view {
	_Atomic unsigned refs;
	uint16_t target_lun[SCSI_MAX_LUNS];    /* by the initiator's LUN; SCSI_LUN_NONE: masked */
	uint16_t initiator_lun[SCSI_MAX_LUNS]; /* the inverse; SCSI_LUN_NONE: not seen */
};

/* A waiting task that scsi_task_set_abort took out of the task set; it
 * never runs and done is never called for it, so this may free it. */
typedef void (*scsi_task_removed_fn)(struct scsi_task *task, void *arg);

/* What the core asks of the transport that owns an I_T nexus when task
 * management reaches it from elsewhere (a LOGICAL UNIT RESET received on
 * another I_T nexus). Both run on the nexus's loop. */
struct scsi_nexus_ops {
	/* Drop the tasks for lun that were never handed to
	 * scsi_task_execute (still collecting data-out): they must not run. */
	void (*drop_unexecuted)(struct scsi_nexus *nexus, uint16_t lun);
	/* A waiting task of this nexus the core took out of its task set
	 * (arg is the nexus). */
	scsi_task_removed_fn removed;
	/* TARGET COLD RESET from another nexus (RFC 7143 §11.5.1): the
	 * transport ends this I_T nexus, closing its connections, once the
	 * reset has aborted its tasks. NULL: the nexus outlives the reset. */
	void (*end)(struct scsi_nexus *nexus);
};

/* What holds a new I_T nexus back until the ones it replaces are gone
 * (scsi_nexus_replace): one reference for the new nexus, one for each old
 * one still alive, whose scsi_nexus_fini counts pending down. */
struct scsi_nexus_fence {
	_Atomic unsigned refs;
	_Atomic unsigned pending;   /* old nexuses not yet finished */
	struct scsi_nexus *waiter;  /* the new nexus; NULL once it is gone (its loop only) */
	struct loop *waiter_loop;
	struct loop_msg open_msg;   /* to the waiter's loop when pending reaches 0 */
};

struct scsi_fence_link;

/* Held POPULATE TOKEN / WRITE USING TOKEN results per I_T nexus, and
 * the sense each keeps (fixed format). */
#define SCSI_ODX_RESULTS 4
#define SCSI_ODX_SENSE_MAX 28

struct scsi_nexus {
	struct scsi_target *target;
	struct loop *loop;          /* where the nexus's tasks run */
	const struct scsi_nexus_ops *ops;
	char initiator_port[300]; /* e.g. "iqn...,i,0x23d000000001" */
	/* the target port of this nexus: relative port identifier, which is
	 * also its target port group (tpg.c) */
	uint16_t rel_port;
	/* the LUNs this nexus sees (a reference), NULL: all, as numbered;
	 * read lock-free by its tasks, so a new view can be published like
	 * a LUN map (unit attentions below are kept by the target's LUN) */
	struct scsi_lun_view *_Atomic view;
	/* session reinstatement: the fence this nexus waits behind (NULL:
	 * none), and those it holds closed until its fini (under
	 * target->lock) */
	struct scsi_nexus_fence *fence;
	struct scsi_fence_link *blocks;
	/* pending unit attentions per LUN, bit per enum scsi_ua; other
	 * threads set bits (a MODE SELECT on another nexus), so atomic */
	_Atomic uint32_t ua[SCSI_MAX_LUNS];
	struct scsi_nexus *next;    /* in target->nexuses */
	/* the task set (SAM-5 8.6): every task from scsi_task_execute until
	 * its done callback; used only on the nexus's own loop */
	struct scsi_task_list running; /* executing */
	struct scsi_task_list waiting; /* held back, in arrival order */
	/* reads waiting for their chunks: they join the task set once they
	 * have them (as a write does once its data is in), so no task in
	 * the set ever waits for memory while others wait for it there,
	 * which util/bufwait.h's argument against deadlock needs */
	struct scsi_task_list awaiting_data;
	unsigned nrunning;
	bool ordered_running;       /* one of the running is ORDERED */
	/* the results of this nexus's last EXTENDED COPY that asked for them
	 * to be held (SPC-4 6.18.3; xcopy.c); its loop only */
	struct scsi_copy_result {
		bool held;
		uint8_t list_id;
		uint8_t status;         /* COPY MANAGER STATUS */
		uint16_t segments;      /* SEGMENTS PROCESSED */
		uint32_t kib;           /* TRANSFER COUNT in KiB */
	} copy_result;
	/* the results of this nexus's last POPULATE TOKEN and WRITE USING
	 * TOKEN commands, by LIST IDENTIFIER, for RECEIVE ROD TOKEN
	 * INFORMATION (SBC-3 5.9, 5.46; odx.c); its loop only */
	struct scsi_odx_result {
		bool held;
		bool running;           /* the command has not completed */
		uint8_t service_action;
		uint8_t status;         /* COPY OPERATION STATUS */
		uint8_t scsi_status;    /* the command's own */
		uint32_t list_id;
		uint64_t age;           /* the oldest goes first */
		uint64_t blocks;        /* TRANSFER COUNT in logical blocks */
		uint8_t sense_len;
		uint8_t sense[SCSI_ODX_SENSE_MAX];
		bool has_token;
		uint8_t token[512];
	} odx_results[SCSI_ODX_RESULTS];
	struct scsi_stats_block *stats; /* its I/O counters (stats.h), or NULL */
};

enum scsi_ua {
	SCSI_UA_POWER_ON = 1u << 0,      /* 29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED */
	SCSI_UA_CAPACITY_CHANGED = 1u << 1, /* 2Ah/09h */
	SCSI_UA_MODE_CHANGED = 1u << 2,  /* 2Ah/01h MODE PARAMETERS CHANGED */
	SCSI_UA_LUNS_CHANGED = 1u << 3,  /* 3Fh/0Eh REPORTED LUNS DATA HAS CHANGED */
	SCSI_UA_LU_RESET = 1u << 4,      /* 29h/03h BUS DEVICE RESET FUNCTION OCCURRED */
	SCSI_UA_IT_NEXUS_LOSS = 1u << 5, /* 29h/07h I_T NEXUS LOSS OCCURRED */
	SCSI_UA_RESERVATIONS_PREEMPTED = 1u << 6,  /* 2Ah/03h */
	SCSI_UA_RESERVATIONS_RELEASED = 1u << 7,   /* 2Ah/04h */
	SCSI_UA_REGISTRATIONS_PREEMPTED = 1u << 8, /* 2Ah/05h */
};

/* Where a task is in its nexus's task set. */
enum scsi_task_state {
	SCSI_TASK_IDLE,    /* not handed to scsi_task_execute, or completed */
	SCSI_TASK_AWAITING_DATA, /* a read waiting for its chunks, not yet in the task set */
	SCSI_TASK_WAITING, /* held back by the task set; its handler has not run */
	SCSI_TASK_RUNNING, /* executing: done runs once when it ends */
	SCSI_TASK_ENDING,  /* a read aborted while awaiting its chunks: done is
			    * queued and runs once */
};

struct scsi_opdef;

/* Where a CHECK CONDITION points: the sense-key specific field pointer
 * (SPC-4 4.5.2.4.2) and the INFORMATION field. Private to the core. */
struct scsi_sense_detail {
	bool field_valid;
	bool in_cdb;        /* C/D: the field is in the CDB, not the parameter list */
	int8_t bit;         /* bit pointer, or -1 when the whole byte is meant */
	uint16_t field;     /* byte offset of the field in error */
	bool info_valid;
	uint64_t info;
	/* SPC-4 4.5.2.4.4: how far an operation is, in 65536ths (when no
	 * field pointer is given) */
	bool progress_valid;
	uint16_t progress;
};

/* Backend I/Os one task may have in flight at once (task_io.c). */
#define SCSI_TASK_MAX_IOS 4

struct scsi_task_io {
	struct backend_io io;
	struct scsi_task *task;
};

struct scsi_task {
	/* set by the transport */
	struct scsi_nexus *nexus;
	uint64_t lun_raw;        /* the 8-byte LUN field, big-endian decoded */
	uint8_t cdb[SCSI_CDB_MAX];
	enum scsi_task_attr attr;
	struct loop *loop;       /* the loop backing-store I/O runs on */
	void (*done)(struct scsi_task *task);
	void *transport_priv;
	uint32_t expected_len;   /* the transport's expected data transfer length
				  * (iSCSI's EDTL); a write of block data whose
				  * expected length ends inside a block is
				  * refused by prepare, which then keeps dir and
				  * xfer_len for the transport's residual */

	/* set by the transport before scsi_task_execute */
	uint32_t data_out_len;   /* SCSI_DIR_WRITE: bytes of data the initiator sent;
				  * a write moves only the whole blocks of it, so an
				  * Expected Data Transfer Length below the CDB's
				  * length writes no more than was sent */
	struct bufwait_account *data_account; /* whose minimum guarantee the chunks
					       * draw on (util/bufwait.h), or NULL */
	uint64_t arrived_ns;     /* CLOCK_MONOTONIC when the command came in, for
				  * its latency (stats.h); 0: not measured */
	bool data_in_lendable;   /* a read may leave its data where a store that
				  * lends memory keeps it (backend_lend): the
				  * transport needs no stable copy (no data
				  * digest) and keeps ORDERED commands back until
				  * that data has been sent */

	/* set by scsi_task_prepare */
	struct scsi_lu *lu;      /* a reference; NULL when the LUN does not exist */
	const struct scsi_opdef *op; /* NULL when the opcode is unsupported */
	enum scsi_dir dir;
	uint32_t xfer_len;       /* bytes the CDB asks to move; for commands with an
				  * allocation length, capped at the largest
				  * response the core builds */
	uint8_t *buf;            /* flat commands: xfer_len bytes, 4096-aligned */
	bool data_chunked;       /* block data: data_iov holds pool chunks */
	unsigned data_iovcnt;    /* entries of data_iov with memory, from byte 0 */
	struct iovec data_iov[SCSI_TASK_MAX_CHUNKS];

	/* results */
	bool aborted;            /* by scsi_task_abort or scsi_task_set_abort: done
				  * reports status TASK ABORTED and no data */
	uint32_t data_len;       /* SCSI_DIR_READ: valid bytes of data (<= xfer_len) */
	bool data_lent;          /* SCSI_DIR_READ: data_iov[0] is the store's own
				  * memory, not chunks (data_in_lendable) */
	uint8_t status;
	uint8_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];

	/* private to the core */
	uint64_t lba;
	uint32_t nblocks;
	struct scsi_task_io ios[SCSI_TASK_MAX_IOS]; /* the current step's I/Os */
	uint8_t ios_used;           /* slots handed out in the current step */
	uint8_t ios_outstanding;    /* of those, not yet complete */
	int ios_err;                /* the step's first error, or 0 */
	enum backend_op ios_err_op; /* the operation that failed first */
	void (*ios_then)(struct scsi_task *task, int err);
	uint32_t ios_next, ios_end; /* commands of many steps (UNMAP, WRITE SAME): where the
				     * next step starts, and where the last one ends */
	struct scsi_sense_detail detail;
	struct loop_op complete_op; /* defers done() to the loop */
	enum scsi_task_state state;
	struct scsi_task *set_prev, *set_next; /* in nexus->running or ->waiting */
	struct scsi_lu_reset *lu_reset; /* aborted by this reset, which waits for it */
	/* the flat buffer of sbc_flat_buf: VERIFY's and ORWRITE's read of
	 * the medium, WRITE SAME's repeated block, EXTENDED COPY's step */
	uint8_t *verify_buf;
	struct iovec verify_iov;    /* the read into verify_buf */
	uint32_t step_at;           /* ORWRITE: bytes of data-out done so far */
	struct xcopy_state *xcopy;  /* EXTENDED COPY: its list, LUs and range (xcopy.c) */
	struct bufwait *bufs;       /* the pool of task->loop's thread */
	struct bufwait_entry data_wait;
	struct range_lock_req range;  /* in lu->range_lock while range_held */
	bool range_held;
	void (*range_then)(struct scsi_task *task);
	void (*data_ready)(struct scsi_task *task);
};

/* Creates an LU over an opened backing store, holding one reference (the
 * caller's). Returns NULL and logs on error; the store is then still the
 * caller's. */
struct scsi_lu *scsi_lu_create(const struct scsi_lu_config *cfg, const char *target_name);
struct scsi_lu *scsi_lu_get(struct scsi_lu *lu);
/* Drops a reference; the last one closes the store and frees the LU.
 * Any thread; NULL is ignored. */
void scsi_lu_put(struct scsi_lu *lu);

/* Sets up lock and an empty LUN map. Returns 0 or -ENOMEM. */
int scsi_target_init(struct scsi_target *t);
/* Drops every LU of the map; no nexus and no reader may be left. */
void scsi_target_fini(struct scsi_target *t);
/* Data plane, inside one loop callback: the LU at lun with a reference
 * for the caller, or NULL. */
struct scsi_lu *scsi_target_lu_get(struct scsi_target *t, int lun);
/* Data plane, inside one loop callback: the current map, valid until the
 * callback returns. It is indexed by the target's LUN: an I_T nexus sees
 * it through its view (scsi_nexus_target_lun). */
const struct scsi_lun_map *scsi_target_lun_map(const struct scsi_target *t);
/* Control side: publishes a map with lu at lu->lun, taking over the
 * caller's reference, and establishes REPORTED LUNS DATA HAS CHANGED on
 * every I_T nexus (SPC-4: the logical unit inventory changed). *retired gets the replaced map, for
 * scsi_lun_map_free after a grace period. Returns 0, -EEXIST when the LUN
 * is taken or -ENOMEM; then nothing changed. */
int scsi_target_add_lu(struct scsi_target *t, struct scsi_lu *lu, struct scsi_lun_map **retired);
/* Control side: publishes a map without lun, the same way. Returns 0,
 * -ENOENT or -ENOMEM. */
int scsi_target_remove_lu(struct scsi_target *t, uint16_t lun, struct scsi_lun_map **retired);
/* Drops the map's LU references and frees it. */
void scsi_lun_map_free(struct scsi_lun_map *map);

/* Sets up a nexus whose tasks run on loop and adds it to its target's
 * list; scsi_nexus_fini takes it off. Thread-safe. ops may be NULL only
 * while no LOGICAL UNIT RESET can reach the target (unit tests). */
void scsi_nexus_init(struct scsi_nexus *nexus, struct scsi_target *target,
		     const char *initiator_port, struct loop *loop,
		     const struct scsi_nexus_ops *ops);
/* scsi_nexus_init through target port rel_port (one of target's ports,
 * in its group of the same number) instead of target->rel_port. */
void scsi_nexus_init_port(struct scsi_nexus *nexus, struct scsi_target *target, uint16_t rel_port,
			  const char *initiator_port, struct loop *loop, const struct scsi_nexus_ops *ops);
void scsi_nexus_fini(struct scsi_nexus *nexus);

/* A new I_T nexus replaces every other one of its target with the same
 * initiator port (in iSCSI, a session reinstated, RFC 7143 §6.3.5, or one
 * whose connection dropped with commands still executing). Those are
 * ending: their tasks are aborted (SAM-5 6.3.4 I_T nexus loss) or finish.
 * next starts no task, of any attribute, until each has reached
 * scsi_nexus_fini, so nothing of next's touches an LU before the old
 * commands are over; its tasks wait in its task set meanwhile. Call after
 * scsi_nexus_init, before next's first task. Returns 0 or -ENOMEM (then
 * next may not wait for all of them). */
int scsi_nexus_replace(struct scsi_nexus *next);

/* A view where initiator LUN i is target LUN target_lun[i] (SCSI_LUN_NONE:
 * masked), holding one reference; NULL when out of memory or when two
 * initiator LUNs name the same target LUN. */
struct scsi_lun_view *scsi_lun_view_create(const uint16_t target_lun[SCSI_MAX_LUNS]);
struct scsi_lun_view *scsi_lun_view_get(struct scsi_lun_view *view);
/* Any thread; NULL is ignored. */
void scsi_lun_view_put(struct scsi_lun_view *view);
/* Gives nexus view (taking over the caller's reference, NULL: every LUN),
 * before its first task; scsi_nexus_fini drops it. (A change while tasks
 * run would free the old view only after a grace period, as a LUN map.) */
void scsi_nexus_set_view(struct scsi_nexus *nexus, struct scsi_lun_view *view);
/* The target's LUN behind the initiator's LUN lun on nexus, or -1 when
 * the nexus does not see lun (masked, or not a LUN lunar serves). */
static inline int scsi_nexus_target_lun(const struct scsi_nexus *nexus, int lun)
{
	if (lun < 0 || lun >= SCSI_MAX_LUNS)
		return -1;
	const struct scsi_lun_view *v = atomic_load_explicit(&nexus->view, memory_order_acquire);
	if (!v)
		return lun;
	uint16_t t = v->target_lun[lun];
	return t == SCSI_LUN_NONE ? -1 : t;
}
/* The inverse: the initiator's LUN for the target's LUN lun, or -1. */
static inline int scsi_nexus_initiator_lun(const struct scsi_nexus *nexus, uint16_t lun)
{
	if (lun >= SCSI_MAX_LUNS)
		return -1;
	const struct scsi_lun_view *v = atomic_load_explicit(&nexus->view, memory_order_acquire);
	if (!v)
		return lun;
	uint16_t i = v->initiator_lun[lun];
	return i == SCSI_LUN_NONE ? -1 : i;
}

/* SAM-5 LUN encoding of the 8-byte LUN field (peripheral or flat space). */
uint64_t scsi_lun_encode(uint16_t lun);
/* Returns the LUN number, or -1 if the field addresses no LUN lunar serves. */
int scsi_lun_decode(uint64_t lun_raw);

bool scsi_task_prepare(struct scsi_task *task);
void scsi_task_execute(struct scsi_task *task);
void scsi_task_release(struct scsi_task *task);

/* Write data (step 2): memory for bytes [0, end) of the transfer. Returns
 * true when the task has it; false when it waits for the pool, and then
 * ready(task) runs on the loop once it has. last: the transport asks for
 * nothing more after this (the final burst), which lets the pool's
 * reserve go (util/bufwait.h). Flat buffers always have their memory. */
bool scsi_task_data_get(struct scsi_task *task, uint32_t end, bool last,
			void (*ready)(struct scsi_task *task));
/* The same for data already on its way (immediate and unsolicited data),
 * which cannot wait: on false the pool had no room and the task is
 * complete with status BUSY, as after a failed prepare (no data moves). */
bool scsi_task_data_get_now(struct scsi_task *task, uint32_t end);
/* The transport's data transfer broke off before the task executed (the
 * initiator ended a burst short): its memory goes, and it is complete with
 * CHECK CONDITION, ABORTED COMMAND, DATA PHASE ERROR (SPC-4 4Bh/00h). */
void scsi_task_fail_transfer(struct scsi_task *task);
/* The transport has no room for a prepared task (its initiator holds its
 * share of task memory already): it completes with TASK SET FULL (SAM-5
 * 5.3.1) before it executes, and no data moves. */
void scsi_task_refuse_full(struct scsi_task *task);
/* Bytes of the transfer, from 0, that have memory. */
static inline uint32_t scsi_task_data_room(const struct scsi_task *task)
{
	if (!task->data_chunked)
		return task->xfer_len;
	uint64_t room = (uint64_t)task->data_iovcnt * SCSI_DATA_CHUNK;
	return room < task->xfer_len ? (uint32_t)room : task->xfer_len;
}

/* Task management (SAM-5 clause 7), on the nexus's own loop. The transport
 * sends no status for an aborted task: TASK ABORTED goes on the wire only
 * for a command aborted from another I_T nexus while the Control mode page
 * has TAS 1 (SAM-5 5.3.1), and lunar's TAS is 0. The status TASK ABORTED
 * an executing one completes with is for the transport's bookkeeping. */
enum scsi_abort_result {
	/* The task's handler never runs and done is never called: it was
	 * waiting in the task set and has left it, or it was never handed to
	 * scsi_task_execute (then the transport must not execute it). The
	 * caller releases it now. */
	SCSI_ABORT_NOT_RUN,
	/* The task is executing (or is a read waiting for its chunks, which
	 * stops waiting): its backend I/O finishes (a sequence of
	 * I/Os stops after the current one), then done runs once with
	 * task->aborted set, status TASK ABORTED, no sense and no data. */
	SCSI_ABORT_RUNNING,
};

/* ABORT TASK. */
enum scsi_abort_result scsi_task_abort(struct scsi_task *task);

/* ABORT TASK SET and CLEAR TASK SET (with TST 001b the task set is per
 * I_T nexus, so both abort the same tasks), and I_T nexus loss: aborts
 * every task in nexus's task set, or only those for LUN lun when lun >= 0.
 * Waiting tasks are passed to removed; executing ones, and reads waiting
 * for their chunks, complete as after scsi_task_abort (one already
 * aborted is counted again). Returns how many
 * are still executing: the transport answers the TMF after that many done
 * calls. Tasks the transport has not yet executed (still receiving
 * data-out) are not in the task set; the transport drops those itself. */
unsigned scsi_task_set_abort(struct scsi_nexus *nexus, int lun, scsi_task_removed_fn removed,
			     void *arg);

/* LOGICAL UNIT RESET (SAM-5 6.3.3) of the LU from sees as lun, called on
 * from's loop. It reaches every I_T nexus of from's target, each on its
 * own loop and under the LUN that nexus sees the LU as: the transport
 * drops the tasks for that LUN it never handed to the core
 * (ops->drop_unexecuted), waiting tasks leave the task set
 * (ops->removed), executing ones finish the backend I/O in flight and
 * complete as aborted (no status goes to the initiator: TAS 0), and each
 * nexus gets the unit attention BUS DEVICE RESET FUNCTION OCCURRED
 * (29h/03h) for lun. done(arg) runs on from's loop once every aborted task
 * has completed, so nothing they would have written lands after the TMF
 * Response. Returns 0, or -ENOENT (from does not see lun) or -ENOMEM, and
 * nothing happened. */
int scsi_lu_reset(struct scsi_nexus *from, uint16_t lun, void (*done)(void *arg), void *arg);

/* The other task management functions that wait for aborted tasks, in
 * the same way as scsi_lu_reset (same done, same returns):
 * ABORT TASK SET and CLEAR TASK SET (SAM-5 7.2, 7.5; TST 001b: one task
 * set per I_T nexus, so both cover from's tasks for lun alone, and no
 * unit attention follows);
 * I_T NEXUS RESET (SAM-5 7.7, 6.3.4): every LU's tasks of from, then
 * I_T NEXUS LOSS OCCURRED (29h/07h) on from for every LU;
 * TARGET WARM/COLD RESET (SAM-5 6.3.2 hard reset): every LU on every
 * nexus of the target, then 29h/00h on each; refused with -EPERM when
 * another initiator has a nexus to the target (an initiator resets only
 * what it alone uses). A cold reset also ends every other nexus
 * (ops->end); from's transport ends its own after answering. */
int scsi_abort_task_set(struct scsi_nexus *from, uint16_t lun, void (*done)(void *arg), void *arg);
int scsi_it_nexus_reset(struct scsi_nexus *from, void (*done)(void *arg), void *arg);
int scsi_target_reset(struct scsi_nexus *from, bool cold, void (*done)(void *arg), void *arg);

/* QUERY ASYNCHRONOUS EVENT (SAM-5 7.11): whether a unit attention is
 * pending for the LU from sees as lun; nothing is cleared. */
bool scsi_ua_pending(const struct scsi_nexus *from, uint16_t lun);

#endif
