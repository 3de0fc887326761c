/*
 * dboot.h - the distribution node's boot services (see dboot.c).
 */
#ifndef BL_DBOOT_H
#define BL_DBOOT_H

#include <stddef.h>

#include <event2/event.h>

#include "dist.h"

struct dboot;

/* Bind the boot ports (TFTP unless conf.tftp is off) and start following
 * d's boot entries.  0, or an error with why (nothing left running). */
int dboot_start(struct event_base *base, struct dist *d, struct dboot **out,
        char *why, size_t whylen);
void dboot_stop(struct dboot *b);

#endif /* BL_DBOOT_H */
