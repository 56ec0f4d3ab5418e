/* Backing stores: where a logical unit's blocks live.
 *
 * The SCSI core talks to every store through struct backend and never
 * knows whether the blocks are in a file, a block device or memory. Each
 * kind of store is a struct backend_type that registers itself: its name,
 * the config keys only it takes, its ops and the size of its private state.
 * I/O is asynchronous on the calling thread's loop: submit queues the work
 * and io->done runs later on that loop's thread (never inside submit). */
#ifndef LUNAR_BACKEND_BACKEND_H
#define LUNAR_BACKEND_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/loop.h"

/* How the config file spells a store key's value. */
enum backend_key_type {
	BACKEND_KEY_STRING, /* non-empty string */
	BACKEND_KEY_PATH,   /* string; a relative path is under state_dir */
	BACKEND_KEY_BOOL,
	BACKEND_KEY_SIZE,   /* bytes: 4096, "512M", "10G" */
	BACKEND_KEY_INT,    /* integer in min..max */
};

/* A config key only some stores take (path, direct, ...). The keys every
 * store takes (block_size, readonly) are in struct backend_config itself. */
struct backend_key {
	const char *name;
	enum backend_key_type type;
	bool required;
	long long min, max; /* INT: the range; STRING: max is the longest (0: any) */
	const char *help;   /* one line, shown when the key is missing */
};

/* A store key's value; which member is valid follows the key's type. */
struct backend_value {
	bool given;
	union {
		char *str; /* STRING, PATH; owned by the backend_config */
		bool flag; /* BOOL */
		uint64_t size; /* SIZE */
		int64_t num;   /* INT */
	};
};

#define BACKEND_MAX_KEYS 16

struct backend_type;

struct backend_config {
	const struct backend_type *type;
	uint32_t block_size; /* logical block size, 512 or 4096; 0: the store's choice */
	/* 512 or 4096, at least block_size; 0: block_size. 4096 under 512-byte
	 * blocks is "512e" (SBC-3 4.6.2): initiators align to it. */
	uint32_t physical_block_size;
	bool readonly;
	struct backend_value values[BACKEND_MAX_KEYS]; /* values[i] is type->keys[i] */
};

/* DISCARD deallocates [offset, offset + discard_len): afterwards the bytes
 * read as zeros (SBC-3 4.7.3.4 LBPRZ), and a thin store gives their space
 * back. */
enum backend_op { BACKEND_READ, BACKEND_WRITE, BACKEND_FLUSH, BACKEND_DISCARD };

struct backend;

struct backend_io {
	/* set by the caller */
	enum backend_op op;
	bool fua;        /* write: reach stable storage before done (RWF_DSYNC) */
	/* write: all of it lands or none, also across a crash of the daemon
	 * or the machine; at most bs->atomic_max bytes. The caller keeps
	 * other writes to these bytes out meanwhile (the SCSI range lock). */
	bool atomic;
	uint64_t offset; /* bytes */
	uint64_t discard_len; /* DISCARD: bytes, a multiple of the block size */
	/* The data, scattered or not: each base 4096-aligned (so O_DIRECT
	 * works), at most BACKEND_MAX_IOV entries. The array and the buffers
	 * stay valid until done; the store never writes to the array. None
	 * for FLUSH and DISCARD. */
	const struct iovec *iov;
	unsigned iovcnt;
	struct iovec one; /* backend_io_set_buf's single entry */
	void (*done)(struct backend_io *io, int err); /* err: 0 or -errno */
	/* set by backend_submit; done may read it */
	uint32_t len;    /* bytes: the sum of the iovec lengths */
	/* private to the backend */
	struct backend *bs;
	struct loop *loop;
	struct loop_op lop;
	uint32_t completed; /* bytes done so far; short transfers are resubmitted */
	unsigned cur_iov;   /* byte 'completed' is in iov[cur_iov] ... */
	uint32_t cur_off;   /* ... at this offset */
};

/* preadv's limit (IOV_MAX). */
#define BACKEND_MAX_IOV 1024

struct backend_type {
	const char *name; /* as in the config file: backend = "name" */
	const struct backend_key *keys;
	size_t nkeys;     /* at most BACKEND_MAX_KEYS */
	size_t priv_size; /* zeroed bytes at bs->priv for the store's state */
	/* Sets size (and block_size through backend_choose_block_size);
	 * returns 0 or -errno, logged naming the store. On failure close is
	 * not called: open releases what it took. */
	int (*open)(struct backend *bs, const struct backend_config *cfg);
	void (*submit)(struct backend *bs, struct loop *loop, struct backend_io *io);
	void (*close)(struct backend *bs);
	/* Optional, for thin stores that know where their holes are: see
	 * backend_lba_status. NULL: every byte is mapped. */
	int (*lba_status)(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent);
	/* Optional, for stores that can grow while served: their size in
	 * bytes now (see backend_refresh_size). NULL: the size is fixed. */
	int (*current_size)(const struct backend *bs, uint64_t *size);
	/* Optional, for stores whose blocks are in lunard's own memory or
	 * mapped into it (a file's page cache): see backend_lend. NULL:
	 * blocks can only be copied out by a READ. */
	void *(*lend)(struct backend *bs, uint64_t offset, uint32_t len);
};

