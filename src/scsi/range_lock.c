#include "scsi/range_lock.h"

void range_lock_init(struct range_lock *rl)
{
	pthread_mutex_init(&rl->mu, NULL);
	atomic_init(&rl->exclusive, 0);
	atomic_init(&rl->fast_writers, 0);
	rl->held_head = NULL;
	rl->wait_head = rl->wait_tail = NULL;
}

void range_lock_fini(struct range_lock *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

static bool ranges_conflict(const struct range_lock_req *a, const struct range_lock_req *b)
{
	if (!a->exclusive && !b->exclusive)
		return false;
	return a->lba < b->lba + b->nblocks && b->lba < a->lba + a->nblocks;
}

/* Under mu. req may be held when nothing held conflicts with it, no
 * waiter before `upto` (NULL: every waiter) does, and, if exclusive, no
 * fast write is still in flight. */
static bool grantable(struct range_lock *rl, const struct range_lock_req *req,
		      const struct range_lock_req *upto)
{
	if (req->exclusive && atomic_load(&rl->fast_writers) != 0)
		return false;
	for (const struct range_lock_req *h = rl->held_head; h; h = h->next)
		if (ranges_conflict(h, req))
			return false;
	for (const struct range_lock_req *w = rl->wait_head; w != upto; w = w->next)
		if (ranges_conflict(w, req))
			return false;
	return true;
}

static void held_insert(struct range_lock *rl, struct range_lock_req *req)
{
	req->prev = NULL;
	req->next = rl->held_head;
	if (rl->held_head)
		rl->held_head->prev = req;
	rl->held_head = req;
}

static void held_remove(struct range_lock *rl, struct range_lock_req *req)
{
	if (req->prev)
		req->prev->next = req->next;
	else
		rl->held_head = req->next;
	if (req->next)
		req->next->prev = req->prev;
}

static void wait_append(struct range_lock *rl, struct range_lock_req *req)
{
	req->next = NULL;
	req->prev = rl->wait_tail;
	if (rl->wait_tail)
		rl->wait_tail->next = req;
	else
		rl->wait_head = req;
	rl->wait_tail = req;
}

static void wait_remove(struct range_lock *rl, struct range_lock_req *req)
{
	if (req->prev)
		req->prev->next = req->next;
	else
		rl->wait_head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	else
		rl->wait_tail = req->prev;
}

/* Under mu: grants, oldest first, every waiter nothing holds back, and
 * resumes each on its own loop. */
static void grant_waiters(struct range_lock *rl)
{
	struct range_lock_req *next;
	for (struct range_lock_req *w = rl->wait_head; w; w = next) {
		next = w->next;
		if (!grantable(rl, w, w))
			continue;
		wait_remove(rl, w);
		held_insert(rl, w);
		loop_post(w->loop, &w->granted);
	}
}

/* Under mu: held now, or queued. */
static bool acquire_locked(struct range_lock *rl, struct range_lock_req *req)
{
	if (grantable(rl, req, NULL)) {
		held_insert(rl, req);
		return true;
	}
	wait_append(rl, req);
	return false;
}

bool range_lock_acquire(struct range_lock *rl, struct range_lock_req *req)
{
	req->fast = false;
	if (!req->exclusive) {
		/* Pairs with the exclusive side below (both sequentially
		 * consistent): either this write sees the exclusive request,
		 * or that request sees this write counted. */
		atomic_fetch_add(&rl->fast_writers, 1);
		if (atomic_load(&rl->exclusive) == 0) {
			req->fast = true;
			return true;
		}
		pthread_mutex_lock(&rl->mu);
		atomic_fetch_sub(&rl->fast_writers, 1);
		bool held = acquire_locked(rl, req);
		/* An exclusive waiter may have been waiting for that count. */
		grant_waiters(rl);
		pthread_mutex_unlock(&rl->mu);
		return held;
	}
	atomic_fetch_add(&rl->exclusive, 1);
	pthread_mutex_lock(&rl->mu);
	bool held = acquire_locked(rl, req);
	pthread_mutex_unlock(&rl->mu);
	return held;
}

void range_lock_release(struct range_lock *rl, struct range_lock_req *req)
{
	if (req->fast) {
		req->fast = false;
		if (atomic_fetch_sub(&rl->fast_writers, 1) == 1 && atomic_load(&rl->exclusive)) {
			pthread_mutex_lock(&rl->mu);
			grant_waiters(rl);
			pthread_mutex_unlock(&rl->mu);
		}
		return;
	}
	pthread_mutex_lock(&rl->mu);
	held_remove(rl, req);
	if (req->exclusive)
		atomic_fetch_sub(&rl->exclusive, 1);
	grant_waiters(rl);
	pthread_mutex_unlock(&rl->mu);
}
