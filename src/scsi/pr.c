#include "scsi/pr.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scsi/handlers.h"
#include "scsi/pr_file.h"
#include "scsi/pr_state.h"
#include "scsi/pr_tpid.h"
#include "scsi/task.h"
#include "util/be.h"
#include "util/log.h"
#include "util/macros.h"

/* SPC-4 6.15.1 table 197 */
enum pr_in_sa {
	PR_IN_READ_KEYS = 0x00,
	PR_IN_READ_RESERVATION = 0x01,
	PR_IN_REPORT_CAPABILITIES = 0x02,
	PR_IN_READ_FULL_STATUS = 0x03,
};

#define PR_SCOPE_LU 0x0

int scsi_pr_init(struct scsi_lu *lu, const char *state_dir, const char *target_name)
{
	char path[4096];
	if (state_dir && pr_file_path(path, sizeof(path), state_dir, target_name, lu->lun) < 0)
		return -ENAMETOOLONG;
	lu->pr = malloc(sizeof(*lu->pr));
	lu->pr_path = state_dir ? strdup(path) : NULL;
	if (!lu->pr || (state_dir && !lu->pr_path)) {
		free(lu->pr);
		free(lu->pr_path);
		return -ENOMEM;
	}
	pr_state_init(lu->pr);
	/* SPC-4 5.12.4: what APTPL kept comes back with the LU. */
	if (lu->pr_path && pr_file_load(lu->pr_path, lu->pr) == 0)
		log_info("target %s LUN %u: %u persistent reservation registrations restored",
			 target_name, lu->lun, lu->pr->nregs);
	pthread_mutex_init(&lu->pr_lock, NULL);
	scsi_pr_update_flag(lu);
	return 0;
}

void scsi_pr_fini(struct scsi_lu *lu)
{
	pthread_mutex_destroy(&lu->pr_lock);
	free(lu->pr);
	free(lu->pr_path);
	lu->pr = NULL;
	lu->pr_path = NULL;
}

static struct pr_id pr_id_of(const struct scsi_nexus *nexus)
{
	return (struct pr_id){ nexus->initiator_port, nexus->rel_port };
}

void scsi_pr_update_flag(struct scsi_lu *lu)
{
	atomic_store_explicit(&lu->pr_reserved, lu->pr->type != PR_TYPE_NONE || lu->spc2_holder,
			      memory_order_relaxed);
}

/* SPC-2 5.5.1: another nexus's RESERVE leaves it only the allowed commands. */
static bool pr_spc2_refuses(const struct scsi_lu *lu, const struct scsi_nexus *nexus)
{
	return lu->spc2_holder && lu->spc2_holder != nexus;
}

bool scsi_pr_conflicts_locked(struct scsi_lu *lu, const struct scsi_nexus *nexus,
			      enum op_pr access)
{
	struct pr_id id = pr_id_of(nexus);
	pthread_mutex_lock(&lu->pr_lock);
	bool conflict = pr_spc2_refuses(lu, nexus) || pr_state_conflicts(lu->pr, &id, access);
	pthread_mutex_unlock(&lu->pr_lock);
	return conflict;
}

/* SPC-4 6.15.5: one descriptor per registration. */
static size_t pr_full_status(const struct pr_state *s, uint8_t *resp)
{
	size_t len = 8;
	for (unsigned i = 0; i < s->nregs; i++) {
		const struct pr_reg *reg = &s->regs[i];
		size_t tid = pr_tpid_len(reg->initiator);
		uint8_t *d = resp + len;
		memset(d, 0, 24);
		be64_put(d, reg->key);
		struct pr_id id = { reg->initiator, reg->rel_port };
		if (pr_state_is_holder(s, &id)) {
			d[12] = 0x01;
			d[13] = (uint8_t)(PR_SCOPE_LU << 4 | s->type);
		}
		be16_put(d + 18, reg->rel_port);
		be32_put(d + 20, (uint32_t)tid);
		pr_tpid_put(d + 24, reg->initiator);
		len += 24 + tid;
	}
	return len;
}

