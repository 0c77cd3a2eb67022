/* notify: HTTP notifications of call events (ringing, answered, missed, voicemail left) to
 * webhooks (JSON, ntfy, Slack, Discord or a template), sent with libcurl's multi interface
 * driven by our event loop: a notification never blocks the loop nor delays a call. libcurl is
 * dlopened only when mikaka.conf has [notify]. See docs/SCREENING.md, Notifications. */
#ifndef MIKAKA_NOTIFY_H
#define MIKAKA_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"

struct loop;
struct notify;
struct notify_cfg;

enum notify_type {
	NOTIFY_RINGING = 1 << 0,   /* a call from the line reaches the phones */
	NOTIFY_ANSWERED = 1 << 1,  /* a phone answered it */
	NOTIFY_MISSED = 1 << 2,	   /* it ended unanswered (the caller gave up, nobody answered) */
	NOTIFY_VOICEMAIL = 1 << 3, /* a message was left (duration set) */
	NOTIFY_REJECTED = 1 << 4,  /* screening refused it (not in the default events) */
};

enum notify_format {
	NOTIFY_FMT_JSON,
	NOTIFY_FMT_NTFY,
	NOTIFY_FMT_SLACK,
	NOTIFY_FMT_DISCORD,
	NOTIFY_FMT_TEMPLATE
};

/* One event; the strings are copied when it is queued. */
struct notify_event {
	enum notify_type type;
	const char *call_id; /* the call record's uniqueid */
	int64_t time_ms;     /* Unix ms */
	const char *number;  /* the caller's number ("" when none) */
	const char *name;    /* phonebook or display name ("" when none) */
	const char *reason;  /* "number", "withheld", "payphone", ..., or the screening verdict */
	const char *called;  /* the line's number called */
	unsigned duration;   /* voicemail: seconds of the message */
};

/* "ringing", "answered", "missed", "voicemail", "rejected". */
const char *notify_type_name(enum notify_type t);

/* Reads [notify] of mikakaconf: url (repeatable; http:// or https:// only), events, format,
 * template (with ${event} ${call_id} ${time} ${number} ${name} ${reason} ${called}
 * ${duration}), content_type, timeout (s), retries. *cp NULL when there is no [notify]. Every
 * problem is a warning with file:line and the rest is used (a bad URL skipped, an unknown
 * variable expanding to nothing, a bad number keeping its default): notifications never stop
 * the PBX from starting. 0, or ENOMEM. */
int notify_cfg_load(struct notify_cfg **cp, const struct conf *mikakaconf,
		    struct conf_diags *diags);
void notify_cfg_free(struct notify_cfg *c);

/* The body and its content type for one event in the configured format (also for tests).
 * Extra header lines (ntfy's Title/Tags) into hdrs (may be NULL), "Name: value\n" each. */
int notify_format(const struct notify_cfg *c, const struct notify_event *ev, struct mbuf *body,
		  const char **ctype, struct mbuf *hdrs);

/* Starts the sender on loop with cfg (taken over: freed with the sender). Loads libcurl; ENOENT
 * (logged) when it cannot be loaded. */
int notify_alloc(struct notify **np, struct loop *loop, struct notify_cfg *cfg);
/* A reload: cfg (taken over; NULL: [notify] removed, nothing more is sent) replaces the
 * configuration; POSTs in flight finish with their own copy of the URL. */
void notify_set_cfg(struct notify *n, struct notify_cfg *cfg);
/* Abandons what is still in flight. NULL is accepted. */
void notify_free(struct notify *n);
/* Queues one POST per URL when the event is configured; returns at once (never blocks). NULL n
 * is accepted (no notifications). */
void notify_send(struct notify *n, const struct notify_event *ev);
/* Prometheus families: mikaka_notify_sent_total, mikaka_notify_failed_total,
 * mikaka_notify_retries_total, mikaka_notify_dropped_total (NULL n: zeros). */
int notify_metrics(const struct notify *n, struct mbuf *out);

#endif /* MIKAKA_NOTIFY_H */
