#include "scsi/pr_state.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void pr_state_init(struct pr_state *s)
{
	memset(s, 0, sizeof(*s));
	s->holder = -1;
}

static bool pr_type_all_registrants(enum pr_type t)
{
	return t == PR_TYPE_WE_AR || t == PR_TYPE_EA_AR;
}

static bool pr_type_registrants(enum pr_type t)
{
	return t == PR_TYPE_WE_RO || t == PR_TYPE_EA_RO || pr_type_all_registrants(t);
}

static bool pr_type_exclusive_access(enum pr_type t)
{
	return t == PR_TYPE_EA || t == PR_TYPE_EA_RO || t == PR_TYPE_EA_AR;
}

static bool pr_type_valid(enum pr_type t)
{
	return t == PR_TYPE_WE || t == PR_TYPE_EA || pr_type_registrants(t);
}

bool pr_state_valid(const struct pr_state *s)
{
	for (unsigned i = 0; i < s->nregs; i++) {
		struct pr_id id = { s->regs[i].initiator, s->regs[i].rel_port };
		if (pr_state_find(s, &id) != (int)i)
			return false;
	}
	if (s->type == PR_TYPE_NONE)
		return s->holder == -1;
	if (!pr_type_valid(s->type) || s->nregs == 0)
		return false;
	return pr_type_all_registrants(s->type) || (s->holder >= 0 && (unsigned)s->holder < s->nregs);
}

int pr_state_find(const struct pr_state *s, const struct pr_id *id)
{
	for (unsigned i = 0; i < s->nregs; i++)
		/* iSCSI names compare without ASCII case (RFC 3722). */
		if (s->regs[i].rel_port == id->rel_port &&
		    strcasecmp(s->regs[i].initiator, id->initiator) == 0)
			return (int)i;
	return -1;
}

static bool pr_index_holds(const struct pr_state *s, int r)
{
	if (r < 0 || s->type == PR_TYPE_NONE)
		return false;
	return pr_type_all_registrants(s->type) || s->holder == r;
}

bool pr_state_is_holder(const struct pr_state *s, const struct pr_id *id)
{
	return pr_index_holds(s, pr_state_find(s, id));
}

bool pr_state_conflicts(const struct pr_state *s, const struct pr_id *id, enum op_pr access)
{
	if (s->type == PR_TYPE_NONE || access == OP_PR_ALLOWED)
		return false;
	int r = pr_state_find(s, id);
	/* SPC-4 5.12.1: the holder, and with a registrants type every
	 * registrant, may do anything. */
	if (pr_index_holds(s, r) || (r >= 0 && pr_type_registrants(s->type)))
		return false;
	if (access == OP_PR_READ)
		return pr_type_exclusive_access(s->type);
	return true;
}

static void pr_release(struct pr_state *s)
{
	s->type = PR_TYPE_NONE;
	s->holder = -1;
}

/* Tells every registrant but self (-1: none) about ev. */
static void pr_tell_others(const struct pr_state *s, int self, enum pr_event ev,
			   pr_event_fn fn, void *arg)
{
	for (unsigned i = 0; i < s->nregs; i++)
		if ((int)i != self)
			fn(&s->regs[i], ev, arg);
}

/* SPC-4 5.12.11.2.2: a released reservation of a registrants type is
 * reported to the other registrants. */
static void pr_release_told(struct pr_state *s, int self, pr_event_fn fn, void *arg)
{
	if (pr_type_registrants(s->type))
		pr_tell_others(s, self, PR_EV_RESERVATIONS_RELEASED, fn, arg);
	pr_release(s);
}

/* Removes registration r; the last one goes into its slot. Returns the
 * new index of the registration that was at keep (or -1 if it was r). */
static int pr_remove(struct pr_state *s, int r, int keep)
{
	if (s->holder == r && !pr_type_all_registrants(s->type))
		pr_release(s);
	unsigned last = s->nregs - 1;
	if ((unsigned)r != last) {
		s->regs[r] = s->regs[last];
		if (s->holder == (int)last)
			s->holder = r;
	}
	s->nregs--;
	if (s->nregs == 0)
		pr_release(s);
	if (keep == r)
		return -1;
	return keep == (int)last ? r : keep;
}

static void pr_add(struct pr_state *s, const struct pr_id *id, uint64_t key)
{
	struct pr_reg *reg = &s->regs[s->nregs++];
	snprintf(reg->initiator, sizeof(reg->initiator), "%s", id->initiator);
	reg->rel_port = id->rel_port;
	reg->key = key;
}

/* SPC-4 5.12.7: SPEC_I_PT registers the sender and every initiator port
 * named, through the same target port, all or none. */
