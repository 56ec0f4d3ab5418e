/* ROD tokens (SPC-4 5.17.6): what POPULATE TOKEN hands out and WRITE USING
 * TOKEN redeems (odx.c), kept in one registry for the whole process.
 *
 * A token names ranges of one LU and stands for their data at the moment
 * it was made (point in time). lunar keeps no copy of that data: a token
 * is change vulnerable (SPC-4 ROD type 00800001h, which is also what its
 * "point in time copy - default" means): any write to its blocks cancels
 * it, and WRITE USING TOKEN with a cancelled token fails with INVALID TOKEN
 * OPERATION, TOKEN CANCELLED. Every write to the medium reports its blocks
 * through rod_token_note_write once it holds them in the LU's range lock;
 * POPULATE TOKEN makes the token while it holds its blocks exclusively in
 * that lock, so no write slips between the two.
 *
 * Tokens are usable from any I_T nexus of the target whose LU they name
 * (the LU must still be in that target's LUN map); their unique part is
 * 32 bytes of RAND_bytes and a token is recognised only byte for byte
 * (CRYPTO_memcmp). Each lives until its inactivity timeout passes unused,
 * WRITE USING TOKEN deletes it (DEL_TKN), or its LU goes. At most
 * ROD_TOKENS_PER_TARGET live at once per target and ROD_TOKENS_MAX in all,
 * so a peer populating forever meets INSUFFICIENT RESOURCES TO CREATE ROD
 * TOKEN, not unbounded memory. */
#ifndef LUNAR_SCSI_ROD_TOKEN_H
#define LUNAR_SCSI_ROD_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

#define ROD_TOKEN_LEN 512
#define ROD_TOKENS_PER_TARGET 128
#define ROD_TOKENS_MAX 1024
/* Block device range descriptors of one POPULATE TOKEN or WRITE USING
 * TOKEN (VPD 8Fh MAXIMUM RANGE DESCRIPTORS). */
#define ROD_MAX_RANGES 64
/* Seconds (VPD 8Fh): the default and the largest INACTIVITY TIMEOUT. */
#define ROD_DEFAULT_TIMEOUT_S 60
#define ROD_MAX_TIMEOUT_S 3600

/* SPC-4 table 112: ROD types served. */
#define ROD_TYPE_PIT_DEFAULT 0x00800000u
#define ROD_TYPE_PIT_VULNERABLE 0x00800001u
#define ROD_TYPE_BLOCK_ZERO 0xFFFF0001u

struct rod_range {
	uint64_t lba;
	uint32_t nblocks;
};

struct rod_token {
	uint8_t bytes[ROD_TOKEN_LEN];
	uint64_t id;                     /* COPY MANAGER ROD TOKEN IDENTIFIER */
	const struct scsi_target *target; /* compared, never followed */
	/* compared, and followed only once found in a LUN map; NULL once the
	 * LU has gone (rod_token_lu_gone) */
	struct scsi_lu *lu;
	uint32_t block_size;
	uint64_t nblocks;                /* the ranges' sum */
	unsigned nranges;
	struct rod_range ranges[ROD_MAX_RANGES];
	unsigned timeout_s;
	uint64_t last_use_ms;            /* monotonic */
	unsigned changes;                /* writes to its blocks since it was made */
	unsigned users;                  /* WRITE USING TOKEN commands copying from it */
	bool dead;                       /* deleted or its LU gone: freed with its last user */
	/* counted in lu->rod_tokens: while a write to its blocks matters,
	 * that is until it is cancelled and nobody copies from it */
	bool counted;
	struct rod_token *next;
};

/* Makes a token of rod_type for ranges of lu (all within it, not
 * overlapping, nranges <= ROD_MAX_RANGES), valid timeout_s seconds after
 * its last use, and copies its bytes to out. Call while holding the
 * ranges exclusively in lu's range lock. INSUFFICIENT RESOURCES TO CREATE
 * ROD TOKEN when the target or the process has its most. */
enum sense_reason rod_token_create(const struct scsi_target *target, struct scsi_lu *lu,
				   const struct rod_range *ranges, unsigned nranges,
				   uint32_t rod_type, unsigned timeout_s, uint8_t out[ROD_TOKEN_LEN]);

/* The live token whose bytes are tok, for a WRITE USING TOKEN on target:
 * counted as a user until rod_token_unuse, *lu the pointer to look for in
 * the LUN map. Otherwise the INVALID TOKEN OPERATION reason: unknown,
 * from another target (remote usage), expired, or cancelled. */
enum sense_reason rod_token_use(const uint8_t tok[ROD_TOKEN_LEN], const struct scsi_target *target,
				struct rod_token **out, struct scsi_lu **lu);
/* True while t's LU is still lu (it has not gone since rod_token_use). */
bool rod_token_lu_is(struct rod_token *t, const struct scsi_lu *lu);
/* Whether t's blocks are as they were when it was made, but for the
 * changes the user itself made (self_changes, from note_write). */
bool rod_token_intact(struct rod_token *t, unsigned self_changes);
/* The user is done; with del, the token goes (DEL_TKN). */
void rod_token_unuse(struct rod_token *t, bool del);

/* A write to lu's blocks [lba, lba + nblocks) is about to reach the
 * medium: tokens over them are cancelled. self is the token the writer
 * copies from, or NULL; a change to it is counted in *self_changes too.
 * One relaxed load when no token names lu. */
void rod_token_note_write(struct scsi_lu *lu, uint64_t lba, uint64_t nblocks,
			  struct rod_token *self, unsigned *self_changes);
static inline void rod_token_note_write_fast(struct scsi_lu *lu, uint64_t lba, uint64_t nblocks)
{
	if (atomic_load_explicit(&lu->rod_tokens, memory_order_relaxed) != 0)
		rod_token_note_write(lu, lba, nblocks, NULL, NULL);
}
/* From the LU's last reference: its tokens go. */
void rod_token_lu_gone(struct scsi_lu *lu);

#endif
