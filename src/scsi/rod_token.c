/* The ROD token registry (rod_token.h): one list under one mutex. Tokens
 * are few (ROD_TOKENS_MAX) and touched only by POPULATE TOKEN, WRITE USING
 * TOKEN and writes to an LU that has tokens, so a list is enough. */
#include "scsi/rod_token.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/be.h"
#include "util/clock.h"
#include "util/log.h"

static pthread_mutex_t rod_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rod_token *rod_head;
static unsigned rod_count;
static uint64_t rod_next_id;

/* Where the parts of a token sit (SPC-4 5.17.6.1 table 111). */
#define TOK_TYPE 0
#define TOK_LENGTH 6
#define TOK_ID 8
#define TOK_CREATOR 16     /* an identification descriptor CSCD, 32 bytes */
#define TOK_BYTES 48       /* NUMBER OF BYTES REPRESENTED, 16 bytes */
#define TOK_DEVICE_DATA 96 /* SBC-3: READ CAPACITY(16) data bytes 8-31 */
#define TOK_TARGET 128     /* TARGET DEVICE DESCRIPTOR */
#define TOK_UNIQUE 480     /* extended ROD token data: the random part */
#define TOK_UNIQUE_LEN (ROD_TOKEN_LEN - TOK_UNIQUE)
#define TOK_TARGET_NAME_MAX (TOK_UNIQUE - TOK_TARGET - 4 - 1)

static bool ranges_overlap(const struct rod_token *t, uint64_t lba, uint64_t nblocks)
{
	for (unsigned i = 0; i < t->nranges; i++) {
		const struct rod_range *r = &t->ranges[i];
		if (r->lba < lba + nblocks && lba < r->lba + r->nblocks)
			return true;
	}
	return false;
}

static bool token_expired(const struct rod_token *t, uint64_t now_ms)
{
	return t->users == 0 && now_ms >= t->last_use_ms + (uint64_t)t->timeout_s * 1000u;
}

/* Under rod_mu, after a change to t: whether writes to its LU must look
 * at it, kept in the LU's count. */
static void recount(struct rod_token *t)
{
	bool want = t->lu && !t->dead && !(t->changes && t->users == 0);
	if (want == t->counted)
		return;
	t->counted = want;
	if (want)
		atomic_fetch_add(&t->lu->rod_tokens, 1);
	else
		atomic_fetch_sub(&t->lu->rod_tokens, 1);
}