static size_t pr_in_build(const struct pr_state *s, unsigned sa, bool ptpl_c, uint8_t *resp)
{
	be32_put(resp, s->generation);
	size_t len = 8;
	switch (sa) {
	case PR_IN_READ_KEYS:
		for (unsigned i = 0; i < s->nregs; i++, len += 8)
			be64_put(resp + len, s->regs[i].key);
		break;
	case PR_IN_READ_RESERVATION:
		if (s->type == PR_TYPE_NONE)
			break;
		memset(resp + 8, 0, 16);
		/* SPC-4 6.15.3: with an all-registrants type the key is 0. */
		if (s->type != PR_TYPE_WE_AR && s->type != PR_TYPE_EA_AR)
			be64_put(resp + 8, s->regs[s->holder].key);
		resp[21] = (uint8_t)(PR_SCOPE_LU << 4 | s->type);
		len += 16;
		break;
	case PR_IN_REPORT_CAPABILITIES:
		/* SPC-4 6.15.4: SIP_C, ATP_C (ALL_TG_PT registers through
		 * every portal group of the target), PTPL_C when the LU has a
		 * state directory, PTPL_A, TMV with the six types. */
		memset(resp, 0, 8);
		be16_put(resp, 8);
		resp[2] = (uint8_t)(0x08 | 0x04 | ptpl_c);
		resp[3] = (uint8_t)(0x80 | s->aptpl);
		resp[4] = 0xEA;
		resp[5] = 0x01;
		return 8;
	case PR_IN_READ_FULL_STATUS:
		len = pr_full_status(s, resp);
		break;
	}
	be32_put(resp + 4, (uint32_t)(len - 8));
	return len;
}

/* SPC-4 6.15 */
enum sense_reason spc_pr_in(struct scsi_task *task)
{
	uint8_t *resp = malloc(PR_IN_RESP_MAX);
	if (!resp)
		return SENSE_INTERNAL_TARGET_FAILURE;
	struct scsi_lu *lu = task->lu;
	pthread_mutex_lock(&lu->pr_lock);
	if (pr_spc2_refuses(lu, task->nexus)) {
		pthread_mutex_unlock(&lu->pr_lock);
		free(resp);
		return SENSE_RESERVATION_CONFLICT;
	}
	size_t len = pr_in_build(lu->pr, task->cdb[1] & OP_SA_MASK, lu->pr_path != NULL, resp);
	pthread_mutex_unlock(&lu->pr_lock);
	scsi_task_reply(task, resp, len);
	free(resp);
	return SENSE_NONE;
}

struct pr_event_ctx {
	struct scsi_lu *lu;
	struct scsi_target *target;
	/* PREEMPT AND ABORT: the registrations it preempted (NULL: others) */
	struct pr_reg *preempted;
	unsigned npreempted;
	/* the unit attentions the change owes each registration it touched,
	 * delivered only once the change has been kept (pr_events_deliver);
	 * one more than PR_MAX_REGS for REGISTER AND MOVE's new one */
	struct pr_reg told[PR_MAX_REGS + 1];
	uint32_t told_ua[PR_MAX_REGS + 1];
	unsigned ntold;
};

static const enum scsi_ua pr_event_ua[] = {
	[PR_EV_RESERVATIONS_PREEMPTED] = SCSI_UA_RESERVATIONS_PREEMPTED,
	[PR_EV_RESERVATIONS_RELEASED] = SCSI_UA_RESERVATIONS_RELEASED,
	[PR_EV_REGISTRATIONS_PREEMPTED] = SCSI_UA_REGISTRATIONS_PREEMPTED,
};

static bool pr_reg_same(const struct pr_reg *a, const struct pr_reg *b)
{
	return a->rel_port == b->rel_port && strcasecmp(a->initiator, b->initiator) == 0;
}

/* Notes the unit attention reg's nexuses are owed. */
static void pr_event_note(const struct pr_reg *reg, enum pr_event ev, void *arg)
{
	struct pr_event_ctx *ctx = arg;
	if (ctx->preempted && ev == PR_EV_REGISTRATIONS_PREEMPTED)
		ctx->preempted[ctx->npreempted++] = *reg;
	unsigned i = 0;
	while (i < ctx->ntold && !pr_reg_same(&ctx->told[i], reg))
		i++;
	if (i == ctx->ntold) {
		/* Each registration is noted once, and there are no more. */
		if (i == ARRAY_SIZE(ctx->told))
			return;
		ctx->told[i] = *reg;
		ctx->told_ua[i] = 0;
		ctx->ntold++;
	}
	ctx->told_ua[i] |= (uint32_t)pr_event_ua[ev];
}

