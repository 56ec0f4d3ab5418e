/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36): the functions
 * the transport maps to the core's task-set API (handle_tmf in
 * src/iscsi/ffp.c), so an initiator can learn them without trying. */
#include "scsi/handlers.h"
#include "scsi/task.h"

/* SPC-4 6.36.2: byte 0 */
#define RSTMF_ATS 0x80    /* ABORT TASK */
#define RSTMF_ATSS 0x40   /* ABORT TASK SET */
#define RSTMF_CACAS 0x20  /* CLEAR ACA */
#define RSTMF_CTSS 0x10   /* CLEAR TASK SET */
#define RSTMF_LURS 0x08   /* LOGICAL UNIT RESET */
#define RSTMF_QTS 0x04    /* QUERY TASK */
/* byte 1 */
#define RSTMF_QAES 0x04   /* QUERY ASYNCHRONOUS EVENT */
#define RSTMF_QTSS 0x02   /* QUERY TASK SET */
#define RSTMF_ITNRS 0x01  /* I_T NEXUS RESET */

#define RSTMF_CDB_REPD 0x80
/* With REPD set, the extended parameter data: 16 bytes, its byte 3 the
 * length after it. TMFTMOV 0: no timeouts are given. */
#define RSTMF_LEN 4
#define RSTMF_EXT_LEN 16

enum sense_reason spc_report_supported_tmfs(struct scsi_task *task)
{
	uint8_t resp[RSTMF_EXT_LEN] = {
		RSTMF_ATS | RSTMF_ATSS | RSTMF_CACAS | RSTMF_CTSS | RSTMF_LURS | RSTMF_QTS,
		RSTMF_QAES | RSTMF_QTSS | RSTMF_ITNRS,
	};
	bool repd = task->cdb[2] & RSTMF_CDB_REPD;
	if (repd)
		resp[3] = RSTMF_EXT_LEN - RSTMF_LEN;
	scsi_task_reply(task, resp, repd ? RSTMF_EXT_LEN : RSTMF_LEN);
	return SENSE_NONE;
}
