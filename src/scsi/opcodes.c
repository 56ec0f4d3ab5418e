#include "scsi/opcodes.h"

#include "scsi/handlers.h"
#include "scsi/odx.h"
#include "scsi/pr_state.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/sbc_thin.h"
#include "scsi/tpg.h"
#include "scsi/xcopy.h"

#define NO_SA (-1)
#define FIELD(o, s) { .off = (o), .size = (s) }
#define NO_FIELD { 0, 0 }
#define EXEMPT (OP_UA_EXEMPT | OP_ANY_LUN)
#define WRITE_VERIFY_FLAGS (OP_BYTCHK | OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC)

#define PR_IN_ROW(sa, name) \
	{ 0x5E, (sa), (name), 10, \
	  { 0xFF, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00 }, \
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(7, 2), PR_IN_RESP_MAX, \
	  0, spc_pr_in, OP_PR_ALLOWED }
/* A change kept with APTPL completes once it is on stable storage, and
 * PREEMPT AND ABORT once the preempted tasks have (pr.c). */
#define PR_OUT_ROW(sa, name) \
	{ 0x5F, (sa), (name), 10, \
	  { 0xFF, 0x1F, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00 }, \
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(5, 4), PR_OUT_PARAM_MAX, \
	  OP_ASYNC, spc_pr_out, OP_PR_ALLOWED }

/* SBC-3 5.9.1, 5.46.1: LIST IDENTIFIER in bytes 6-9, PARAMETER LIST
 * LENGTH in 10-13, GROUP NUMBER in 14. */
#define ODX_ROW(sa, name, max, flags, handler, pr) \
	{ 0x83, (sa), (name), 16, \
	  { 0xFF, 0x1F, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, \
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 }, \
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(10, 4), (max), \
	  OP_ASYNC | (flags), (handler), (pr) }

/* SBC-4 5.30: AUSE is accepted (after a failed OVERWRITE with AUSE 1,
 * EXIT FAILURE MODE leaves the failure); IMMED is not, the sanitize
 * completing before its status. The handler refuses a write-protected LU
 * (DATA PROTECT). */
#define SANITIZE_ROW(sa, name, flags) \
	{ 0x48, (sa), (name), 10, \
	  { 0xFF, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00 }, \
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(7, 2), 0, \
	  OP_ASYNC | (flags), sbc_sanitize, OP_PR_CONFLICT }

/* Usage masks follow the CDB layouts of SPC-4 §6 and SBC-3 §5. Hints that
 * need no action are accepted: DPO, RARC, FUA_NV, group number, IMMED,
 * SYNC_NV. Protection fields (RDPROTECT, WRPROTECT, VRPROTECT) are not
 * accepted because the LU has no protection information. */
