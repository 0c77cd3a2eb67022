/* call transfer: REFER (RFC 3515) blind transfer and REFER with Replaces (RFC 3891). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "media.h"
#include "cfg.h"
#include "peer.h"
#include "store.h"

#define LOG_MODULE "call"

/* Sends the transferor a NOTIFY of the refer subscription (RFC 3515 §2.4.4) with a sipfrag. */
static void refer_notify(struct call_leg *x, const char *frag, bool final)
{
	char ex[128];

	snprintf(ex, sizeof(ex), "Event: refer\r\nSubscription-State: %s\r\n",
		 final ? "terminated;reason=noresource" : "active;expires=60");
	call_leg_request(x, "NOTIFY", ex, "message/sipfrag;version=2.0", frag, NULL, NULL, NULL, 0);
}

/* Finds the leg of dialog (call_id, tag1, tag2) whose far end is a phone, tags in either order
 * (a Replaces names them as one side sees them). */
static struct call_leg *leg_find_dialog(struct call_eng *eng, const struct pl *call_id,
					const struct pl *t1, const struct pl *t2)
{
	struct call_leg *leg = call_leg_find(eng, call_id, t1, t2);

	return leg ? leg : call_leg_find(eng, call_id, t2, t1);
}

/* Joins two answered legs' media (after their partners left) and takes back a hold we passed
 * to either of them. */
static void legs_join(struct call_leg *y, struct call_leg *z)
{
	if (y->ml && z->ml && media_bridge(y->ml, z->ml))
		log_notice("%s: no common media with %s after the transfer", y->name, z->name);
	if (y->sent_dir_set && y->sent_dir != SDP_SENDRECV)
		call_pass_direction(z, y, SDP_SENDRECV, false);
	if (z->sent_dir_set && z->sent_dir != SDP_SENDRECV)
		call_pass_direction(y, z, SDP_SENDRECV, false);
}

/* REFER with Replaces (RFC 3891, RFC 5589 attended transfer): the phone x talks to y in this call
 * and to z in another; y and z are joined and both of x's legs end. */
static void call_refer_replaces(struct call_leg *x1, struct sip_strans *st,
				const struct pl *headers)
{
	struct call *c1 = x1->call, *c2;
	struct call_leg *y, *x2, *z;
	struct pl rest = *headers, rep = PL_INIT, cid, params, totag, fromtag;
	struct mbuf mb;
	const char *semi;

	while (rest.l) {
		const char *amp = pl_chr(&rest, '&');
		struct pl h = pl_from(rest.p, amp ? (size_t)(amp - rest.p) : rest.l);

		if (h.l > 9 && !strncasecmp(h.p, "Replaces=", 9))
			rep = pl_from(h.p + 9, h.l - 9);
		if (!amp)
			break;
		rest = pl_from(amp + 1, rest.l - (size_t)(amp + 1 - rest.p));
	}
	mbuf_init(&mb);
	if (!rep.l || sip_unescape(&rep, &mb) || mbuf_write(&mb, "", 1)) {
		mbuf_reset(&mb);
		sip_strans_reply(st, 400, "Bad Refer-To", NULL, NULL, NULL);
		return;
	}
	rep = pl_from((const char *)mb.buf, mb.end - 1);
	semi = pl_chr(&rep, ';');
	cid = pl_from(rep.p, semi ? (size_t)(semi - rep.p) : rep.l);
	params = semi ? pl_from(semi, rep.l - (size_t)(semi - rep.p)) : (struct pl)PL_INIT;
	x2 = NULL;
	if (cid.l && !sip_param_get(&params, "to-tag", &totag) &&
	    !sip_param_get(&params, "from-tag", &fromtag))
		x2 = leg_find_dialog(c1->eng, &cid, &totag, &fromtag);
	mbuf_reset(&mb);
	c2 = x2 ? x2->call : NULL;
	y = x1 == c1->a ? c1->b : c1->a;
	z = c2 ? (x2 == c2->a ? c2->b : x2 == c2->b ? c2->a : NULL) : NULL;
	if (!c2 || c2 == c1 || !z || c2->state != CALL_UP || strcmp(x2->peer, x1->peer)) {
		/* Only a dialog of the same phone can be replaced: no one joins other calls. */
		sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return;
	}
	if (!y || y->state != LEG_CONFIRMED || z->state != LEG_CONFIRMED || y->rct || z->rct ||
	    x1->rct || x2->rct || y->rst || z->rst) {
		sip_strans_reply(st, 491, "Request Pending", "Retry-After: 1\r\n", NULL, NULL);
		return;
	}
	sip_strans_reply(st, 202, "Accepted", NULL, NULL, NULL);
	refer_notify(x1, "SIP/2.0 100 Trying\r\n", false);
	refer_notify(x1, "SIP/2.0 200 OK\r\n", true);
	log_info("%s: attended transfer: %s joined with %s", x1->name, y->name, z->name);
	/* z moves into this call; the other call ends with x's second leg only. */
	list_unlink(&z->le_call);
	if (c2->a == z)
		c2->a = NULL;
	if (c2->b == z)
		c2->b = NULL;
	z->call = c1;
	list_append(&c1->legs, &z->le_call, z);
	call_hangup(c2, 16);
	call_leg_bye(x1);
	call_leg_free(x1);
	c1->a = y;
	c1->b = z;
	legs_join(y, z);
}

