/* park: call parking (Asterisk's Park() and ParkedCall(), features.conf parkext/parkpos): an
 * answered call waits with music in a numbered space until a phone dials that space, or its
 * parking time is up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_int.h"
#include "cfg.h"
#include "media.h"

#define LOG_MODULE "call"

/* The call parked in space, or NULL. */
static struct call *parked_at(const struct call_eng *eng, unsigned space)
{
	LIST_FOREACH (&eng->parked, le) {
		struct call *c = le->data;

		if (c->park_space == space)
			return c;
	}
	return NULL;
}

void call_park_leave(struct call *c)
{
	if (!c->park_space)
		return;
	c->park_space = 0;
	list_unlink(&c->le_park);
	loop_timer_cancel(&c->tmr);
	if (c->a && c->a->ml && c->park_moh)
		media_leg_stop(c->a->ml);
	c->park_moh = false;
}

/* The parking time is up: Asterisk's comebacktoorigin rings the phone that parked the call (by
 * a transfer) again; otherwise, or when that is not answered, the dialplan goes on after Park(). */
static void park_timeout_h(void *arg)
{
	struct call *c = arg;
	const struct cfg_park *pk = &c->cfg->park;
	unsigned space = c->park_space;

	call_park_leave(c);
	log_notice("%s: parked on %u: time is up%s%s", c->a ? c->a->name : "?", space,
		   pk->comeback && c->parker[0] ? "; calling back " : "",
		   pk->comeback && c->parker[0] ? c->parker : "");
	if (pk->comeback && c->parker[0] && c->a && c->a->ml) {
		struct pbx_dial d;
		char who[sizeof(c->parker)];

		str_copy(who, sizeof(who), c->parker);
		memset(&d, 0, sizeof(d));
		d.targets[0].tech = "SIP";
		d.targets[0].peer = who;
		d.ntargets = 1;
		d.timeout_s = 30; /* Asterisk's comebackdialtime */
		c->parker[0] = '\0';
		/* Music until the phone answers (stopped as a Dial's m music is). */
		if (call_lm_moh_start(c, c->a, NULL) == 0)
			c->dial_moh = true;
		c->running = true; /* call_do_dial may ask for a rerun: that is call_run's */
		c->rerun = false;
		call_do_dial(c, &d);
		c->running = false;
		if (c->rerun)
			call_run(c);
		else if (c->state == CALL_ENDING)
			call_run(c); /* frees it */
		return;
	}
	call_run(c);
}

void call_park(struct call *c, const struct pbx_action *act)
{
	const struct cfg_park *pk = &c->cfg->park;
	uint32_t ms = act->park.timeout_ms ? act->park.timeout_ms : pk->time_s * 1000u;
	unsigned space = 0;
	char num[16];

	str_copy(c->lastapp, sizeof(c->lastapp), "Park");
	if (!c->a || !c->a->ml) {
		log_notice("%s: Park: no media to hold the call with", c->a ? c->a->name : "?");
		call_hangup(c, 34);
		return;
	}
	for (unsigned s = pk->first; s && s <= pk->last; s++) {
		if (!parked_at(c->eng, s)) {
			space = s;
			break;
		}
	}
	if (!space) {
		log_notice("%s: Park: all %u parking spaces are taken", c->a->name,
			   pk->last - pk->first + 1);
		call_hangup(c, 34);
		return;
	}
	call_answer_local(c);
	/* A transferred party may have been put on hold first: the music is for it to hear. */
	if (c->a->sent_dir_set && c->a->sent_dir != SDP_SENDRECV)
		call_pass_direction(c->a, c->a, SDP_SENDRECV, false);
	c->park_moh = call_lm_moh_start(c, c->a, NULL) == 0;
	c->park_space = space;
	c->park_until_ms = call_wall_ms() + ms;
	list_append(&c->eng->parked, &c->le_park, c);
	snprintf(num, sizeof(num), "%u", space);
	pbx_chan_set_var(c->chan, "PARKINGSLOT", num);
	pbx_chan_set_var(c->chan, "PARKEDLOT", "default");
	loop_timer_start(c->eng->loop, &c->tmr, ms, park_timeout_h, c);
	log_notice("%s: parked on %u for %u s%s%s", c->a->name, space, (ms + 999) / 1000,
		   c->parker[0] ? " by " : "", c->parker);
}

void call_parked_call(struct call *c, const struct pbx_action *act)
{
	const char *s = act->park.space ? act->park.space : "";
	struct call *p = NULL;
	struct call_leg *y;

	str_copy(c->lastapp, sizeof(c->lastapp), "ParkedCall");
	str_copy(c->lastdata, sizeof(c->lastdata), s);
	if (*s && strspn(s, "0123456789") == strlen(s))
		p = parked_at(c->eng, (unsigned)strtoul(s, NULL, 10));
	else if (c->eng->parked.head) /* no space named: the longest parked (Asterisk) */
		p = c->eng->parked.head->data;
	if (!p || !p->a || !c->a || !c->a->ml || p == c) {
		log_notice("%s: ParkedCall(%s): no call parked there", c->a ? c->a->name : "?", s);
		c->best = 404; /* an END after this answers the phone 404 */
		c->rerun = true;
		return;
	}
	y = p->a;
	call_park_leave(p);
	log_notice("%s: takes %s from parking space %s", c->a->name, y->name, s[0] ? s : "(first)");
	/* y moves into this call as its callee; the parked call ends without it. */
	list_unlink(&y->le_call);
	p->a = NULL;
	y->call = c;
	list_append(&c->legs, &y->le_call, y);
	str_copy(p->done_a, sizeof(p->done_a), y->name);
	str_copy(p->done_b, sizeof(p->done_b), c->a->name);
	call_hangup(p, 16);
	call_answer_local(c);
	c->b = y;
	c->state = CALL_UP;
	c->dialled = true;
	pbx_chan_set_var(c->chan, "DIALSTATUS", "ANSWER");
	if (media_bridge(c->a->ml, y->ml))
		log_notice("%s: no common media with %s", c->a->name, y->name);
}

int call_park_show(const struct call_eng *eng, struct mbuf *out)
{
	int64_t now = call_wall_ms();
	size_t n = 0;

	mbuf_printf(out, "%-6s %-28s %-10s %s\n", "Space", "Channel", "Parked by", "Timeout");
	LIST_FOREACH (&eng->parked, le) {
		const struct call *c = le->data;
		int64_t left = c->park_until_ms - now;

		mbuf_printf(out, "%-6u %-28s %-10s %llds\n", c->park_space, c->a ? c->a->name : "?",
			    c->parker[0] ? c->parker : "-",
			    (long long)(left > 0 ? (left + 999) / 1000 : 0));
		n++;
	}
	return mbuf_printf(out, "%zu parked call%s\n", n, n == 1 ? "" : "s");
}