/* Each unit attention goes to every I_T nexus of its registration. */
static void pr_events_deliver(const struct pr_event_ctx *ctx)
{
	pthread_mutex_lock(&ctx->target->lock);
	for (struct scsi_nexus *n = ctx->target->nexuses; n; n = n->next)
		for (unsigned i = 0; i < ctx->ntold; i++)
			if (n->rel_port == ctx->told[i].rel_port &&
			    strcasecmp(n->initiator_port, ctx->told[i].initiator) == 0)
				atomic_fetch_or(&n->ua[ctx->lu->lun], ctx->told_ua[i]);
	pthread_mutex_unlock(&ctx->target->lock);
}

/* The initiator ports a PERSISTENT RESERVE OUT names (TransportIDs). */
struct pr_out_ports {
	char port[PR_MAX_REGS][PR_PORT_NAME_MAX + 1];
};

/* SPC-4 6.16.3: SPEC_I_PT's TransportIDs, from byte 28 on. */
static enum sense_reason pr_out_decode_ports(struct scsi_task *task, size_t len,
					     struct pr_out *out, struct pr_out_ports *ports)
{
	const uint8_t *p = task->buf;
	if (len < 28 || 28 + (uint64_t)be32_get(p + 24) != len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	size_t off = 28;
	while (off < len) {
		if (out->nports == PR_MAX_REGS)
			return SENSE_INSUFFICIENT_REGISTRATION_RESOURCES;
		long used = pr_tpid_parse(p + off, len - off, ports->port[out->nports],
					  sizeof(ports->port[0]));
		if (used < 0)
			return scsi_invalid_param_field(&task->detail, (unsigned)off, -1);
		out->nports++;
		off += (size_t)used;
	}
	out->ports = (const char (*)[PR_PORT_NAME_MAX + 1])ports->port;
	return SENSE_NONE;
}

/* Whether rel_port is a port of nexus's target (its own when the target
 * lists none). Takes the target's lock, which may follow pr_lock. */
static bool pr_target_has_port(const struct scsi_nexus *nexus, uint16_t rel_port)
{
	struct scsi_target *t = nexus->target;
	bool found = rel_port == nexus->rel_port;
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->nports && !found; i++)
		found = t->ports[i] == rel_port;
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* SPC-4 6.16.4: REGISTER AND MOVE's own parameter list. */
static enum sense_reason pr_out_decode_move(struct scsi_task *task, size_t len,
					    struct pr_out *out, struct pr_out_ports *ports)
{
	const uint8_t *p = task->buf;
	enum { UNREG = 0x02, APTPL = 0x01 };
	if (24 + (uint64_t)be32_get(p + 20) != len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	out->unreg = p[17] & UNREG;
	out->aptpl = p[17] & APTPL;
	/* SPC-4 6.16.4: the RELATIVE TARGET PORT IDENTIFIER names a port of
	 * this target; the I_T nexus moved to is reached through it. */
	if (!pr_target_has_port(task->nexus, be16_get(p + 18)))
		return scsi_invalid_param_field(&task->detail, 18, -1);
	if (pr_tpid_parse(p + 24, len - 24, ports->port[0], sizeof(ports->port[0])) < 0)
		return scsi_invalid_param_field(&task->detail, 24, -1);
	out->move_to = (struct pr_id){ ports->port[0], be16_get(p + 18) };
	return SENSE_NONE;
}

static enum sense_reason pr_out_decode(struct scsi_task *task, struct pr_out *out,
				       struct pr_out_ports *ports)
{
	const uint8_t *p = task->buf;
	enum { SPEC_I_PT = 0x08, ALL_TG_PT = 0x04, APTPL = 0x01 };
	size_t len = scsi_task_data_out_sent(task);
	if (len < PR_OUT_PARAM_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	memset(out, 0, sizeof(*out));
	out->service_action = task->cdb[1] & OP_SA_MASK;
	out->type = (enum pr_type)(task->cdb[2] & 0x0F);
	out->key = be64_get(p);
	out->sa_key = be64_get(p + 8);
	bool typed = out->service_action == PR_OUT_RESERVE ||
		     out->service_action == PR_OUT_RELEASE ||
		     out->service_action == PR_OUT_PREEMPT ||
		     out->service_action == PR_OUT_PREEMPT_AND_ABORT;
	if (typed && (task->cdb[2] >> 4) != PR_SCOPE_LU)
		return scsi_invalid_cdb_field(&task->detail, 2, 7);
	enum sense_reason r;
	if (out->service_action == PR_OUT_REGISTER_AND_MOVE) {
		r = pr_out_decode_move(task, len, out, ports);
	} else {
		out->all_tg_pt = p[20] & ALL_TG_PT;
		out->aptpl = p[20] & APTPL;
		out->spec_i_pt = p[20] & SPEC_I_PT;
		bool registers = out->service_action == PR_OUT_REGISTER ||
				 out->service_action == PR_OUT_REGISTER_IGNORE;
		if (out->spec_i_pt && !registers)
			return scsi_invalid_param_field(&task->detail, 20, 3);
		r = out->spec_i_pt ? pr_out_decode_ports(task, len, out, ports)
		    : len == PR_OUT_PARAM_LEN ? SENSE_NONE : SENSE_PARAM_LIST_LENGTH_ERROR;
	}
	if (r != SENSE_NONE)
		return r;
	/* APTPL needs a state directory. */
	if (out->aptpl && !task->lu->pr_path)
		return out->service_action == PR_OUT_REGISTER_AND_MOVE
		       ? scsi_invalid_param_field(&task->detail, 17, 0)
		       : scsi_invalid_param_field(&task->detail, 20, 0);
	return SENSE_NONE;
}

/* What PREEMPT AND ABORT waits for: the tasks of the nexuses it
 * preempted, which the list names (read on their loops until done). */
struct pr_abort {
	struct scsi_task *task;
	struct pr_event_ctx ctx;
	struct pr_reg preempted[PR_MAX_REGS];
};

static bool pr_abort_match(const struct scsi_nexus *n, void *arg)
{
	const struct pr_abort *a = arg;
	for (unsigned i = 0; i < a->ctx.npreempted; i++)
		if (a->preempted[i].rel_port == n->rel_port &&
		    strcasecmp(a->preempted[i].initiator, n->initiator_port) == 0)
			return true;
	return false;
}

static void pr_abort_done(void *arg)
{
	struct pr_abort *a = arg;
	struct scsi_task *task = a->task;
	free(a);
	scsi_task_finish(task, SENSE_NONE);
}

/* SPC-4 5.12.11.4.5: the preempted nexuses' tasks for this LU are
 * aborted as a LOGICAL UNIT RESET would (SAM-5 7.6), and the command
 * completes after them; the preempted nexuses learn of it from their
 * unit attention REGISTRATIONS PREEMPTED. */
static void pr_abort_start(struct scsi_task *task, struct pr_abort *a)
{
	int lun = scsi_lun_decode(task->lun_raw);
	if (a->ctx.npreempted == 0 ||
	    scsi_lu_abort_nexuses(task->nexus, (uint16_t)lun, pr_abort_match, a, pr_abort_done,
				  a) < 0) {
		if (a->ctx.npreempted)
			log_warn("target %s LUN %u: PREEMPT AND ABORT: out of memory, tasks of "
				 "the preempted nexuses were not aborted",
				 task->nexus->target->name, task->lu->lun);
		free(a);
		scsi_task_finish_later(task, SENSE_NONE);
	}
}

/* SPC-4 5.12.4: with APTPL, a PERSISTENT RESERVE OUT's new state is on
 * stable storage before it takes effect and the command completes. The
 * file is written by the saver thread (write, fsync, rename, fsync of the
 * directory), so no loop waits for the disk. Until the save is done the
 * LU keeps its old state, which every other command sees; no unit
 * attention is owed yet; later PERSISTENT RESERVE OUT commands wait
 * (lu->pr_waiters), since they must act on the new state; RESERVE and
 * RELEASE are refused as while registrations exist. A save that fails
 * leaves the old state, in memory and in the file, and the command gets
 * INTERNAL TARGET FAILURE. */
struct pr_save {
	struct scsi_task *task;
	struct pr_abort *abort;     /* PREEMPT AND ABORT's, or NULL */
	struct pr_event_ctx ctx;    /* the others' events */
	struct pr_state after;      /* the state to save, then to take effect */
	bool remove;                /* APTPL 0 now: the file goes */
	int ret;
	struct loop_msg msg;        /* to the task's loop: saved, or run again */
	struct pr_save *next;       /* in the saver's queue or lu->pr_waiters */
};

static pthread_mutex_t saver_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t saver_cv = PTHREAD_COND_INITIALIZER;
static struct pr_save *saver_head, *saver_tail;
static pthread_once_t saver_once = PTHREAD_ONCE_INIT;
static bool saver_running;

static void *pr_saver_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&saver_mu);
		while (!saver_head)
			pthread_cond_wait(&saver_cv, &saver_mu);
		struct pr_save *s = saver_head;
		saver_head = s->next;
		if (!saver_head)
			saver_tail = NULL;
		pthread_mutex_unlock(&saver_mu);
		const char *path = s->task->lu->pr_path;
		s->ret = s->remove ? pr_file_remove(path) : pr_file_save(path, &s->after);
		loop_post(s->task->loop, &s->msg);
	}
	return NULL;
}