/* REFER (RFC 3515) from a phone in an answered call: a blind transfer. The phone's leg is let go
 * (202, NOTIFY 100 then 200, BYE) and the party it talked to is dialled anew to the Refer-To user
 * through the phone's own context, so the transfer obeys the same toll-fraud rules as a call
 * the phone places itself. A REFER with Replaces (attended transfer) gets 501. */
void call_refer(struct call_leg *x, struct sip_strans *st, const struct sip_msg *msg)
{
	struct call *c = x->call;
	const struct sip_hdr *rt = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	const struct peer *p = NULL;
	struct call_leg *y;
	struct sip_addr ra;
	struct pbx_chan *ch = NULL;
	char target[64], cnum[64], cname[80];

	if (!c || c->state != CALL_UP || (x != c->a && x != c->b)) {
		sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return;
	}
	y = x == c->a ? c->b : c->a;
	if (c->cfg && c->cfg->peers)
		p = peer_find(c->cfg->peers, x->peer);
	if (x->is_line || !p) {
		call_refused(c->eng, msg, "REFER from a leg that is not a phone");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	if (!rt || sip_addr_decode(&ra, &rt->value) || !ra.uri.user.l ||
	    ra.uri.user.l >= sizeof(target)) {
		sip_strans_reply(st, 400, "Bad Refer-To", NULL, NULL, NULL);
		return;
	}
	if (ra.uri.headers.l) {
		call_refer_replaces(x, st, &ra.uri.headers);
		return;
	}
	if (!y || y->state != LEG_CONFIRMED || y->rct || x->rct || y->rst || x->rst) {
		sip_strans_reply(st, 491, "Request Pending", "Retry-After: 1\r\n", NULL, NULL);
		return;
	}
	pl_strcpy(&ra.uri.user, target, sizeof(target));
	/* The transferred party's identity: the original caller, or the callee the phone had
	 * called (its number is what the phone dialled). */
	if (y == c->a) {
		snprintf(cnum, sizeof(cnum), "%s", c->cid_num);
		snprintf(cname, sizeof(cname), "%s", c->cid_name);
	} else {
		snprintf(cnum, sizeof(cnum), "%s", c->dst);
		cname[0] = '\0';
	}
	/* Refused here, with the call going on, when the phone's own context has nothing for it. */
	if (dialplan_find(c->cfg->dialplan, p->context, target, 1, NULL) ||
	    pbx_chan_alloc(&ch, c->cfg->dialplan, p->context, target, cnum, cname)) {
		log_notice("%s: transfer to %s@%s refused: no such extension", x->name, target,
			   p->context);
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		return;
	}
	sip_strans_reply(st, 202, "Accepted", NULL, NULL, NULL);
	refer_notify(x, "SIP/2.0 100 Trying\r\n", false);
	refer_notify(x, "SIP/2.0 200 OK\r\n", true);
	log_info("%s: blind transfer of %s to %s@%s", x->name, y->name, target, p->context);
	str_copy(c->parker, sizeof(c->parker), x->peer); /* a Park() there calls it back */
	call_leg_bye(x);
	call_leg_free(x); /* clears c->a or c->b */
	c->a = y;
	c->b = NULL;
	pbx_chan_free(c->chan);
	c->chan = ch;
	c->state = CALL_ROUTING;
	c->dial_open = false;
	c->best = 0;
	snprintf(c->dst, sizeof(c->dst), "%s", target);
	snprintf(c->dcontext, sizeof(c->dcontext), "%s", p->context);
	call_run(c);
}