static enum sense_reason pr_register_ports(struct pr_state *s, const struct pr_id *id, int r,
					   const struct pr_out *out)
{
	if (out->service_action != PR_OUT_REGISTER || r >= 0 || out->sa_key == 0)
		return SENSE_INVALID_FIELD_IN_PARAM_LIST;
	if (s->nregs + 1 + out->nports > PR_MAX_REGS)
		return SENSE_INSUFFICIENT_REGISTRATION_RESOURCES;
	for (unsigned i = 0; i < out->nports; i++) {
		struct pr_id other = { out->ports[i], id->rel_port };
		if (pr_state_find(s, &other) >= 0 || strcasecmp(out->ports[i], id->initiator) == 0)
			return SENSE_INVALID_FIELD_IN_PARAM_LIST;
		for (unsigned j = 0; j < i; j++)
			if (strcasecmp(out->ports[i], out->ports[j]) == 0)
				return SENSE_INVALID_FIELD_IN_PARAM_LIST;
	}
	pr_add(s, id, out->sa_key);
	for (unsigned i = 0; i < out->nports; i++) {
		struct pr_id other = { out->ports[i], id->rel_port };
		pr_add(s, &other, out->sa_key);
	}
	s->aptpl = out->aptpl;
	s->generation++;
	return SENSE_NONE;
}

/* SPC-4 5.12.7: with ALL_TG_PT the initiator port is registered through
 * every target port, all or none; a port it is already registered
 * through keeps its own registration. */
static enum sense_reason pr_register_all_ports(struct pr_state *s, const struct pr_id *id,
					       const struct pr_out *out)
{
	unsigned add = 0;
	for (unsigned i = 0; i < out->ntg_ports; i++) {
		struct pr_id other = { id->initiator, out->tg_ports[i] };
		add += pr_state_find(s, &other) < 0;
	}
	/* the sender's own port, even if the list lacks it */
	bool listed = false;
	for (unsigned i = 0; i < out->ntg_ports && !listed; i++)
		listed = out->tg_ports[i] == id->rel_port;
	if (s->nregs + add + !listed > PR_MAX_REGS)
		return SENSE_INSUFFICIENT_REGISTRATION_RESOURCES;
	if (!listed)
		pr_add(s, id, out->sa_key);
	for (unsigned i = 0; i < out->ntg_ports; i++) {
		struct pr_id other = { id->initiator, out->tg_ports[i] };
		if (pr_state_find(s, &other) < 0)
			pr_add(s, &other, out->sa_key);
	}
	return SENSE_NONE;
}

static enum sense_reason pr_register(struct pr_state *s, const struct pr_id *id, int r,
				     const struct pr_out *out, pr_event_fn fn, void *arg)
{
	/* SPC-4 5.12.7: REGISTER checks the key it is given; REGISTER AND
	 * IGNORE EXISTING KEY does not. */
	if (out->service_action == PR_OUT_REGISTER) {
		uint64_t have = r >= 0 ? s->regs[r].key : 0;
		if (out->key != have)
			return SENSE_RESERVATION_CONFLICT;
	}
	if (out->spec_i_pt)
		return pr_register_ports(s, id, r, out);
	if (r < 0 && out->sa_key == 0)
		return SENSE_NONE;
	if (r < 0 && out->all_tg_pt && out->ntg_ports) {
		enum sense_reason why = pr_register_all_ports(s, id, out);
		if (why != SENSE_NONE)
			return why;
	} else if (r < 0) {
		if (s->nregs == PR_MAX_REGS)
			return SENSE_INSUFFICIENT_REGISTRATION_RESOURCES;
		pr_add(s, id, out->sa_key);
	} else if (out->sa_key == 0) {
		/* SPC-4 5.12.11.2.2: the holder unregistering releases a
		 * reservation it holds alone. */
		if (s->holder == r && !pr_type_all_registrants(s->type))
			pr_release_told(s, r, fn, arg);
		pr_remove(s, r, -1);
	} else {
		s->regs[r].key = out->sa_key;
	}
	s->aptpl = out->aptpl;
	s->generation++;
	return SENSE_NONE;
}

/* SPC-4 5.12.9 */
static enum sense_reason pr_reserve(struct pr_state *s, int r, const struct pr_out *out)
{
	if (s->type != PR_TYPE_NONE) {
		if (pr_index_holds(s, r) && s->type == out->type)
			return SENSE_NONE;
		return SENSE_RESERVATION_CONFLICT;
	}
	s->type = out->type;
	s->holder = r;
	return SENSE_NONE;
}

/* SPC-4 5.12.11.2 */
static enum sense_reason pr_release_sa(struct pr_state *s, int r, const struct pr_out *out,
				       pr_event_fn fn, void *arg)
{
	if (!pr_index_holds(s, r))
		return SENSE_NONE;
	if (s->type != out->type)
		return SENSE_INVALID_RELEASE_OF_PR;
	pr_release_told(s, r, fn, arg);
	return SENSE_NONE;
}

/* SPC-4 5.12.11.2.6 */
static void pr_clear(struct pr_state *s, int r, pr_event_fn fn, void *arg)
{
	pr_tell_others(s, r, PR_EV_RESERVATIONS_PREEMPTED, fn, arg);
	pr_release(s);
	s->nregs = 0;
	s->generation++;
}

