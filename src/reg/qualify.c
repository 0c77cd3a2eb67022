/* qualify: OPTIONS toward registered phones whose peer has qualify=yes, every qualifyfreq
 * seconds, measuring the round trip (Asterisk's qualify). A peer with qualify=no never gets one:
 * the carrier answers OPTIONS with 405. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "reg"
#include "reg_int.h"

static const struct peer *aor_peer(const struct reg_aor *aor)
{
	const struct peer *p = peer_find(aor->reg->cfg, aor->name);

	return p && p->dynamic && p->qualify_ms ? p : NULL;
}

static void aor_lastms_update(struct reg_aor *aor)
{
	int best = 0;
	bool any_down = false;

	LIST_FOREACH(&aor->contacts, le)
	{
		const struct reg_contact *c = le->data;

		if (c->lastms > 0 && (best <= 0 || c->lastms < best))
			best = c->lastms;
		else if (c->lastms < 0)
			any_down = true;
	}
	aor->lastms = best > 0 ? best : any_down ? -1 : 0;
}

static void options_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct reg_contact *c = arg;
	struct reg_aor *aor = c->aor;
	struct reg *reg = aor->reg;
	int was = c->lastms;

	if (!err && resp && resp->scode < 200)
		return;
	c->qct = NULL; /* final: the transaction finishes on its own */
	if (err) {
		c->lastms = -1;
	} else {
		uint64_t rtt = loop_now(reg->loop) - c->qsent;

		/* Any answer (even 404 or 405) says the phone is there. */
		c->lastms = rtt ? (int)MIN(rtt, (uint64_t)INT32_MAX) : 1;
	}
	if ((was < 0) != (c->lastms < 0))
		log_notice("%s: %s is %s", aor->name, c->uri,
			   c->lastms < 0 ? "UNREACHABLE" : "reachable again");
	aor_lastms_update(aor);
}

static void options_send(struct reg_contact *c)
{
	struct reg *reg = c->aor->reg;
	char branch[40], tag[24], callid[24], host[SA_STRLEN], from[SA_STRLEN + 64];
	struct sip_request_spec s;
	struct sa local = c->local;
	struct mbuf mb;
	int err;

	if (!sa_isset(&c->source))
		return;
	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(reg->stack), &c->source, &local);
	sa_ntop(&local, host, sizeof(host));
	sip_branch_new(branch, sizeof(branch));
	sip_tag_new(tag, sizeof(tag));
	sip_tag_new(callid, sizeof(callid));
	snprintf(from, sizeof(from), "<sip:mikaka@%s%s%s>;tag=%s",
		 sa_af(&local) == AF_INET6 ? "[" : "", host, sa_af(&local) == AF_INET6 ? "]" : "",
		 tag);
	{
		char to[600];

		snprintf(to, sizeof(to), "<%s>", c->uri);
		memset(&s, 0, sizeof(s));
		s.method = "OPTIONS";
		s.ruri = c->uri;
		s.tp = c->tp;
		s.via_host = host;
		s.via_port = sa_port(&local);
		s.branch = branch;
		s.rport = true;
		s.from = from;
		s.to = to;
		s.call_id = callid;
		s.cseq = 1;
		s.max_forwards = 70;
		s.extra = "Accept: application/sdp\r\n";
		mbuf_init(&mb);
		err = sip_build_request(&mb, &s);
	}
	if (!err) {
		c->qsent = loop_now(reg->loop);
		/* From the address the phone registered on (multi-homed: its side's address). */
		err = sip_ctrans_request_from(&c->qct, reg->stack, c->tp, &local, &c->source, &mb,
					      options_resp_h, c);
	}
	mbuf_reset(&mb);
	if (err) {
		c->qct = NULL;
		log_debug("%s: OPTIONS to %s not sent: %s", c->aor->name, c->uri, strerror(err));
	}
}

static void qualify_round_h(void *arg)
{
	struct reg_aor *aor = arg;
	const struct peer *p = aor_peer(aor);

	if (!p || !aor->contacts.count)
		return;
	LIST_FOREACH(&aor->contacts, le)
	{
		struct reg_contact *c = le->data;

		if (!c->qct)
			options_send(c);
	}
	loop_timer_start(aor->reg->loop, &aor->qtmr,
			 (uint64_t)(p->qualifyfreq ? p->qualifyfreq : 60) * 1000, qualify_round_h,
			 aor);
}

void reg_qualify_start(struct reg_aor *aor, bool soon)
{
	const struct peer *p;
	uint32_t r = 0;
	uint64_t delay;

	if (loop_timer_active(&aor->qtmr) || !aor->contacts.count)
		return;
	p = aor_peer(aor);
	if (!p)
		return;
	/* Spread the rounds: a thousand phones loaded at start are not probed in one burst. */
	rand_bytes(&r, sizeof(r));
	if (soon)
		delay = 200 + r % 2000;
	else
		delay = 1000 + r % ((uint64_t)(p->qualifyfreq ? p->qualifyfreq : 60) * 1000);
	loop_timer_start(aor->reg->loop, &aor->qtmr, delay, qualify_round_h, aor);
}

void reg_qualify_stop(struct reg_aor *aor)
{
	loop_timer_cancel(&aor->qtmr);
	LIST_FOREACH(&aor->contacts, le)
	{
		struct reg_contact *c = le->data;

		if (c->qct) {
			sip_ctrans_abandon(c->qct);
			c->qct = NULL;
		}
	}
}

void reg_qualify_contact_gone(struct reg_contact *c)
{
	if (c->qct) {
		sip_ctrans_abandon(c->qct);
		c->qct = NULL;
	}
}