/* One thread for every LU's saves, started at the first; it lives as long
 * as the process and holds nothing between saves. */
static void pr_saver_start(void)
{
	pthread_t t;
	saver_running = pthread_create(&t, NULL, pr_saver_main, NULL) == 0;
	if (saver_running)
		pthread_detach(t);
	else
		log_warn("scsi: no thread for APTPL saves: they run on the data-plane threads");
}

static void pr_saver_submit(struct pr_save *s)
{
	pthread_once(&saver_once, pr_saver_start);
	if (!saver_running) {
		const char *path = s->task->lu->pr_path;
		s->ret = s->remove ? pr_file_remove(path) : pr_file_save(path, &s->after);
		loop_post(s->task->loop, &s->msg);
		return;
	}
	s->next = NULL;
	pthread_mutex_lock(&saver_mu);
	if (saver_tail)
		saver_tail->next = s;
	else
		saver_head = s;
	saver_tail = s;
	pthread_cond_signal(&saver_cv);
	pthread_mutex_unlock(&saver_mu);
}

static struct pr_event_ctx *pr_save_ctx(struct pr_save *s)
{
	return s->abort ? &s->abort->ctx : &s->ctx;
}

/* The change took effect: PREEMPT AND ABORT goes on to abort, the others
 * are done. */
