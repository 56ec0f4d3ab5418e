/* Mode pages, shared by MODE SENSE and MODE SELECT; private to the core. */
#ifndef LUNAR_SCSI_MODE_H
#define LUNAR_SCSI_MODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

/* SPC-4 6.11 page control */
enum mode_pc { PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2, PC_SAVED = 3 };

/* The longest page lunar builds, header included. */
#define MODE_PAGE_MAX 32

/* Writes page code's values for pc into p (at least MODE_PAGE_MAX bytes)
 * and returns the page length, header included; 0 for a page lunar does
 * not have. */
size_t mode_page_build(const struct scsi_lu *lu, uint8_t code, enum mode_pc pc, uint8_t *p);
/* Adds the changeable parameters of page code in page to a change of the
 * LU's mode word: their bits to *mask, their values to *bits. The caller
 * has checked the page's other bytes against the current values. */
void mode_page_collect(uint8_t code, const uint8_t *page, uint32_t *mask, uint32_t *bits);
/* SAM-5 6.3.3 d): a logical unit reset returns the MODE SELECT parameters
 * to their saved values or, with none saved (lunar saves none), to their
 * defaults. */
void mode_restore_defaults(struct scsi_lu *lu);

#endif
