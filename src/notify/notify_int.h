/* notify_int: the notify module's private structures. */
#ifndef MIKAKA_NOTIFY_INT_H
#define MIKAKA_NOTIFY_INT_H

#include "notify.h"

#define NOTIFY_URLS_MAX 8

struct notify_cfg {
	char *urls[NOTIFY_URLS_MAX];
	size_t nurls;
	unsigned events; /* enum notify_type bits */
	enum notify_format format;
	char *tmpl;  /* format = template */
	char *ctype; /* template's content type */
	uint32_t timeout_s;
	uint32_t retries;
};

#endif /* MIKAKA_NOTIFY_INT_H */
