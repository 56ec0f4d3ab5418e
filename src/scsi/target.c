/* A target's LUN table: an immutable map published read-copy-update (the
 * rule is at struct scsi_target in scsi.h). */
#include <errno.h>
#include <stdlib.h>

#include "scsi/scsi.h"

int scsi_target_init(struct scsi_target *t)
{
	struct scsi_lun_map *map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	atomic_init(&t->luns, map);
	t->nexuses = NULL;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void scsi_target_fini(struct scsi_target *t)
{
	scsi_lun_map_free(atomic_load(&t->luns));
	atomic_store(&t->luns, NULL);
	pthread_mutex_destroy(&t->lock);
}

const struct scsi_lun_map *scsi_target_lun_map(const struct scsi_target *t)
{
	return atomic_load_explicit(&t->luns, memory_order_acquire);
}

struct scsi_lu *scsi_target_lu_get(struct scsi_target *t, int lun)
{
	if (lun < 0 || lun >= SCSI_MAX_LUNS)
		return NULL;
	struct scsi_lu *lu = scsi_target_lun_map(t)->lus[lun];
	return lu ? scsi_lu_get(lu) : NULL;
}

void scsi_lun_map_free(struct scsi_lun_map *map)
{
	if (!map)
		return;
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		scsi_lu_put(map->lus[lun]);
	free(map);
}

/* A copy of the current map holding its own LU references; under lock. */
static struct scsi_lun_map *target_map_copy(struct scsi_target *t)
{
	struct scsi_lun_map *map = malloc(sizeof(*map));
	if (!map)
		return NULL;
	*map = *atomic_load_explicit(&t->luns, memory_order_relaxed);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		if (map->lus[lun])
			scsi_lu_get(map->lus[lun]);
	return map;
}

/* Publishes map and tells every I_T nexus that the inventory changed;
 * under lock. A LUN new to the map starts with no stale attention of an
 * LU that used its number before. */
static void target_publish(struct scsi_target *t, struct scsi_lun_map *map, int added,
			   struct scsi_lun_map **retired)
{
	*retired = atomic_load_explicit(&t->luns, memory_order_relaxed);
	atomic_store_explicit(&t->luns, map, memory_order_release);
	for (struct scsi_nexus *n = t->nexuses; n; n = n->next) {
		if (added >= 0)
			atomic_store(&n->ua[added], 0);
		for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
			if (map->lus[lun])
				atomic_fetch_or(&n->ua[lun], (uint32_t)SCSI_UA_LUNS_CHANGED);
	}
}

int scsi_target_add_lu(struct scsi_target *t, struct scsi_lu *lu, struct scsi_lun_map **retired)
{
	pthread_mutex_lock(&t->lock);
	int ret = -EEXIST;
	struct scsi_lun_map *map = NULL;
	if (atomic_load_explicit(&t->luns, memory_order_relaxed)->lus[lu->lun])
		goto out;
	ret = -ENOMEM;
	map = target_map_copy(t);
	if (!map)
		goto out;
	map->lus[lu->lun] = lu;
	target_publish(t, map, lu->lun, retired);
	ret = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int scsi_target_remove_lu(struct scsi_target *t, uint16_t lun, struct scsi_lun_map **retired)
{
	if (lun >= SCSI_MAX_LUNS)
		return -ENOENT;
	struct scsi_lun_map *map = NULL;
	pthread_mutex_lock(&t->lock);
	int ret = -ENOENT;
	if (!atomic_load_explicit(&t->luns, memory_order_relaxed)->lus[lun])
		goto out;
	ret = -ENOMEM;
	map = target_map_copy(t);
	if (!map)
		goto out;
	/* The retired map still holds the LU: it goes with the grace period. */
	scsi_lu_put(map->lus[lun]);
	map->lus[lun] = NULL;
	target_publish(t, map, -1, retired);
	ret = 0;
out:
	pthread_mutex_unlock(&t->lock);
	return ret;
}