/* Removes every registration but self's with key; returns how many. */
static unsigned pr_remove_key(struct pr_state *s, int *self, uint64_t key, pr_event_fn fn,
			      void *arg)
{
	unsigned removed = 0;
	for (int i = (int)s->nregs - 1; i >= 0; i--) {
		if (i == *self || s->regs[i].key != key)
			continue;
		fn(&s->regs[i], PR_EV_REGISTRATIONS_PREEMPTED, arg);
		*self = pr_remove(s, i, *self);
		removed++;
	}
	return removed;
}

/* SPC-4 5.12.11.4 */
static enum sense_reason pr_preempt(struct pr_state *s, int r, const struct pr_out *out,
				    pr_event_fn fn, void *arg)
{
	bool all_reg = pr_type_all_registrants(s->type);
	if (s->type != PR_TYPE_NONE && all_reg && out->sa_key == 0) {
		/* 5.12.11.4.3: every other registration goes, and the
		 * reservation becomes the preempting nexus's. */
		for (int i = (int)s->nregs - 1; i >= 0; i--) {
			if (i == r)
				continue;
			fn(&s->regs[i], PR_EV_REGISTRATIONS_PREEMPTED, arg);
			r = pr_remove(s, i, r);
		}
		s->type = out->type;
		s->holder = r;
		s->generation++;
		return SENSE_NONE;
	}
	if (s->type != PR_TYPE_NONE && !all_reg && s->regs[s->holder].key == out->sa_key) {
		/* 5.12.11.4.4: the holder is preempted. */
		bool changed = s->type != out->type;
		pr_remove_key(s, &r, out->sa_key, fn, arg);
		s->type = out->type;
		s->holder = r;
		if (changed)
			pr_tell_others(s, r, PR_EV_RESERVATIONS_RELEASED, fn, arg);
		s->generation++;
		return SENSE_NONE;
	}
	/* 5.12.11.4.2 and 5.12.11.4.5: only registrations go. */
	if (out->sa_key == 0)
		return SENSE_INVALID_FIELD_IN_PARAM_LIST;
	if (pr_remove_key(s, &r, out->sa_key, fn, arg) == 0)
		return SENSE_RESERVATION_CONFLICT;
	s->generation++;
	return SENSE_NONE;
}

/* SPC-4 5.12.8: the holder hands its reservation to another I_T nexus,
 * registering it with the service action key. */
static enum sense_reason pr_register_and_move(struct pr_state *s, int r, const struct pr_out *out)
{
	if (out->sa_key == 0)
		return SENSE_INVALID_FIELD_IN_PARAM_LIST;
	if (!pr_index_holds(s, r) || pr_type_all_registrants(s->type))
		return SENSE_RESERVATION_CONFLICT;
	int to = pr_state_find(s, &out->move_to);
	if (to == r)
		return SENSE_INVALID_FIELD_IN_PARAM_LIST;
	if (to < 0) {
		if (s->nregs == PR_MAX_REGS)
			return SENSE_INSUFFICIENT_REGISTRATION_RESOURCES;
		pr_add(s, &out->move_to, out->sa_key);
		to = (int)s->nregs - 1;
	} else {
		s->regs[to].key = out->sa_key;
	}
	s->holder = to;
	if (out->unreg)
		pr_remove(s, r, -1);
	s->aptpl = out->aptpl;
	s->generation++;
	return SENSE_NONE;
}

enum sense_reason pr_state_out(struct pr_state *s, const struct pr_id *id,
			       const struct pr_out *out, pr_event_fn fn, void *arg)
{
	int r = pr_state_find(s, id);
	if (out->service_action == PR_OUT_REGISTER ||
	    out->service_action == PR_OUT_REGISTER_IGNORE)
		return pr_register(s, id, r, out, fn, arg);
	/* SPC-4 5.12.8: every other service action needs a registered
	 * nexus quoting its own key. */
	if (r < 0 || s->regs[r].key != out->key)
		return SENSE_RESERVATION_CONFLICT;
	bool typed = out->service_action == PR_OUT_RESERVE ||
		     out->service_action == PR_OUT_PREEMPT ||
		     out->service_action == PR_OUT_PREEMPT_AND_ABORT;
	if (typed && !pr_type_valid(out->type))
		return SENSE_INVALID_FIELD_IN_CDB;
	switch (out->service_action) {
	case PR_OUT_RESERVE:
		return pr_reserve(s, r, out);
	case PR_OUT_RELEASE:
		return pr_release_sa(s, r, out, fn, arg);
	case PR_OUT_CLEAR:
		pr_clear(s, r, fn, arg);
		return SENSE_NONE;
	case PR_OUT_PREEMPT:
	case PR_OUT_PREEMPT_AND_ABORT:
		return pr_preempt(s, r, out, fn, arg);
	case PR_OUT_REGISTER_AND_MOVE:
		return pr_register_and_move(s, r, out);
	}
	return SENSE_INVALID_FIELD_IN_CDB;
}
