#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/nexus.h"
#include "scsi/pr.h"
#include "scsi/rod_token.h"
#include "scsi/scsi.h"
#include "scsi/stats.h"
#include "util/log.h"

#define LU_DEFAULT_PRODUCT "lunar disk"
#define LU_VENDOR "LUNAR"
#define LU_REVISION "0001"

/* NAA 6 needs an IEEE company ID; lunar has none registered, so it uses a
 * value with the IEEE "locally assigned" (X) bit set, which no registered
 * company ID carries. */
#define LU_NAA_COMPANY_ID 0x0A4C4Eu

/* A digest of target name and LUN: the same LU keeps the same serial
 * number and NAA designator across restarts. */
static int lu_identity_digest(const char *target_name, uint16_t lun,
			      uint8_t out[SHA256_DIGEST_LENGTH])
{
	char key[512];
	int n = snprintf(key, sizeof(key), "%s\n%u", target_name, lun);
	if (n < 0 || (size_t)n >= sizeof(key))
		return -1;
	unsigned int len = 0;
	if (!EVP_Digest(key, (size_t)n, out, &len, EVP_sha256(), NULL))
		return -1;
	return 0;
}

/* SPC-4 7.8.6.6.4: NAA 6h, IEEE registered extended: 4-bit NAA, 24-bit
 * company ID, 100 bits vendor specific. */
static void lu_make_naa(uint8_t naa[16], const uint8_t *digest)
{
	uint32_t cid = LU_NAA_COMPANY_ID;
	naa[0] = (uint8_t)(0x60 | (cid >> 20));
	naa[1] = (uint8_t)(cid >> 12);
	naa[2] = (uint8_t)(cid >> 4);
	naa[3] = (uint8_t)((cid & 0xF) << 4 | (digest[16] & 0xF));
	memcpy(naa + 4, digest + 17, 12);
}

/* SPC-4 7.8.15: the serial number is ASCII graphic characters. */
static bool lu_serial_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(((struct scsi_lu *)0)->serial))
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7F)
			return false;
	return true;
}

