/* Session snapshots gathered over loops: one message out to each loop,
 * one back to the control loop with that loop's copies. */
#include "iscsi/session_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "util/macros.h"

struct gather;

/* One loop's share: asked by `ask`, answered by `back`. */
struct gather_part {
	struct loop_msg ask, back;
	struct gather *g;
	struct loop *loop;
	int thread;
	struct iscsi_session_info *v;
	size_t n, cap;
	bool oom;
};

struct gather {
	struct loop *control;
	iscsi_session_list_done done;
	void *arg;
	unsigned pending;
	unsigned nparts;
	struct gather_part parts[];  /* [0] is the control loop's */
};

static void copy_conn(struct iscsi_conn_info *ci, const struct iscsi_conn *c)
{
	ci->cid = c->cid;
	snprintf(ci->peer, sizeof(ci->peer), "%s", c->peer_text);
	addr_format((const struct sockaddr *)&c->local, addr_port((const struct sockaddr *)&c->local), ci->local,
		    sizeof(ci->local));
	ci->header_digest = c->params.header_digest;
	ci->data_digest = c->params.data_digest;
	ci->max_recv_dsl = c->params.max_recv_dsl;
	ci->max_send_dsl = c->params.max_send_dsl;
}

/* Under the table's lock, on s's loop: its identity never changes after
 * login, its connection list changes only under that lock, and its
 * counters belong to this loop. */
static void collect(const struct iscsi_session *s, void *arg)
{
	struct gather_part *p = arg;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct iscsi_session_info *v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			p->oom = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	struct iscsi_session_info *si = &p->v[p->n++];
	memset(si, 0, sizeof(*si));
	si->tsih = s->tsih;
	memcpy(si->isid, s->isid, sizeof(si->isid));
	snprintf(si->initiator, sizeof(si->initiator), "%s", s->initiator_name);
	snprintf(si->target, sizeof(si->target), "%s", s->target_name);
	snprintf(si->chap_user, sizeof(si->chap_user), "%s", s->chap_user);
	si->discovery = s->discovery;
	si->thread = p->thread;
	si->params = s->params;
	si->exp_cmdsn = s->exp_cmdsn;
	si->max_cmdsn = s->max_cmdsn;
	si->tasks = s->ntasks;
	si->active = s->active;
	for (const struct iscsi_conn *c = s->conns; c; c = c->session_next) {
		if (si->nconns < ISCSI_SESSION_INFO_CONNS)
			copy_conn(&si->conns[si->nconns], c);
		si->nconns++;
	}
}

static void gather_finish(struct gather *g)
{
	struct iscsi_session_list list = { 0 };
	int err = 0;
	size_t total = 0;
	for (unsigned i = 0; i < g->nparts; i++) {
		total += g->parts[i].n;
		err = g->parts[i].oom ? -ENOMEM : err;
	}
	if (!err && total) {
		list.v = malloc(total * sizeof(*list.v));
		err = list.v ? 0 : -ENOMEM;
	}
	for (unsigned i = 0; i < g->nparts; i++) {
		struct gather_part *p = &g->parts[i];
		if (!err && p->n) {
			memcpy(list.v + list.n, p->v, p->n * sizeof(*p->v));
			list.n += p->n;
		}
		free(p->v);
	}
	iscsi_session_list_done done = g->done;
	void *arg = g->arg;
	free(g);
	done(&list, err, arg);
}

static void on_back(struct loop_msg *msg)
{
	struct gather_part *p = container_of(msg, struct gather_part, back);
	struct gather *g = p->g;
	if (--g->pending == 0)
		gather_finish(g);
}

static void on_ask(struct loop_msg *msg)
{
	struct gather_part *p = container_of(msg, struct gather_part, ask);
	iscsi_session_foreach_on(p->loop, collect, p);
	loop_post(p->g->control, &p->back);
}

int iscsi_session_list_gather(struct loop *control, struct loop *const *loops, unsigned nloops,
			      iscsi_session_list_done done, void *arg)
{
	struct gather *g = calloc(1, sizeof(*g) + (nloops + 1) * sizeof(g->parts[0]));
	if (!g)
		return -ENOMEM;
	*g = (struct gather){ .control = control, .done = done, .arg = arg, .pending = nloops + 1, .nparts = nloops + 1 };
	for (unsigned i = 0; i <= nloops; i++) {
		struct gather_part *p = &g->parts[i];
		*p = (struct gather_part){ .g = g, .loop = i ? loops[i - 1] : control, .thread = (int)i - 1 };
		p->ask.fn = on_ask;
		p->back.fn = on_back;
	}
	/* The answers come back to this thread's loop, so none is counted
	 * before the control loop's own share below. */
	for (unsigned i = 1; i <= nloops; i++)
		loop_post(loops[i - 1], &g->parts[i].ask);
	iscsi_session_foreach_on(control, collect, &g->parts[0]);
	if (--g->pending == 0)
		gather_finish(g);
	return 0;
}

void iscsi_session_list_free(struct iscsi_session_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
