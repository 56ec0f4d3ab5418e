/* EXTENDED COPY (LID1, SPC-4 6.3) as VMware VAAI uses it: block to block
 * copies between LUs of one target, named by their NAA designator (VPD
 * 83h). The parser is pure (xcopy_parse.c); the copy runs in xcopy.c. */
#ifndef LUNAR_SCSI_XCOPY_H
#define LUNAR_SCSI_XCOPY_H

#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* The limits RECEIVE COPY RESULTS (OPERATING PARAMETERS) and VPD 8Fh
 * advertise, and the parser enforces. */
#define XCOPY_MAX_CSCDS 8
#define XCOPY_MAX_SEGMENTS 8
#define XCOPY_MAX_DESC_LIST 1024
#define XCOPY_MAX_SEGMENT_BYTES (64u << 20)
#define XCOPY_HEADER_LEN 16
#define XCOPY_PARAM_MAX (XCOPY_HEADER_LEN + XCOPY_MAX_DESC_LIST)

/* The descriptor type codes served (SPC-4 6.3.6, 6.3.7). */
#define XCOPY_CSCD_ID 0xE4     /* identification descriptor CSCD */
#define XCOPY_SEG_B2B 0x02     /* block device to block device */

/* The designator of an identification descriptor CSCD (SPC-4 6.3.6.4). */
struct xcopy_cscd {
	uint8_t desig_type;     /* designator type, SPC-4 7.8.6.1 */
	uint8_t desig_len;
	uint8_t desig[16];
	uint32_t block_size;    /* DISK BLOCK LENGTH */
};

struct xcopy_segment {
	uint16_t src, dst;      /* CSCD indexes */
	uint16_t nblocks;
	uint64_t src_lba, dst_lba;
};

struct xcopy_list {
	unsigned ncscds, nsegments;
	struct xcopy_cscd cscds[XCOPY_MAX_CSCDS];
	struct xcopy_segment segments[XCOPY_MAX_SEGMENTS];
};

/* The copy engine (xcopy_engine.c), shared by EXTENDED COPY and WRITE
 * USING TOKEN (odx.c): pieces of blocks copied one after the other, each
 * in steps of at most XCOPY_STEP_BYTES through one buffer. A step holds
 * its destination blocks shared in the destination LU's range lock (so it
 * waits for COMPARE AND WRITE, as a write does), reads the source, asks
 * ops->check, cancels the ROD tokens over its destination and writes. */
#define XCOPY_STEP_BYTES (1u << 20)
#define XCOPY_MAX_LUS XCOPY_MAX_CSCDS
#define XCOPY_ZEROS 0xFF          /* a piece's src: zeros, nothing read */

struct xcopy_piece {
	uint64_t src_lba, dst_lba;
	uint32_t nblocks;
	uint8_t src, dst;             /* indexes into lus */
	/* copied from its end: the destination overlaps the source after
	 * it on one store, and a forward copy would read what it wrote */
	bool backward;
};

struct xcopy_ops {
	/* After a step's read, before its write: anything but SENSE_NONE
	 * ends the copy there. NULL: nothing to check. */
	enum sense_reason (*check)(struct scsi_task *task);
	/* The copy ended with reason (not when aborted), just before the
	 * task completes with it: keep what RECEIVE COPY RESULTS reports. */
	void (*result)(struct scsi_task *task, enum sense_reason reason);
	/* From task release, aborted or not: let go of what the caller took. */
	void (*release)(struct scsi_task *task);
};

struct rod_token;

struct xcopy_state {
	struct scsi_task *task;
	const struct xcopy_ops *ops;
	void *owner;                  /* the caller's state, for ops */
	/* the ROD token the copy reads from (WRITE USING TOKEN): its own
	 * writes to the token's blocks are counted in self_changes */
	struct rod_token *token;
	unsigned self_changes;
	struct scsi_lu *lus[XCOPY_MAX_LUS]; /* references; NULL where unused */
	unsigned npieces;
	unsigned piece;               /* the piece being copied */
	uint32_t piece_done;          /* its blocks copied so far */
	uint32_t step_blocks;         /* blocks of the step in flight */
	uint64_t step_src, step_dst;
	struct range_lock_req range;  /* on the destination LU while range_held */
	struct scsi_lu *range_lu;
	bool range_held;
	uint64_t blocks_done, bytes_done;
	struct xcopy_piece pieces[];
};

/* A job of npieces for task, at task->xcopy (freed with the task). */
struct xcopy_state *xcopy_job_new(struct scsi_task *task, unsigned npieces,
				  const struct xcopy_ops *ops);
/* Starts the copy of the job's lus and pieces (call from the handler);
 * SENSE_NONE: the task completes later, else nothing ran. */
enum sense_reason xcopy_job_start(struct scsi_task *task);

/* Parses a parameter list of len (> 0) bytes into out. Every segment's
 * indexes name a descriptor of the list. On error detail points at the
 * field where a field is to blame. */
enum sense_reason xcopy_parse(const uint8_t *p, uint32_t len, struct xcopy_list *out,
			      struct scsi_sense_detail *detail);

/* RECEIVE COPY RESULTS OPERATING PARAMETERS (SPC-4 6.18.4): its length. */
#define XCOPY_OP_PARAMS_LEN 46
/* VPD 8Fh (SPC-4 7.8.17): writes the page payload, returns its length
 * (at most XCOPY_VPD_MAX). */
#define XCOPY_VPD_MAX 400
size_t xcopy_vpd_third_party_copy(uint8_t *p);

/* OP_ASYNC handler: EXTENDED COPY (LID1). */
enum sense_reason spc_extended_copy(struct scsi_task *task);
/* RECEIVE COPY RESULTS, COPY STATUS (SPC-4 6.18.3). */
#define XCOPY_COPY_STATUS_LEN 12
enum sense_reason spc_receive_copy_status(struct scsi_task *task);
/* RECEIVE COPY RESULTS, OPERATING PARAMETERS. */
enum sense_reason spc_receive_copy_op_params(struct scsi_task *task);
/* Lets go of what a copy holds (its LUs, its range, ops->release); from
 * task release. */
void xcopy_task_release(struct scsi_task *task);

#endif