const struct scsi_opdef scsi_opdefs[] = {
	{ 0x00, NO_SA, "TEST UNIT READY", 6,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, spc_test_unit_ready, OP_PR_ALLOWED },
	{ 0x03, NO_SA, "REQUEST SENSE", 6,
	  { 0xFF, 0x01, 0x00, 0x00, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(4, 1), 252,
	  EXEMPT, spc_request_sense, OP_PR_ALLOWED },
	{ 0x08, NO_SA, "READ(6)", 6,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_BLOCKS, FIELD(1, 3), FIELD(4, 1), 0,
	  OP_LEN0_IS_256 | OP_ASYNC, sbc_read, OP_PR_READ },
	{ 0x0A, NO_SA, "WRITE(6)", 6,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(1, 3), FIELD(4, 1), 0,
	  OP_LEN0_IS_256 | OP_WRITES_MEDIUM | OP_ASYNC, sbc_write, OP_PR_CONFLICT },
	{ 0x12, NO_SA, "INQUIRY", 6,
	  { 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(3, 2), 1024,
	  EXEMPT, spc_inquiry, OP_PR_ALLOWED },
	/* SP is not accepted: lunar saves no parameters (SPC-4 6.9). */
	{ 0x15, NO_SA, "MODE SELECT(6)", 6,
	  { 0xFF, 0x10, 0x00, 0x00, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(4, 1), 0,
	  OP_EMPTY_IS_GOOD, spc_mode_select, OP_PR_CONFLICT },
	/* SPC-2 7.21, 7.11: third-party and extent reservations are not
	 * supported; the handlers decide who meets a conflict. */
	{ 0x16, NO_SA, "RESERVE(6)", 6,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, spc_reserve, OP_PR_ALLOWED },
	{ 0x17, NO_SA, "RELEASE(6)", 6,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, spc_release, OP_PR_ALLOWED },
	{ 0x1A, NO_SA, "MODE SENSE(6)", 6,
	  { 0xFF, 0x08, 0xFF, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(4, 1), 255,
	  0, spc_mode_sense, OP_PR_CONFLICT },
	/* Power conditions are not supported, so only IMMED, NO_FLUSH, LOEJ
	 * and START are accepted (SBC-3 5.25). */
	{ 0x1B, NO_SA, "START STOP UNIT", 6,
	  { 0xFF, 0x01, 0x00, 0x00, 0x07, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, sbc_start_stop_unit, OP_PR_CONFLICT },
	{ 0x1E, NO_SA, "PREVENT ALLOW MEDIUM REMOVAL", 6,
	  { 0xFF, 0x00, 0x00, 0x00, 0x03, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, sbc_prevent_allow, OP_PR_CONFLICT },
	{ 0x25, NO_SA, "READ CAPACITY(10)", 10,
	  { 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, FIELD(2, 4), NO_FIELD, 8,
	  0, sbc_read_capacity10, OP_PR_ALLOWED },
	{ 0x28, NO_SA, "READ(10)", 10,
	  { 0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(7, 2), 0,
	  OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_read, OP_PR_READ },
	{ 0x2A, NO_SA, "WRITE(10)", 10,
	  { 0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(7, 2), 0,
	  OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_write, OP_PR_CONFLICT },
	{ 0x2E, NO_SA, "WRITE AND VERIFY(10)", 10,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(7, 2), 0,
	  WRITE_VERIFY_FLAGS, sbc_write_verify, OP_PR_CONFLICT },
	{ 0x2F, NO_SA, "VERIFY(10)", 10,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_VERIFY, FIELD(2, 4), FIELD(7, 2), 0,
	  OP_BYTCHK | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_verify, OP_PR_READ },
	{ 0x34, NO_SA, "PRE-FETCH(10)", 10,
	  { 0xFF, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_RANGE, FIELD(2, 4), FIELD(7, 2), 0,
	  0, sbc_prefetch, OP_PR_READ },
	{ 0x35, NO_SA, "SYNCHRONIZE CACHE(10)", 10,
	  { 0xFF, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_RANGE, FIELD(2, 4), FIELD(7, 2), 0,
	  OP_ASYNC, sbc_sync_cache, OP_PR_CONFLICT },
	{ 0x37, NO_SA, "READ DEFECT DATA(10)", 10,
	  { 0xFF, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(7, 2), 4,
	  0, sbc_read_defect_data, OP_PR_READ },
	/* WRITE SAME: ANCHOR is not accepted (ANC_SUP 0, SBC-3 5.42), nor
	 * the obsolete PBDATA and LBDATA. Deallocation is UNMAP's and WRITE
	 * SAME(16)'s (LBPWS10 0): no initiator needs the 10-byte form for it,
	 * and libiscsi's WriteSame10.UnmapUntilEnd would have nonzero data
	 * read back as zeros, which SBC-4 5.50 forbids. The handler refuses
	 * its UNMAP bit, after the check for a write-protected LU. */
	{ 0x41, NO_SA, "WRITE SAME(10)", 10,
	  { 0xFF, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_RANGE, FIELD(2, 4), FIELD(7, 2), 0,
	  OP_ONE_BLOCK_OUT | OP_WRITES_MEDIUM | OP_ASYNC, sbc_write_same, OP_PR_CONFLICT },
	/* ANCHOR is not accepted: ANC_SUP is 0 (SBC-3 5.28). */
	{ 0x42, NO_SA, "UNMAP", 10,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(7, 2), 0,
	  OP_ASYNC | OP_THIN_ONLY, sbc_unmap, OP_PR_CONFLICT },
	/* OVERWRITE and CRYPTOGRAPHIC ERASE: see sbc_sanitize.c. */
	SANITIZE_ROW(SBC_SANITIZE_OVERWRITE, "SANITIZE: OVERWRITE", 0),
	/* SBC-4 5.30.3.3: a fully provisioned LU has no block erase. */
	SANITIZE_ROW(SBC_SANITIZE_BLOCK_ERASE, "SANITIZE: BLOCK ERASE", OP_THIN_ONLY),
	SANITIZE_ROW(SBC_SANITIZE_EXIT_FAILURE_MODE, "SANITIZE: EXIT FAILURE MODE", 0),
	{ 0x55, NO_SA, "MODE SELECT(10)", 10,
	  { 0xFF, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(7, 2), 0,
	  OP_EMPTY_IS_GOOD, spc_mode_select, OP_PR_CONFLICT },
	{ 0x56, NO_SA, "RESERVE(10)", 10,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, spc_reserve, OP_PR_ALLOWED },
	{ 0x57, NO_SA, "RELEASE(10)", 10,
	  { 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_NONE, NO_FIELD, NO_FIELD, 0,
	  0, spc_release, OP_PR_ALLOWED },
	{ 0x5A, NO_SA, "MODE SENSE(10)", 10,
	  { 0xFF, 0x18, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(7, 2), 512,
	  0, spc_mode_sense, OP_PR_CONFLICT },
	/* SPC-4 6.15: the service actions of PERSISTENT RESERVE IN; each
	 * decides itself who may use it (SPC-4 5.12.1). */
	PR_IN_ROW(0x00, "PERSISTENT RESERVE IN: READ KEYS"),
	PR_IN_ROW(0x01, "PERSISTENT RESERVE IN: READ RESERVATION"),
	PR_IN_ROW(0x02, "PERSISTENT RESERVE IN: REPORT CAPABILITIES"),
	PR_IN_ROW(0x03, "PERSISTENT RESERVE IN: READ FULL STATUS"),
	/* SPC-4 6.16: the handler checks the parameter list length. */
	PR_OUT_ROW(0x00, "PERSISTENT RESERVE OUT: REGISTER"),
	PR_OUT_ROW(0x01, "PERSISTENT RESERVE OUT: RESERVE"),
	PR_OUT_ROW(0x02, "PERSISTENT RESERVE OUT: RELEASE"),
	PR_OUT_ROW(0x03, "PERSISTENT RESERVE OUT: CLEAR"),
	PR_OUT_ROW(0x04, "PERSISTENT RESERVE OUT: PREEMPT"),
	PR_OUT_ROW(0x05, "PERSISTENT RESERVE OUT: PREEMPT AND ABORT"),
	PR_OUT_ROW(0x06, "PERSISTENT RESERVE OUT: REGISTER AND IGNORE EXISTING KEY"),
	PR_OUT_ROW(0x07, "PERSISTENT RESERVE OUT: REGISTER AND MOVE"),
	/* SPC-4 6.3: EXTENDED COPY (LID1); the copy manager checks the CSCDs'
	 * LUs itself. SPC-4 6.18: RECEIVE COPY RESULTS, COPY STATUS (of the
	 * nexus's last copy holding its results) and OPERATING PARAMETERS. */
	{ 0x83, 0x00, "EXTENDED COPY", 16,
	  { 0xFF, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_PARAM, NO_FIELD, FIELD(10, 4), XCOPY_PARAM_MAX,
	  OP_EMPTY_IS_GOOD | OP_ASYNC, spc_extended_copy, OP_PR_CONFLICT },
	/* SBC-3 5.9, 5.46: ODX. POPULATE TOKEN only reads its LU; the
	 * handlers check the token's LU themselves. IMMED is accepted and
	 * changes nothing: status follows the token or the copy. */
	ODX_ROW(ODX_SA_POPULATE_TOKEN, "POPULATE TOKEN", ODX_PT_PARAM_MAX, 0,
		sbc_populate_token, OP_PR_READ),
	ODX_ROW(ODX_SA_WRITE_USING_TOKEN, "WRITE USING TOKEN", ODX_WUT_PARAM_MAX,
		OP_WRITES_MEDIUM, sbc_write_using_token, OP_PR_CONFLICT),
	{ 0x84, 0x00, "RECEIVE COPY RESULTS: COPY STATUS", 16,
	  { 0xFF, 0x1F, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(10, 4), XCOPY_COPY_STATUS_LEN,
	  0, spc_receive_copy_status, OP_PR_ALLOWED },
	{ 0x84, 0x03, "RECEIVE COPY RESULTS: OPERATING PARAMETERS", 16,
	  { 0xFF, 0x1F, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(10, 4), XCOPY_OP_PARAMS_LEN,
	  0, spc_receive_copy_op_params, OP_PR_ALLOWED },
	/* SPC-4 6.18.6: the held results of the nexus's ODX commands. */
	{ 0x84, ODX_SA_RECEIVE_ROD_TOKEN_INFO, "RECEIVE ROD TOKEN INFORMATION", 16,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(10, 4), ODX_RRTI_RESP_MAX,
	  0, spc_receive_rod_token_info, OP_PR_ALLOWED },
	{ 0x88, NO_SA, "READ(16)", 16,
	  { 0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_READ, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_read, OP_PR_READ },
	/* SBC-4 5.3. FUA_NV and DPO are hints; WRPROTECT is not accepted. */
	{ 0x89, NO_SA, "COMPARE AND WRITE", 16,
	  { 0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0x00, 0x00, 0x00, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(13, 1), 0,
	  OP_DATA_TWICE | OP_WRITES_MEDIUM | OP_ASYNC, sbc_compare_and_write, OP_PR_CONFLICT },
	{ 0x8A, NO_SA, "WRITE(16)", 16,
	  { 0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_write, OP_PR_CONFLICT },
	/* SBC-4 5.13. ORPROTECT is not accepted; DPO and FUA_NV are hints. */
	{ 0x8B, NO_SA, "ORWRITE(16)", 16,
	  { 0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_orwrite, OP_PR_CONFLICT },
	{ 0x8E, NO_SA, "WRITE AND VERIFY(16)", 16,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(10, 4), 0,
	  WRITE_VERIFY_FLAGS, sbc_write_verify, OP_PR_CONFLICT },
	{ 0x8F, NO_SA, "VERIFY(16)", 16,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_VERIFY, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_BYTCHK | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_verify, OP_PR_READ },
	{ 0x90, NO_SA, "PRE-FETCH(16)", 16,
	  { 0xFF, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_RANGE, FIELD(2, 8), FIELD(10, 4), 0,
	  0, sbc_prefetch, OP_PR_READ },
	{ 0x91, NO_SA, "SYNCHRONIZE CACHE(16)", 16,
	  { 0xFF, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_NONE, OP_XFER_RANGE, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_ASYNC, sbc_sync_cache, OP_PR_CONFLICT },
	{ 0x93, NO_SA, "WRITE SAME(16)", 16,
	  { 0xFF, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_RANGE, FIELD(2, 8), FIELD(10, 4), 0,
	  OP_ONE_BLOCK_OUT | OP_NDOB | OP_WRITES_MEDIUM | OP_ASYNC, sbc_write_same, OP_PR_CONFLICT },
	/* SBC-4 5.48. DPO is a hint; WRPROTECT and ATOMIC BOUNDARY (no
	 * boundaries: VPD B0h's MAXIMUM ATOMIC BOUNDARY SIZE is 0) are not
	 * accepted. */
	{ 0x9C, NO_SA, "WRITE ATOMIC(16)", 16,
	  { 0xFF, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0x00, 0x00, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 8), FIELD(12, 2), 0,
	  OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC | OP_ATOMIC_ONLY, sbc_write_atomic,
	  OP_PR_CONFLICT },
	{ 0x9E, 0x10, "READ CAPACITY(16)", 16,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, FIELD(2, 8), FIELD(10, 4), 32,
	  0, sbc_read_capacity16, OP_PR_ALLOWED },
	{ 0x9E, 0x12, "GET LBA STATUS", 16,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, FIELD(2, 8), FIELD(10, 4), SBC_LBA_STATUS_RESP_MAX,
	  0, sbc_get_lba_status, OP_PR_READ },
	{ 0xA0, NO_SA, "REPORT LUNS", 12,
	  { 0xFF, 0x00, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(6, 4), 8 + 8 * SCSI_MAX_LUNS,
	  EXEMPT, spc_report_luns, OP_PR_ALLOWED },
	/* SPC-4 6.36: PARAMETER DATA FORMAT is in byte 1 bits 7:5. */
	{ 0xA3, 0x0A, "REPORT TARGET PORT GROUPS", 12,
	  { 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(6, 4), RTPG_RESP_MAX,
	  0, spc_report_target_port_groups, OP_PR_ALLOWED },
	{ 0xA3, 0x0C, "REPORT SUPPORTED OPERATION CODES", 12,
	  { 0xFF, 0x1F, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(6, 4), RSOC_RESP_MAX,
	  0, spc_report_supported_opcodes, OP_PR_ALLOWED },
	{ 0xA3, 0x0D, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", 12,
	  { 0xFF, 0x1F, 0x80, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(6, 4), 16,
	  0, spc_report_supported_tmfs, OP_PR_ALLOWED },
	{ 0xA8, NO_SA, "READ(12)", 12,
	  { 0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_READ, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(6, 4), 0,
	  OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_read, OP_PR_READ },
	{ 0xAA, NO_SA, "WRITE(12)", 12,
	  { 0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(6, 4), 0,
	  OP_WRITES_MEDIUM | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_write, OP_PR_CONFLICT },
	{ 0xAE, NO_SA, "WRITE AND VERIFY(12)", 12,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_BLOCKS, FIELD(2, 4), FIELD(6, 4), 0,
	  WRITE_VERIFY_FLAGS, sbc_write_verify, OP_PR_CONFLICT },
	{ 0xAF, NO_SA, "VERIFY(12)", 12,
	  { 0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00 },
	  SCSI_DIR_WRITE, OP_XFER_VERIFY, FIELD(2, 4), FIELD(6, 4), 0,
	  OP_BYTCHK | OP_EMPTY_IS_GOOD | OP_ASYNC, sbc_verify, OP_PR_READ },
	{ 0xB7, NO_SA, "READ DEFECT DATA(12)", 12,
	  { 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00 },
	  SCSI_DIR_READ, OP_XFER_ALLOC, NO_FIELD, FIELD(6, 4), 8,
	  0, sbc_read_defect_data, OP_PR_READ },
};

const size_t scsi_nopdefs = sizeof(scsi_opdefs) / sizeof(scsi_opdefs[0]);
/* REPORT SUPPORTED OPERATION CODES has room for every row. */
_Static_assert(sizeof(scsi_opdefs) / sizeof(scsi_opdefs[0]) <= RSOC_MAX_ENTRIES,
	       "raise RSOC_MAX_ENTRIES");

const struct scsi_opdef *scsi_opdef_find(uint8_t opcode, int service_action)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		const struct scsi_opdef *d = &scsi_opdefs[i];
		if (d->opcode == opcode && d->service_action == service_action)
			return d;
	}
	return NULL;
}

/* Per opcode, built once from the table before main: whether its rows
 * are told apart by service action, else its row. scsi_opdef_lookup runs
 * for every command, and a scan of the table twice per command cost 1% of
 * lunard's CPU for 4 KiB reads. */
static bool opcode_has_sa[256];
static const struct scsi_opdef *opcode_plain_row[256];

__attribute__((constructor)) static void opcode_index_build(void)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		const struct scsi_opdef *d = &scsi_opdefs[i];
		if (d->service_action != NO_SA)
			opcode_has_sa[d->opcode] = true;
		else if (!opcode_plain_row[d->opcode])
			opcode_plain_row[d->opcode] = d;
	}
}

bool scsi_opcode_has_service_actions(uint8_t opcode)
{
	return opcode_has_sa[opcode];
}

bool scsi_opdef_served(const struct scsi_opdef *op, const struct scsi_lu *lu)
{
	if (!lu)
		return true;
	if ((op->flags & OP_THIN_ONLY) && !sbc_lu_is_thin(lu))
		return false;
	return !(op->flags & OP_ATOMIC_ONLY) || sbc_lu_has_atomic_write(lu);
}

enum sense_reason scsi_opdef_not_served(const struct scsi_opdef *op, struct scsi_sense_detail *detail)
{
	if (op->service_action != NO_SA)
		return scsi_invalid_cdb_field(detail, OP_SA_BYTE, 4);
	return SENSE_INVALID_OPCODE;
}

enum sense_reason scsi_opdef_lookup(const uint8_t *cdb, const struct scsi_opdef **op,
				    struct scsi_sense_detail *detail)
{
	if (scsi_opcode_has_service_actions(cdb[0])) {
		*op = scsi_opdef_find(cdb[0], cdb[OP_SA_BYTE] & OP_SA_MASK);
		if (!*op)
			return scsi_invalid_cdb_field(detail, OP_SA_BYTE, 4);
		return SENSE_NONE;
	}
	*op = opcode_plain_row[cdb[0]];
	return *op ? SENSE_NONE : SENSE_INVALID_OPCODE;
}

enum sense_reason scsi_invalid_cdb_field(struct scsi_sense_detail *detail, unsigned byte,
					 int bit)
{
	detail->field_valid = true;
	detail->in_cdb = true;
	detail->field = (uint16_t)byte;
	detail->bit = (int8_t)bit;
	return SENSE_INVALID_FIELD_IN_CDB;
}

enum sense_reason scsi_invalid_param_field(struct scsi_sense_detail *detail, unsigned byte,
					   int bit)
{
	scsi_invalid_cdb_field(detail, byte, bit);
	detail->in_cdb = false;
	return SENSE_INVALID_FIELD_IN_PARAM_LIST;
}

enum sense_reason scsi_cdb_check_usage(const struct scsi_opdef *op, const uint8_t *cdb,
				       struct scsi_sense_detail *detail)
{
	for (unsigned i = 1; i < op->cdb_len; i++) {
		uint8_t bad = cdb[i] & (uint8_t)~op->usage[i];
		if (bad) {
			/* SPC-4 4.5.2.4.2: point at the left-most bit in error. */
			int bit = 7;
			while (!(bad & (1u << bit)))
				bit--;
			return scsi_invalid_cdb_field(detail, i, bit);
		}
	}
	return SENSE_NONE;
}