/* Under rod_mu: unlinks t; the caller frees it. */
static void token_unlink(struct rod_token *t)
{
	for (struct rod_token **p = &rod_head; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	rod_count--;
	t->dead = true;
	recount(t);
}

/* Under rod_mu: unlinks the dead and expired tokens nobody uses onto
 * *gone, to be freed outside the lock. */
static void sweep(struct rod_token **gone)
{
	uint64_t now = clock_now_ms();
	struct rod_token *next;
	for (struct rod_token *t = rod_head; t; t = next) {
		next = t->next;
		if (t->users == 0 && (t->dead || token_expired(t, now))) {
			token_unlink(t);
			t->next = *gone;
			*gone = t;
		}
	}
}

static void free_list(struct rod_token *t)
{
	while (t) {
		struct rod_token *next = t->next;
		free(t);
		t = next;
	}
}

/* SPC-4 6.3.6.4: the creator LU as an identification descriptor CSCD
 * with its NAA designator (VPD 83h) and block length. */
static void put_creator(uint8_t *d, const struct scsi_lu *lu)
{
	d[0] = 0xE4;
	d[4] = 0x01; /* code set binary */
	d[5] = 0x03; /* association LU, designator type NAA */
	d[7] = sizeof(lu->naa);
	memcpy(d + 8, lu->naa, sizeof(lu->naa));
	be24_put(d + 29, lu->block_size);
}

/* SPC-4 7.8.6.11: the target device's SCSI name string, NUL-terminated
 * and padded to a multiple of 4. */
static void put_target(uint8_t *d, const char *name)
{
	size_t n = strnlen(name, TOK_TARGET_NAME_MAX);
	size_t padded = (n + 1 + 3) & ~(size_t)3;
	d[0] = 0x03; /* code set UTF-8 */
	d[1] = 0x20 | 0x08; /* association target device, SCSI name string */
	d[3] = (uint8_t)padded;
	memcpy(d + 4, name, n);
}

static void build(struct rod_token *t, const struct scsi_target *target, uint32_t rod_type)
{
	uint8_t *b = t->bytes;
	be32_put(b + TOK_TYPE, rod_type);
	be16_put(b + TOK_LENGTH, ROD_TOKEN_LEN - 8);
	be64_put(b + TOK_ID, t->id);
	put_creator(b + TOK_CREATOR, t->lu);
	be64_put(b + TOK_BYTES + 8, t->nblocks * t->block_size);
	be32_put(b + TOK_DEVICE_DATA, t->block_size);
	put_target(b + TOK_TARGET, target->name);
}

/* Under rod_mu: how many live tokens target has. */
static unsigned target_count(const struct scsi_target *target)
{
	unsigned n = 0;
	for (const struct rod_token *t = rod_head; t; t = t->next)
		n += t->target == target && !t->dead;
	return n;
}

enum sense_reason rod_token_create(const struct scsi_target *target, struct scsi_lu *lu,
				   const struct rod_range *ranges, unsigned nranges,
				   uint32_t rod_type, unsigned timeout_s, uint8_t out[ROD_TOKEN_LEN])
{
	struct rod_token *t = calloc(1, sizeof(*t));
	if (!t) {
		log_error("scsi: LUN %u: out of memory for a ROD token", lu->lun);
		return SENSE_INSUFFICIENT_RESOURCES_FOR_ROD_TOKEN;
	}
	if (RAND_bytes(t->bytes + TOK_UNIQUE, TOK_UNIQUE_LEN) != 1) {
		log_error("scsi: LUN %u: no randomness for a ROD token", lu->lun);
		free(t);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	t->target = target;
	t->lu = lu;
	t->block_size = lu->block_size;
	t->nranges = nranges;
	memcpy(t->ranges, ranges, nranges * sizeof(*ranges));
	for (unsigned i = 0; i < nranges; i++)
		t->nblocks += ranges[i].nblocks;
	t->timeout_s = timeout_s;
	t->last_use_ms = clock_now_ms();

	struct rod_token *gone = NULL;
	pthread_mutex_lock(&rod_mu);
	sweep(&gone);
	bool room = rod_count < ROD_TOKENS_MAX && target_count(target) < ROD_TOKENS_PER_TARGET;
	if (room) {
		t->id = ++rod_next_id;
		build(t, target, rod_type);
		t->next = rod_head;
		rod_head = t;
		rod_count++;
		/* Before the range lock lets writes in: they see the count. */
		recount(t);
		memcpy(out, t->bytes, ROD_TOKEN_LEN);
	}
	pthread_mutex_unlock(&rod_mu);
	free_list(gone);
	if (!room) {
		log_warn_limited("scsi: target %s: too many live ROD tokens, POPULATE TOKEN refused",
				 target->name);
		free(t);
		return SENSE_INSUFFICIENT_RESOURCES_FOR_ROD_TOKEN;
	}
	return SENSE_NONE;
}

enum sense_reason rod_token_use(const uint8_t tok[ROD_TOKEN_LEN], const struct scsi_target *target,
				struct rod_token **out, struct scsi_lu **lu)
{
	uint64_t id = be64_get(tok + TOK_ID);
	enum sense_reason r = SENSE_TOKEN_UNKNOWN;
	struct rod_token *gone = NULL;
	pthread_mutex_lock(&rod_mu);
	for (struct rod_token *t = rod_head; t; t = t->next) {
		if (t->id != id || t->dead || CRYPTO_memcmp(t->bytes, tok, ROD_TOKEN_LEN) != 0)
			continue;
		if (t->target != target || !t->lu)
			r = SENSE_REMOTE_TOKEN_USAGE_UNSUPPORTED;
		else if (token_expired(t, clock_now_ms()))
			r = SENSE_TOKEN_EXPIRED;
		else if (t->changes != 0)
			r = SENSE_TOKEN_CANCELLED;
		else
			r = SENSE_NONE;
		if (r == SENSE_NONE) {
			t->users++;
			*out = t;
			*lu = t->lu;
		}
		break;
	}
	sweep(&gone);
	pthread_mutex_unlock(&rod_mu);
	free_list(gone);
	return r;
}

bool rod_token_lu_is(struct rod_token *t, const struct scsi_lu *lu)
{
	pthread_mutex_lock(&rod_mu);
	bool same = t->lu == lu;
	pthread_mutex_unlock(&rod_mu);
	return same;
}

bool rod_token_intact(struct rod_token *t, unsigned self_changes)
{
	pthread_mutex_lock(&rod_mu);
	bool intact = t->changes == self_changes && t->lu;
	pthread_mutex_unlock(&rod_mu);
	return intact;
}

void rod_token_unuse(struct rod_token *t, bool del)
{
	struct rod_token *gone = NULL;
	pthread_mutex_lock(&rod_mu);
	t->users--;
	/* SPC-4 5.17.6.2: the inactivity timeout runs from the last use. */
	t->last_use_ms = clock_now_ms();
	if (del)
		t->dead = true;
	recount(t);
	sweep(&gone);
	pthread_mutex_unlock(&rod_mu);
	free_list(gone);
}

void rod_token_note_write(struct scsi_lu *lu, uint64_t lba, uint64_t nblocks,
			  struct rod_token *self, unsigned *self_changes)
{
	if (atomic_load_explicit(&lu->rod_tokens, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&rod_mu);
	for (struct rod_token *t = rod_head; t; t = t->next) {
		if (t->lu != lu || !ranges_overlap(t, lba, nblocks))
			continue;
		t->changes++;
		if (t == self)
			(*self_changes)++;
		/* Cancelled, it stays until its timeout so that a WRITE USING
		 * TOKEN learns why it is refused. */
		recount(t);
	}
	pthread_mutex_unlock(&rod_mu);
}

void rod_token_lu_gone(struct scsi_lu *lu)
{
	struct rod_token *gone = NULL;
	pthread_mutex_lock(&rod_mu);
	for (struct rod_token *t = rod_head; t; t = t->next) {
		if (t->lu != lu)
			continue;
		/* A user holds the LU while it copies, so none is left;
		 * a token some user is still looking up stays, without
		 * its LU, until that user lets go. */
		t->dead = true;
		recount(t);
		t->lu = NULL;
	}
	sweep(&gone);
	pthread_mutex_unlock(&rod_mu);
	free_list(gone);
}