static void lu_copy_ascii(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

struct scsi_lu *scsi_lu_create(const struct scsi_lu_config *cfg, const char *target_name)
{
	struct backend *bs = cfg->bs;
	if (cfg->lun >= SCSI_MAX_LUNS) {
		log_error("target %s: LUN %u: at most %u LUNs are served", target_name,
			  cfg->lun, SCSI_MAX_LUNS);
		return NULL;
	}
	if (!bs || bs->block_size == 0 || bs->size / bs->block_size == 0) {
		log_error("target %s: LUN %u: backing store has no blocks", target_name, cfg->lun);
		return NULL;
	}
	if (cfg->serial && !lu_serial_valid(cfg->serial)) {
		log_error("target %s: LUN %u: serial \"%s\" must be 1-32 printable ASCII "
			  "characters without spaces", target_name, cfg->lun, cfg->serial);
		return NULL;
	}
	uint8_t digest[SHA256_DIGEST_LENGTH];
	if (lu_identity_digest(target_name, cfg->lun, digest) < 0) {
		log_error("target %s: LUN %u: cannot derive identifiers", target_name, cfg->lun);
		return NULL;
	}
	struct scsi_lu *lu = calloc(1, sizeof(*lu));
	if (!lu) {
		log_error("target %s: LUN %u: out of memory", target_name, cfg->lun);
		return NULL;
	}
	lu->lun = cfg->lun;
	if (scsi_pr_init(lu, cfg->state_dir, target_name) < 0) {
		log_error("target %s: LUN %u: cannot set up persistent reservations",
			  target_name, cfg->lun);
		free(lu);
		return NULL;
	}
	lu->bs = bs;
	lu->close_bs = cfg->close_bs;
	atomic_init(&lu->refs, 1);
	range_lock_init(&lu->range_lock);
	lu->block_size = bs->block_size;
	lu->physical_block_size = bs->physical_block_size > bs->block_size ? bs->physical_block_size
									  : bs->block_size;
	atomic_init(&lu->nblocks, bs->size / bs->block_size);
	lu->readonly = bs->readonly;
	lu->sanitize_rate = cfg->sanitize_rate;
	/* Completed writes may sit in the page cache or a disk cache until a
	 * flush: tell the initiator so it sends SYNCHRONIZE CACHE. */
	atomic_init(&lu->mode, SCSI_MODE_WCE);
	if (cfg->serial) {
		lu_copy_ascii(lu->serial, sizeof(lu->serial), cfg->serial);
	} else {
		for (int i = 0; i < 8; i++)
			snprintf(lu->serial + 2 * i, 3, "%02x", digest[i]);
	}
	lu_make_naa(lu->naa, digest);
	lu_copy_ascii(lu->vendor, sizeof(lu->vendor), LU_VENDOR);
	lu_copy_ascii(lu->product, sizeof(lu->product),
		      cfg->product ? cfg->product : LU_DEFAULT_PRODUCT);
	lu_copy_ascii(lu->revision, sizeof(lu->revision), LU_REVISION);
	lu->stats = scsi_stats_lu_open(target_name, lu->lun);
	return lu;
}

void scsi_lu_mode_change(struct scsi_lu *lu, uint32_t mask, uint32_t bits)
{
	uint32_t old = atomic_load(&lu->mode);
	while (!atomic_compare_exchange_weak(&lu->mode, &old, (old & ~mask) | (bits & mask)))
		;
}

/* Grows nblocks to the store's size now; true (with the two sizes) for
 * the one caller whose swap grew it. */
static bool lu_grow(struct scsi_lu *lu, uint64_t *from_blocks, uint64_t *to_blocks)
{
	int64_t size = backend_refresh_size(lu->bs);
	if (size < 0)
		return false;
	uint64_t nblocks = (uint64_t)size / lu->block_size;
	uint64_t old = atomic_load(&lu->nblocks);
	do {
		if (nblocks <= old)
			return false;
	} while (!atomic_compare_exchange_weak(&lu->nblocks, &old, nblocks));
	*from_blocks = old;
	*to_blocks = nblocks;
	return true;
}

void scsi_lu_refresh_size(struct scsi_lu *lu, struct scsi_nexus *from)
{
	uint64_t old, nblocks;
	if (!lu_grow(lu, &old, &nblocks))
		return;
	/* Only the thread that grew it tells the nexuses, once. */
	log_info("target %s: LUN %u: grown from %llu to %llu blocks", from->target->name, lu->lun,
		 (unsigned long long)old, (unsigned long long)nblocks);
	scsi_ua_establish_others(from, lu->lun, SCSI_UA_CAPACITY_CHANGED);
}

void scsi_lu_refresh_size_all(struct scsi_lu *lu, struct scsi_target *target)
{
	uint64_t old, nblocks;
	if (!lu_grow(lu, &old, &nblocks))
		return;
	log_info("target %s: LUN %u: grown from %llu to %llu blocks", target->name, lu->lun,
		 (unsigned long long)old, (unsigned long long)nblocks);
	pthread_mutex_lock(&target->lock);
	for (struct scsi_nexus *n = target->nexuses; n; n = n->next)
		scsi_ua_establish(n, lu->lun, SCSI_UA_CAPACITY_CHANGED);
	pthread_mutex_unlock(&target->lock);
}

struct scsi_lu *scsi_lu_get(struct scsi_lu *lu)
{
	atomic_fetch_add_explicit(&lu->refs, 1, memory_order_relaxed);
	return lu;
}

void scsi_lu_put(struct scsi_lu *lu)
{
	if (!lu || atomic_fetch_sub_explicit(&lu->refs, 1, memory_order_acq_rel) != 1)
		return;
	rod_token_lu_gone(lu);
	lu->close_bs(lu->bs);
	range_lock_fini(&lu->range_lock);
	scsi_pr_fini(lu);
	scsi_stats_close(lu->stats);
	free(lu);
}