struct backend {
	const struct backend_type *type;
	/* bytes, a multiple of block_size; only grows (backend_refresh_size),
	 * read by every loop */
	_Atomic uint64_t size;
	uint32_t block_size;
	uint32_t physical_block_size; /* a power-of-two multiple of block_size */
	bool readonly;
	/* thin provisioned (the `thin` key): DISCARD gives space back and
	 * deallocated blocks read as zeros; the SCSI core then serves UNMAP.
	 * A store that is not thin refuses DISCARD with -EOPNOTSUPP. */
	bool thin;
	/* bytes an atomic write may carry (SBC-4 4.29); 0: the store cannot
	 * promise all or none, and refuses atomic writes with -EOPNOTSUPP */
	uint32_t atomic_max;
	void *priv;    /* type->priv_size bytes, the store's own state */
};

/* Makes TYPE known to the config file. Call before any thread starts.
 * Returns 0, -EEXIST (name taken), -E2BIG (too many keys), -EINVAL (a key
 * of no known type) or -ENOSPC. The built-in stores (file, blockdev, memory) are known
 * without registering. */
int backend_type_register(const struct backend_type *type);
const struct backend_type *backend_type_find(const char *name);
/* The I-th known type, NULL past the last: for listing them. */
const struct backend_type *backend_type_at(size_t i);
/* TYPE's key called NAME, or NULL; *index (if not NULL) gets its index. */
const struct backend_key *backend_type_key(const struct backend_type *type, const char *name, size_t *index);

/* Building a config by hand (tests, the embedded default). set_* copy
 * their value and return 0, or -ENOENT (no such key for this type),
 * -EINVAL (the key has another type) or -ENOMEM. */
void backend_config_init(struct backend_config *cfg, const struct backend_type *type);
int backend_config_set_str(struct backend_config *cfg, const char *key, const char *value);
int backend_config_set_bool(struct backend_config *cfg, const char *key, bool value);
int backend_config_set_size(struct backend_config *cfg, const char *key, uint64_t value);
/* The value of KEY, or NULL if the type has no such key. */
const struct backend_value *backend_config_value(const struct backend_config *cfg, const char *key);
/* Frees the strings cfg owns; cfg keeps its type and no values. */
void backend_config_clear(struct backend_config *cfg);
/* "file /srv/disk.img direct": the type and the given string values and
 * true flags, for logs. */
void backend_config_describe(const struct backend_config *cfg, char *buf, size_t len);

/* Opens the store cfg describes. On failure returns -errno and logs why,
 * naming the store. */
int backend_open(const struct backend_config *cfg, struct backend **out);
/* One flat buffer as the I/O's data: io->iov is io's own entry. */
void backend_io_set_buf(struct backend_io *io, void *buf, uint32_t len);
/* Copy between the I/O's iovecs and io->len flat bytes: for stores whose
 * blocks are in memory. gather reads the iovecs, scatter fills them. */
void backend_io_gather(const struct backend_io *io, void *dst);
void backend_io_scatter(const struct backend_io *io, const void *src);
/* Thread-safe for concurrent submits from different loops. */
void backend_submit(struct backend *bs, struct loop *loop, struct backend_io *io);
void backend_close(struct backend *bs);
/* Whether the byte at offset is mapped (has storage) or deallocated, and
 * how many bytes from offset on share that status (*extent, at least one
 * block, at most to the end of the store), for GET LBA STATUS (SBC-3
 * 5.20). Synchronous, on the caller's thread: the stores that implement
 * it ask the file system's extent map (lseek SEEK_DATA/SEEK_HOLE, which
 * io_uring cannot queue), usually in memory. Returns 0 or -errno. */
int backend_lba_status(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent);
/* Where the store itself keeps bytes [offset, offset + len), so they can
 * be sent without a copy; NULL when it does not lend them (no lend op,
 * lending switched off, a range past the end, or one the store would have
 * to wait for, such as file pages not in memory): the caller then reads
 * them with a READ. The memory stays valid while the store is open, but
 * it is the store's own, not a snapshot: a write changes it at once, so a
 * caller that needs the bytes to hold still (a data digest, or an ORDERED
 * command that must not change what an older read returns) copies them or
 * waits until they are sent. Only the kernel may read it (sendmsg): a
 * file's pages vanish if the file is truncated under the daemon, and a
 * copy the kernel makes then fails with EFAULT, where a load of lunard's
 * own would be a SIGBUS. */
void *backend_lend(struct backend *bs, uint64_t offset, uint32_t len);
/* Asks the store for its size now and, when it has grown (a file
 * extended under the daemon), grows bs->size to it in whole blocks; a
 * store never shrinks while served. Synchronous (an fstat), any thread.
 * Returns the size in bytes, or -errno with the old size kept. */
int64_t backend_refresh_size(struct backend *bs);

#endif