static void pr_out_done(struct pr_save *s)
{
	if (s->abort)
		pr_abort_start(s->task, s->abort);
	else
		scsi_task_finish_later(s->task, SENSE_NONE);
	free(s);
}

static void pr_out_run_again(struct loop_msg *msg);

/* On the task's loop, once the saver is done with s. */
static void pr_save_done(struct loop_msg *msg)
{
	struct pr_save *s = container_of(msg, struct pr_save, msg);
	struct scsi_lu *lu = s->task->lu;
	pthread_mutex_lock(&lu->pr_lock);
	if (s->ret == 0) {
		*lu->pr = s->after;
		pr_events_deliver(pr_save_ctx(s));
	}
	lu->pr_save = NULL;
	struct pr_save *waiters = lu->pr_waiters;
	lu->pr_waiters = NULL;
	scsi_pr_update_flag(lu);
	pthread_mutex_unlock(&lu->pr_lock);
	for (struct pr_save *w = waiters, *next; w; w = next) {
		next = w->next;
		w->msg.fn = pr_out_run_again;
		loop_post(w->task->loop, &w->msg);
	}
	if (s->ret == 0) {
		pr_out_done(s);
		return;
	}
	scsi_task_finish(s->task, SENSE_INTERNAL_TARGET_FAILURE);
	free(s->abort);
	free(s);
}

static void pr_save_wait(struct scsi_lu *lu, struct pr_save *s)
{
	struct pr_save **at = &lu->pr_waiters;
	while (*at)
		at = &(*at)->next;
	s->next = NULL;
	*at = s;
}

static enum sense_reason pr_out_apply(struct scsi_task *task, const struct pr_out *out)
{
	struct scsi_lu *lu = task->lu;
	struct pr_id id = pr_id_of(task->nexus);
	bool abort = out->service_action == PR_OUT_PREEMPT_AND_ABORT;
	struct pr_save *s = calloc(1, sizeof(*s));
	struct pr_abort *a = abort ? calloc(1, sizeof(*a)) : NULL;
	if (!s || (abort && !a)) {
		free(s);
		free(a);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	s->task = task;
	s->abort = a;
	struct pr_event_ctx *ctx = pr_save_ctx(s);
	*ctx = (struct pr_event_ctx){ .lu = lu, .target = task->nexus->target };
	if (abort) {
		a->task = task;
		ctx->preempted = a->preempted;
	}
	pthread_mutex_lock(&lu->pr_lock);
	if (lu->pr_save) {
		pr_save_wait(lu, s);
		pthread_mutex_unlock(&lu->pr_lock);
		free(a);
		s->abort = NULL;
		return SENSE_NONE;
	}
	s->after = *lu->pr;
	enum sense_reason r = pr_spc2_refuses(lu, task->nexus)
			      ? SENSE_RESERVATION_CONFLICT
			      : pr_state_out(&s->after, &id, out, pr_event_note, ctx);
	bool save = r == SENSE_NONE && lu->pr_path && (s->after.aptpl || lu->pr->aptpl);
	if (save) {
		s->remove = !s->after.aptpl;
		s->msg.fn = pr_save_done;
		lu->pr_save = s;
	} else if (r == SENSE_NONE) {
		*lu->pr = s->after;
		pr_events_deliver(ctx);
	}
	scsi_pr_update_flag(lu);
	pthread_mutex_unlock(&lu->pr_lock);
	if (save) {
		pr_saver_submit(s);
		return SENSE_NONE;
	}
	if (r == SENSE_NONE) {
		pr_out_done(s);
		return SENSE_NONE;
	}
	free(a);
	free(s);
	return r;
}

/* SPC-4 6.16. OP_ASYNC: on success the task completes once the change has
 * taken effect (after its APTPL save, and for PREEMPT AND ABORT after the
 * aborted tasks). */
enum sense_reason spc_pr_out(struct scsi_task *task)
{
	struct pr_out out;
	struct pr_out_ports *ports = malloc(sizeof(*ports));
	if (!ports)
		return SENSE_INTERNAL_TARGET_FAILURE;
	enum sense_reason r = pr_out_decode(task, &out, ports);
	/* ALL_TG_PT: the target's ports, as the configuration has them now. */
	struct scsi_target *t = task->nexus->target;
	uint16_t tg_ports[SCSI_MAX_PORTS];
	pthread_mutex_lock(&t->lock);
	out.ntg_ports = t->nports;
	if (t->nports)
		memcpy(tg_ports, t->ports, t->nports * sizeof(*tg_ports));
	pthread_mutex_unlock(&t->lock);
	out.tg_ports = tg_ports;
	if (r == SENSE_NONE)
		r = pr_out_apply(task, &out);
	free(ports);
	return r;
}


/* A PERSISTENT RESERVE OUT that waited for another's save runs again, from
 * its parameter list, against the state that save left. */
static void pr_out_run_again(struct loop_msg *msg)
{
	struct pr_save *w = container_of(msg, struct pr_save, msg);
	struct scsi_task *task = w->task;
	free(w);
	/* Aborted while it waited: it has changed nothing yet, and must not
	 * start now that its initiator was told it is gone. */
	if (task->aborted) {
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	enum sense_reason r = spc_pr_out(task);
	if (r != SENSE_NONE)
		scsi_task_finish(task, r);
}
