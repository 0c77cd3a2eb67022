/* call: the B2BUA core: calls, legs as RFC 3261 dialogs, the dialplan step machine driven per
 * call, Dial() forking, CANCEL, BYE, re-INVITE/UPDATE, PRACK, session timers and call records. */
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

#define CALL_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER"
#define CALL_SUPPORTED "timer, 100rel"

static void leg_free(struct call_leg *leg);
static void run(struct call *c);
static void pass_direction(struct call_leg *from, struct call_leg *to, enum sdp_dir dir,
			   bool legacy);
static void call_maybe_free(struct call *c);
static void b_resp_h(int err, const struct sip_msg *resp, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 */

int64_t call_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dupf(const char *fmt, ...) PRINTF_LIKE(1, 2);
static char *dupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* A header value copied for reuse in a header line: folded line ends become spaces. */
static char *dup_value(const struct pl *v)
{
	char *s = pl_strdup(v);

	for (char *p = s; p && *p; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
	return s;
}

/* The value of a header with the tag parameter removed (the other parameters kept). */
static char *dup_without_tag(const struct pl *v)
{
	char *s = dup_value(v);
	char *t;

	if (!s)
		return NULL;
	t = strcasestr(s, ";tag=");
	if (t) {
		char *e = t + 5;

		while (*e && *e != ';')
			e++;
		memmove(t, e, strlen(e) + 1);
	}
	return s;
}

static void set_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

void call_refused(struct call_eng *eng, const struct sip_msg *msg, const char *why)
{
	char a[SA_STRLEN];

	eng->n_refused++;
	log_notice("refused %.*s from %s (%.*s -> %.*s): %s", PL_ARG(msg->method),
		   sa_fmt(&msg->src, a, sizeof(a)), PL_ARG(msg->from.uri.user),
		   PL_ARG(msg->uri.user), why);
}

/* ---------------------------------------------------------------------------------------------
 * Code mappings
 */

const char *call_dialstatus_for(uint16_t code)
{
	switch (code) {
	case 200 ... 299:
		return "ANSWER";
	case 486:
	case 600:
		return "BUSY";
	case 408:
	case 480:
	case 487:
		return "NOANSWER";
	case 404:
	case 484:
	case 410:
	case 604:
		return "CHANUNAVAIL";
	case 500 ... 599:
		return "CONGESTION";
	default:
		return "CHANUNAVAIL";
	}
}

unsigned call_cause_for(uint16_t code)
{
	switch (code) {
	case 200 ... 299:
		return 16;
	case 401:
	case 402:
	case 403:
	case 407:
	case 603:
		return 21;
	case 404:
	case 485:
	case 604:
		return 1;
	case 408:
	case 504:
		return 102;
	case 410:
		return 22;
	case 480:
	case 487:
		return 19;
	case 484:
		return 28;
	case 486:
	case 600:
		return 17;
	case 488:
	case 606:
		return 65;
	case 500:
		return 41;
	case 502:
		return 38;
	case 503:
		return 34;
	default:
		return 31;
	}
}

uint16_t call_code_for_cause(unsigned cause)
{
	switch (cause) {
	case 1:
	case 2:
	case 3:
		return 404;
	case 17:
		return 486;
	case 18:
	case 19:
	case 16:
		return 480;
	case 20:
		return 480;
	case 21:
		return 403;
	case 22:
		return 410;
	case 27:
		return 502;
	case 28:
		return 484;
	case 29:
		return 501;
	case 34:
	case 38:
	case 41:
	case 42:
		return 503;
	case 102:
		return 504;
	default:
		return 500;
	}
}

static const char *reason_for(uint16_t code)
{
	switch (code) {
	case 180: return "Ringing";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 484: return "Address Incomplete";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 491: return "Request Pending";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 603: return "Decline";
	default: return "Error";
	}
}

/* ---------------------------------------------------------------------------------------------
 * Caller and called numbers
 */

/* User part (sip:) or number (tel:) of a name-addr, without visual separators. */
static int addr_number(const struct pl *value, char *buf, size_t size, char *name, size_t nsize)
{
	struct sip_addr a;
	size_t n = 0;

	if (sip_addr_decode(&a, value))
		return EBADMSG;
	if (name && nsize) {
		name[0] = '\0';
		if (pl_isset(&a.dname))
		{
			struct pl dn = pl_from(a.dname.p, MIN(a.dname.l, nsize - 1));

			pl_strcpy(&dn, name, nsize);
		}
	}
	if (a.uri.scheme != SIP_URI_SIP && a.uri.scheme != SIP_URI_SIPS &&
	    a.uri.scheme != SIP_URI_TEL)
		return EPROTONOSUPPORT;
	if (pl_caseeq_str(&a.uri.host, "anonymous.invalid") ||
	    pl_caseeq_str(&a.uri.user, "anonymous")) {
		snprintf(buf, size, "anonymous");
		return 0;
	}
	for (size_t i = 0; i < a.uri.user.l && n + 1 < size; i++) {
		char c = a.uri.user.p[i];

		if (c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return n ? 0 : ENOENT;
}

int call_called_number(const struct sip_msg *msg, char *buf, size_t size)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_P_CALLED_PARTY_ID);

	if (!buf || size < 2)
		return EINVAL;
	if (h && addr_number(&h->value, buf, size, NULL, 0) == 0)
		return 0;
	if (msg->to_ok) {
		const struct sip_hdr *t = sip_msg_hdr(msg, SIP_HDR_TO);

		if (t && addr_number(&t->value, buf, size, NULL, 0) == 0)
			return 0;
	}
	return ENOENT;
}

int call_caller_id(const struct sip_msg *msg, char *num, size_t nsize, char *name,
		   size_t namesize)
{
	const struct sip_hdr *f = sip_msg_hdr(msg, SIP_HDR_FROM);
	struct sip_hdr_iter it;
	struct pl v;

	if (!num || nsize < 2)
		return EINVAL;
	if (f && addr_number(&f->value, num, nsize, name, namesize) == 0 &&
	    strcmp(num, "anonymous") == 0)
		return 0; /* withheld: PAI is stripped anyway; never trust one that is left */
	sip_hdr_iter_init(&it, msg, SIP_HDR_P_ASSERTED_IDENTITY, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		char nm[80];

		if (addr_number(&v, num, nsize, nm, sizeof(nm)) == 0) {
			if (name && namesize && nm[0])
				snprintf(name, namesize, "%s", nm);
			return 0;
		}
	}
	if (f && addr_number(&f->value, num, nsize, name, namesize) == 0)
		return 0;
	snprintf(num, nsize, "anonymous");
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Legs
 */

static uint32_t leg_key(const char *call_id)
{
	struct pl p = pl_from_str(call_id);

	return hash_bytes(p.p, p.l);
}

static struct call_leg *leg_alloc(struct call_eng *eng, struct call *c, bool uac)
{
	struct call_leg *leg = calloc(1, sizeof(*leg));

	if (!leg)
		return NULL;
	leg->eng = eng;
	leg->call = c;
	leg->uac = uac;
	mbuf_init(&leg->ok);
	mbuf_init(&leg->ack);
	if (c)
		list_append(&c->legs, &leg->le_call, leg);
	return leg;
}

static void leg_index(struct call_leg *leg)
{
	htab_add(&leg->eng->legs, &leg->le_hash, leg_key(leg->call_id), leg);
}

static void leg_free(struct call_leg *leg)
{
	if (!leg)
		return;
	call_media_leg_free(leg);
	if (leg->st)
		sip_strans_reply(leg->st, 500, "Server Internal Error", NULL, NULL, NULL);
	if (leg->rst)
		sip_strans_reply(leg->rst, 500, "Server Internal Error", NULL, NULL, NULL);
	if (leg->pend_st)
		sip_strans_reply(leg->pend_st, 500, "Server Internal Error", NULL, NULL, NULL);
	loop_timer_cancel(&leg->prov_tmr);
	mbuf_reset(&leg->prov);
	free(leg->pend_sdp);
	sip_ctrans_abandon(leg->ct);
	sip_ctrans_abandon(leg->acc_ct);
	mem_deref(leg->acc_ct);
	loop_timer_cancel(&leg->acc_tmr);
	sip_ctrans_abandon(leg->rct);
	loop_timer_cancel(&leg->ok_tmr);
	loop_timer_cancel(&leg->se_tmr);
	htab_unlink(&leg->eng->legs, &leg->le_hash);
	list_unlink(&leg->le_call);
	list_unlink(&leg->le_eng);
	if (leg->call) {
		if (leg->call->a == leg)
			leg->call->a = NULL;
		if (leg->call->b == leg)
			leg->call->b = NULL;
	}
	mem_deref(leg->inv);
	mbuf_reset(&leg->ok);
	mbuf_reset(&leg->ack);
	free(leg->call_id);
	free(leg->ltag);
	free(leg->rtag);
	free(leg->lhdr);
	free(leg->rhdr);
	free(leg->target);
	free(leg->routes);
	free(leg->contact);
	free(leg->sdp_remote);
	free(leg->sdp_local);
	free(leg->inv_extra);
	free(leg);
}

/* Finds the leg of an in-dialog message: Call-ID and our tag, and the peer's tag when known. */
static struct call_leg *leg_find(struct call_eng *eng, const struct pl *call_id,
				 const struct pl *ltag, const struct pl *rtag)
{
	struct list *b = htab_bucket(&eng->legs, hash_bytes(call_id->p, call_id->l));

	LIST_FOREACH (b, le) {
		struct call_leg *leg = le->data;

		if (!pl_eq_str(call_id, leg->call_id) || !leg->ltag || !pl_eq_str(ltag, leg->ltag))
			continue;
		if (leg->rtag && rtag && pl_isset(rtag) && !pl_eq_str(rtag, leg->rtag))
			continue;
		return leg;
	}
	return NULL;
}

static struct call_leg *leg_other(const struct call_leg *leg)
{
	struct call *c = leg->call;

	if (!c)
		return NULL;
	return leg == c->a ? c->b : c->a;
}

/* Route set from the Record-Route headers: as written (UAS) or reversed (UAC). */
static char *route_set(const struct sip_msg *msg, bool reverse)
{
	struct sip_hdr_iter it;
	struct pl v;
	struct mbuf mb;
	char *out = NULL;
	struct pl vals[32];
	size_t n = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_RECORD_ROUTE, NULL);
	while (n < ARRAY_SIZE(vals) && sip_hdr_iter_next(&it, &v))
		vals[n++] = v;
	if (!n)
		return NULL;
	mbuf_init(&mb);
	for (size_t i = 0; i < n; i++) {
		const struct pl *p = &vals[reverse ? n - 1 - i : i];

		mbuf_write_str(&mb, "Route: ");
		for (size_t k = 0; k < p->l; k++)
			mbuf_write(&mb, (p->p[k] == '\r' || p->p[k] == '\n') ? " " : &p->p[k], 1);
		mbuf_write_str(&mb, "\r\n");
	}
	mbuf_write(&mb, "", 1);
	out = strdup((const char *)mb.buf);
	mbuf_reset(&mb);
	return out;
}

/* The Record-Route lines of a request, copied into responses (RFC 3261 §12.1.1). */
static void copy_record_route(const struct sip_msg *msg, struct mbuf *mb)
{
	for (size_t i = 0; i < msg->nhdrs; i++) {
		if (msg->hdrs[i].id != SIP_HDR_RECORD_ROUTE)
			continue;
		mbuf_write_str(mb, "Record-Route: ");
		for (size_t k = 0; k < msg->hdrs[i].value.l; k++) {
			char ch = msg->hdrs[i].value.p[k];

			mbuf_write(mb, (ch == '\r' || ch == '\n') ? " " : &ch, 1);
		}
		mbuf_write_str(mb, "\r\n");
	}
}

static char *contact_uri(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr a;
	struct pl v;
	struct sip_hdr_iter it;

	if (!h)
		return NULL;
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT, NULL);
	if (!sip_hdr_iter_next(&it, &v) || sip_addr_decode(&a, &v))
		return NULL;
	return pl_strdup(&a.auri);
}

static char *body_dup(const struct sip_msg *msg)
{
	return msg->body.l ? pl_strdup(&msg->body) : NULL;
}

/* Session-Expires value and refresher ("uac"/"uas"/unset) of a message; 0 when absent. */
static uint32_t session_expires(const struct sip_msg *msg, struct pl *refresher)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
	struct pl v, num, params;
	const char *semi;
	uint32_t se = 0;

	if (refresher)
		*refresher = (struct pl)PL_INIT;
	if (!h)
		return 0;
	v = h->value;
	semi = pl_chr(&v, ';');
	num = pl_from(v.p, semi ? (size_t)(semi - v.p) : v.l);
	pl_trim(&num);
	if (pl_u32(&num, &se))
		return 0;
	if (semi && refresher) {
		params = pl_from(semi, v.l - (size_t)(semi - v.p));
		sip_param_get(&params, "refresher", refresher);
	}
	return se;
}

static uint32_t min_se_of(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_MIN_SE);
	struct pl v;
	const char *semi;
	uint32_t n = 0;

	if (!h)
		return 0;
	v = h->value;
	semi = pl_chr(&v, ';');
	if (semi)
		v.l = (size_t)(semi - v.p);
	pl_trim(&v);
	return pl_u32(&v, &n) ? 0 : n;
}

/* ---------------------------------------------------------------------------------------------
 * Sending inside a dialog
 */

/* Next hop: the leg's fixed destination (the peer's source, the line server, the registered
 * contact's source): for the peers mikaka talks to, that is where their Record-Route and
 * Contact lead as well. */
static int leg_request(struct call_leg *leg, const char *method, const char *extra,
		       const char *ctype, const char *body, sip_response_h *h, void *arg,
		       struct sip_ctrans **ctp, uint32_t cseq_override)
{
	struct sip_request_spec s = {0};
	char branch[40], host[SA_STRLEN], from[1024], to[1024];
	struct pl bpl = body ? pl_from_str(body) : (struct pl)PL_INIT;
	struct mbuf mb, ex;
	int err;

	sip_branch_new(branch, sizeof(branch));
	snprintf(from, sizeof(from), "%s;tag=%s", leg->lhdr, leg->ltag);
	if (leg->uac && leg->rtag)
		snprintf(to, sizeof(to), "%s;tag=%s", leg->rhdr, leg->rtag);
	else
		snprintf(to, sizeof(to), "%s", leg->rhdr);
	mbuf_init(&ex);
	if (leg->routes)
		mbuf_write_str(&ex, leg->routes);
	if (extra)
		mbuf_write_str(&ex, extra);
	mbuf_write(&ex, "", 1);
	s.method = method;
	s.ruri = leg->target;
	s.tp = leg->tp;
	s.via_host = sa_ntop(&leg->local, host, sizeof(host));
	s.via_port = sa_port(&leg->local);
	s.branch = branch;
	s.rport = !leg->is_line;
	s.from = from;
	s.to = to;
	s.call_id = leg->call_id;
	s.max_forwards = -1;
	if (cseq_override) {
		s.cseq = cseq_override;
	} else {
		s.cseq = ++leg->lcseq;
	}
	s.contact = strcmp(method, "BYE") && strcmp(method, "PRACK") ? leg->contact : NULL;
	s.extra = (const char *)ex.buf;
	s.ctype = body ? ctype : NULL;
	s.body = body ? &bpl : NULL;
	mbuf_init(&mb);
	err = sip_build_request(&mb, &s);
	if (!err) {
		if (!strcmp(method, "ACK"))
			err = sip_transp_send(leg->eng->tp, leg->tp, NULL, &leg->local, &leg->dst,
					      mb.buf, mb.end);
		else
			err = sip_ctrans_request_from(ctp, leg->eng->stack, leg->tp, &leg->local,
						      &leg->dst, &mb, h, arg);
		if (!strcmp(method, "ACK") && !err) {
			mbuf_reset(&leg->ack);
			mbuf_write(&leg->ack, mb.buf, mb.end);
		}
	}
	mbuf_reset(&mb);
	mbuf_reset(&ex);
	if (err)
		log_warn("%s: sending %s failed: %s", leg->name, method, strerror(err));
	return err;
}

static void leg_bye(struct call_leg *leg)
{
	if (leg->state != LEG_CONFIRMED)
		return;
	leg->state = LEG_TERMINATED;
	leg_request(leg, "BYE", NULL, NULL, NULL, NULL, NULL, NULL, 0);
}

/* Headers every response we send on the caller's leg carries; req is the request answered. */
static void a_headers(struct call_leg *leg, const struct sip_msg *req, struct mbuf *mb,
		      uint16_t code)
{
	mbuf_printf(mb, "Contact: %s\r\nAllow: " CALL_ALLOW "\r\nSupported: " CALL_SUPPORTED "\r\n",
		    leg->contact);
	if (leg->inv)
		copy_record_route(leg->inv, mb);
	if (code >= 200 && code < 300 && leg->se) {
		mbuf_printf(mb, "Session-Expires: %u;refresher=%s\r\n", leg->se,
			    leg->refresher ? "uas" : "uac");
		/* RFC 4028 §9: the refresher is the UAC, so its support becomes a requirement;
		 * on refreshes too, not only on the first 2xx. */
		if (req && (sip_msg_has_option(req, SIP_HDR_SUPPORTED, "timer") ||
			    sip_msg_has_option(req, SIP_HDR_REQUIRE, "timer")))
			mbuf_write_str(mb, "Require: timer\r\n");
	}
}

static void ok_retx_h(void *arg)
{
	struct call_leg *leg = arg;
	struct call_eng *eng = leg->eng;

	if (!leg->inv || !leg->ok.end)
		return;
	if (loop_now(eng->loop) - leg->ok_started >= 64 * SIP_T1_DEFAULT) {
		/* RFC 3261 §13.3.1.4: no ACK: the dialog ends with a BYE. */
		log_warn("%s: no ACK for our 2xx: ending the call", leg->name);
		leg->inv = mem_deref(leg->inv);
		mbuf_reset(&leg->ok);
		if (leg->call)
			call_hangup(leg->call, 102);
		return;
	}
	sip_transp_send_response(eng->tp, leg->inv, leg->ok.buf, leg->ok.end);
	leg->ok_interval = MIN(leg->ok_interval * 2, SIP_T2_DEFAULT);
	loop_timer_start(eng->loop, &leg->ok_tmr, leg->ok_interval, ok_retx_h, leg);
}

static void a_reply(struct call_leg *leg, struct sip_strans **stp, uint16_t code,
		    const char *sdp);

static void prov_stop(struct call_leg *leg)
{
	loop_timer_cancel(&leg->prov_tmr);
	mbuf_reset(&leg->prov);
	leg->prov_sdp = false;
}

static void prov_retx_h(void *arg)
{
	struct call_leg *leg = arg;
	struct call_eng *eng = leg->eng;
	struct sip_strans *st = leg->st ? leg->st : leg->pend_st;

	uint64_t elapsed;

	if (!leg->prov.end || !st)
		return;
	elapsed = loop_now(eng->loop) - leg->prov_started;
	if (elapsed >= 64 * SIP_T1_DEFAULT) {
		/* RFC 3262 §3: no PRACK in 64*T1: the INVITE is rejected with a 5xx. */
		log_warn("%s: no PRACK for our reliable %u: ending the call", leg->name,
			 (unsigned)leg->pend_code);
		prov_stop(leg);
		if (leg->pend_st) {
			leg->st = leg->pend_st;
			leg->pend_st = NULL;
			leg->state = LEG_EARLY;
		}
		leg->pend_code = 0;
		a_reply(leg, &leg->st, 504, NULL);
		if (leg->call)
			call_hangup(leg->call, 102);
		return;
	}
	sip_strans_reply_raw(st, 180, &leg->prov);
	/* No T2 cap here: RFC 3262 §3 doubles the interval on every retransmission; the last
	 * wait is cut so the 5xx comes at 64*T1 exactly. */
	leg->prov_interval *= 2;
	elapsed = loop_now(eng->loop) - leg->prov_started;
	loop_timer_start(eng->loop, &leg->prov_tmr,
			 (uint32_t)MIN((uint64_t)leg->prov_interval, 64 * SIP_T1_DEFAULT - elapsed),
			 prov_retx_h, leg);
}

/* A PRACK on the caller's leg: acknowledges our outstanding reliable provisional when its RAck
 * names it exactly (RSeq, CSeq number and method), then sends what waited for it. */
static void a_prack(struct call_leg *leg, struct sip_strans *st, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_RACK);
	uint32_t rseq = 0, cseq = 0;
	char method[16] = "";
	char *sdp;
	uint16_t code;

	if (h) {
		char v[96];

		pl_strcpy(&h->value, v, sizeof(v));
		if (sscanf(v, "%u %u %15s", &rseq, &cseq, method) != 3)
			rseq = 0;
	}
	if (!rseq || rseq != leg->prov_rseq || !leg->inv || cseq != leg->inv->cseq.num ||
	    strcasecmp(method, "INVITE")) {
		sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return;
	}
	sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
	if (!leg->prov.end)
		return; /* a PRACK we already took (a new transaction with the same RAck) */
	prov_stop(leg);
	code = leg->pend_code;
	leg->pend_code = 0;
	sdp = leg->pend_sdp;
	leg->pend_sdp = NULL;
	if (code >= 200 && leg->pend_st) {
		struct sip_strans *pst = leg->pend_st;

		leg->pend_st = NULL;
		a_reply(leg, &pst, code, sdp);
	} else if (code && leg->st) {
		a_reply(leg, &leg->st, code, sdp);
	}
	free(sdp);
}

/* Sends a provisional reliably (Require: 100rel, RSeq), or queues it behind the one not yet
 * PRACKed (RFC 3262 §3 allows one at a time). */
static void a_reply_reliable(struct call_leg *leg, struct sip_strans *st, uint16_t code,
			     const char *sdp)
{
	const struct sip_msg *req = sip_strans_msg(st);
	struct pl body = sdp ? pl_from_str(sdp) : (struct pl)PL_INIT;
	struct mbuf ex;

	if (leg->prov.end) {
		/* Keep the one that matters most: a session description beats plain ringing. */
		if (!leg->pend_code || sdp || !leg->pend_sdp) {
			leg->pend_code = code;
			set_str(&leg->pend_sdp, sdp ? strdup(sdp) : NULL);
		}
		return;
	}
	mbuf_init(&ex);
	a_headers(leg, req, &ex, code);
	mbuf_printf(&ex, "Require: 100rel\r\nRSeq: %u\r\n", ++leg->prov_rseq);
	mbuf_write(&ex, "", 1);
	mbuf_reset(&leg->prov);
	if (!sip_build_response(&leg->prov, req, code, reason_for(code), sip_strans_totag(st),
				(const char *)ex.buf, sdp ? "application/sdp" : NULL,
				sdp ? &body : NULL) &&
	    !sip_strans_reply_raw(st, code, &leg->prov)) {
		leg->prov_sdp = sdp != NULL;
		leg->prov_interval = SIP_T1_DEFAULT;
		leg->prov_started = loop_now(leg->eng->loop);
		loop_timer_start(leg->eng->loop, &leg->prov_tmr, leg->prov_interval, prov_retx_h,
				 leg);
		if (sdp)
			set_str(&leg->sdp_local, strdup(sdp));
	} else {
		mbuf_reset(&leg->prov);
	}
	mbuf_reset(&ex);
}

/* Answers the caller's INVITE (or re-INVITE) transaction st. A 2xx is built here and resent
 * until the ACK (RFC 6026: the transaction does not). Toward a caller that takes 100rel, 18x go
 * reliably and a 2xx waits while a reliable 18x with SDP is unacknowledged. */
static void a_reply(struct call_leg *leg, struct sip_strans **stp, uint16_t code,
		    const char *sdp)
{
	struct sip_strans *st = *stp;
	const struct sip_msg *req;
	struct mbuf ex, mb;
	struct pl body = sdp ? pl_from_str(sdp) : (struct pl)PL_INIT;

	if (!st)
		return;
	req = sip_strans_msg(st);
	if (leg->rel100 && st == leg->st && req->mid == SIP_METHOD_INVITE) {
		if (code > 100 && code < 200) {
			a_reply_reliable(leg, st, code, sdp);
			return;
		}
		if (code >= 200 && code < 300 && leg->prov.end && leg->prov_sdp) {
			/* RFC 3262 §3: no 2xx before the PRACK of an 18x that carried SDP. */
			leg->pend_code = code;
			set_str(&leg->pend_sdp, sdp ? strdup(sdp) : NULL);
			leg->pend_st = st;
			leg->st = NULL;
			*stp = NULL;
			return;
		}
		if (code >= 200) {
			prov_stop(leg);
			leg->pend_code = 0;
		}
	}
	mbuf_init(&ex);
	if (code > 100)
		a_headers(leg, req, &ex, code);
	if (code >= 300 && code != 487)
		mbuf_printf(&ex, "Reason: Q.850;cause=%u\r\n", call_cause_for(code));
	if (code == 503)
		mbuf_printf(&ex, "Retry-After: %u\r\n", leg->eng->set.retry_after);
	mbuf_write(&ex, "", 1);
	if (code >= 200 && code < 300 && req->mid == SIP_METHOD_INVITE) {
		mbuf_init(&mb);
		if (!sip_build_response(&mb, req, code, reason_for(code), sip_strans_totag(st),
					(const char *)ex.buf, sdp ? "application/sdp" : NULL,
					sdp ? &body : NULL)) {
			sip_strans_reply_raw(st, code, &mb);
			mbuf_reset(&leg->ok);
			mbuf_write(&leg->ok, mb.buf, mb.end);
			if (leg->inv != req) {
				mem_deref(leg->inv);
				leg->inv = mem_ref((void *)req);
			}
			leg->ok_interval = SIP_T1_DEFAULT;
			leg->ok_started = loop_now(leg->eng->loop);
			loop_timer_start(leg->eng->loop, &leg->ok_tmr, leg->ok_interval, ok_retx_h,
					 leg);
		}
		mbuf_reset(&mb);
	} else {
		sip_strans_reply(st, code, reason_for(code), (const char *)ex.buf,
				 sdp ? "application/sdp" : NULL, sdp ? &body : NULL);
	}
	mbuf_reset(&ex);
	if (code >= 200)
		*stp = NULL;
	if (sdp)
		set_str(&leg->sdp_local, strdup(sdp));
}

/* ---------------------------------------------------------------------------------------------
 * Session timers (RFC 4028)
 */

static void se_refresh_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg;

	if (resp && resp->scode < 200)
		return;
	leg->rct = NULL;
	if (err || (resp && (resp->scode == 481 || resp->scode == 408))) {
		log_notice("%s: session refresh failed (%d): ending the call", leg->name,
			   resp ? resp->scode : 0);
		if (leg->call)
			call_hangup(leg->call, 102);
	}
}

static void se_timer_start(struct call_leg *leg);

static void se_timer_h(void *arg)
{
	struct call_leg *leg = arg;
	char ex[128];

	if (!leg->call || leg->state != LEG_CONFIRMED)
		return;
	if (!leg->refresher) {
		log_notice("%s: session expired (no refresh in %u s): ending the call", leg->name,
			   leg->se);
		call_hangup(leg->call, 102);
		return;
	}
	snprintf(ex, sizeof(ex), "Session-Expires: %u;refresher=%s\r\nSupported: timer\r\n",
		 leg->se, leg->uac ? "uac" : "uas");
	if (leg->rct) {
		/* A relayed offer is in flight: it refreshes the session too. */
	} else if (leg->allow_update) {
		leg_request(leg, "UPDATE", ex, NULL, NULL, se_refresh_resp_h, leg, &leg->rct, 0);
	} else {
		leg_request(leg, "INVITE", ex, "application/sdp", leg->sdp_local,
			    se_refresh_resp_h, leg, &leg->rct, 0);
	}
	se_timer_start(leg);
}

static void se_timer_start(struct call_leg *leg)
{
	uint64_t ms;

	if (!leg->se) {
		loop_timer_cancel(&leg->se_tmr);
		return;
	}
	if (leg->refresher)
		ms = (uint64_t)leg->se * 500;
	else
		ms = (uint64_t)leg->se * 1000 - (uint64_t)MIN(32, leg->se / 3) * 1000;
	loop_timer_start(leg->eng->loop, &leg->se_tmr, ms, se_timer_h, leg);
}

/* ---------------------------------------------------------------------------------------------
 * Calls
 */

static void set_dialstatus(struct call *c, uint16_t code)
{
	char cause[16];

	pbx_chan_set_var(c->chan, "DIALSTATUS", call_dialstatus_for(code));
	snprintf(cause, sizeof(cause), "%u", call_cause_for(code));
	pbx_chan_set_var(c->chan, "HANGUPCAUSE", cause);
}

static bool legs_pending(const struct call *c)
{
	LIST_FOREACH (&c->legs, le) {
		const struct call_leg *leg = le->data;

		if (leg->uac && leg->state != LEG_TERMINATED && leg->state != LEG_CONFIRMED)
			return true;
	}
	return false;
}

static void cancel_pending(struct call *c, struct call_leg *except, const char *reason)
{
	LIST_FOREACH (&c->legs, le) {
		struct call_leg *leg = le->data;

		if (leg == except || !leg->uac || !leg->ct || leg->cancelled)
			continue;
		leg->cancelled = true;
		call_media_leg_free(leg); /* a loser: its ports go back at once */
		sip_ctrans_cancel(leg->ct, reason);
	}
}

/* A Dial() is over when nobody is left ringing: DIALSTATUS, and the dialplan goes on. */
static void dial_check(struct call *c)
{
	if (!c->dial_open || legs_pending(c))
		return;
	c->dial_open = false;
	loop_timer_cancel(&c->tmr);
	set_dialstatus(c, c->best ? c->best : 480);
	if (c->state == CALL_DIALING)
		c->state = CALL_ROUTING;
	run(c);
}

static void note_final(struct call *c, uint16_t code)
{
	/* Busy beats everything; otherwise the first real answer; a 487 of our own CANCEL only
	 * when nothing else came. */
	if (code == 486 || code == 600)
		c->best = 486;
	else if (!c->best || c->best == 487 || c->best == 408)
		c->best = code;
}

void call_cdr_write(struct call *c)
{
	struct store_cdr r = {0};
	char uid[48];
	struct mbuf media;
	const char *chan = c->a ? c->a->name : "";
	const char *dchan = "";
	const char *cid_a = c->a ? c->a->call_id : "";
	const char *cid_b = "";

	if (!c->eng->store)
		return;
	if (c->b) {
		dchan = c->b->name;
		cid_b = c->b->call_id;
	} else {
		LIST_FOREACH (&c->legs, le) {
			const struct call_leg *leg = le->data;

			if (leg->uac) {
				dchan = leg->name;
				cid_b = leg->call_id;
			}
		}
	}
	snprintf(uid, sizeof(uid), "%lld.%llu", (long long)(c->start_ms / 1000),
		 (unsigned long long)c->id);
	mbuf_init(&media);
	mbuf_printf(&media, "{\"hangupcause\":%u,\"callid\":\"%s\",\"dstcallid\":\"%s\"",
		    c->cause, str_or(cid_a, ""), str_or(cid_b, ""));
	if (c->eng->media && c->a) {
		mbuf_write_str(&media, ",\"rtp\":");
		call_media_json(c->a, &media);
		mbuf_write_str(&media, ",\"dstrtp\":");
		if (c->b)
			call_media_json(c->b, &media);
		else
			mbuf_write_str(&media, "null");
	}
	mbuf_write(&media, "}", 2);
	r.uniqueid = pl_from_str(uid);
	r.src = pl_from_str(c->src);
	r.dst = pl_from_str(c->dst);
	r.dcontext = pl_from_str(c->dcontext);
	r.clid = pl_from_str(c->clid);
	r.channel = pl_from_str(chan);
	r.dstchannel = pl_from_str(dchan);
	r.lastapp = pl_from_str(c->lastapp);
	r.lastdata = pl_from_str(c->lastdata);
	r.start_ms = c->start_ms;
	r.answer_ms = c->answer_ms;
	r.end_ms = c->end_ms;
	r.duration = (c->end_ms - c->start_ms) / 1000;
	r.billsec = c->answer_ms ? (c->end_ms - c->answer_ms) / 1000 : 0;
	if (c->answer_ms)
		r.disposition = STORE_CDR_ANSWERED;
	else if (c->cause == 17)
		r.disposition = STORE_CDR_BUSY;
	else if (c->cause == 19 || c->cause == 16 || c->cause == 18 || c->cause == 127)
		r.disposition = STORE_CDR_NO_ANSWER;
	else
		r.disposition = STORE_CDR_FAILED;
	r.media = pl_from_str((const char *)media.buf);
	r.hangupcause = c->cause;
	r.callid = pl_from_str(str_or(cid_a, ""));
	r.dstcallid = pl_from_str(str_or(cid_b, ""));
	if (store_cdr_add(c->eng->store, &r, NULL, NULL))
		log_error("call %s: the call record could not be queued", uid);
	mbuf_reset(&media);
}

/* Leaves a leg whose INVITE is still unanswered to finish on its own (a CANCEL was sent; a 2xx
 * crossing it gets ACK and BYE). */
static void leg_orphan(struct call_leg *leg)
{
	call_media_leg_free(leg);
	list_unlink(&leg->le_call);
	leg->call = NULL;
	list_append(&leg->eng->orphans, &leg->le_eng, leg);
}

/* Ends the call: every leg gets what it needs (final response, CANCEL, BYE), the `h` extension
 * runs, the record is written. */
void call_hangup(struct call *c, unsigned cause)
{
	if (c->state == CALL_ENDING)
		return;
	c->state = CALL_ENDING;
	if (!c->cause)
		c->cause = cause;
	c->end_ms = call_wall_ms();
	if (!c->answered && !c->dialled && c->a) {
		/* The dialplan refused it before anything rang (no such extension, Congestion(),
		 * Busy(), Hangup()): a toll-fraud attempt looks like this, so it names its source. */
		char a[SA_STRLEN];

		log_notice("refused call from %s (%s -> %s@%s): dialplan ended it with cause %u",
			   sa_fmt(&c->a->dst, a, sizeof(a)), c->src, c->dst, c->dcontext, cause);
	}
	loop_timer_cancel(&c->tmr);
	c->dial_open = false;
	cancel_pending(c, NULL, cause == 16 && c->answered ? "SIP;cause=200;text=\"Call completed elsewhere\"" : NULL);
	while (c->legs.head) {
		struct call_leg *leg = c->legs.head->data;

		if (leg->uac && leg->ct) {
			leg_orphan(leg);
			continue;
		}
		if (!leg->uac && leg->pend_st) {
			/* Our 2xx still waited for a PRACK: never sent, so the INVITE fails. */
			prov_stop(leg);
			leg->st = leg->pend_st;
			leg->pend_st = NULL;
			leg->pend_code = 0;
			leg->state = LEG_EARLY;
		}
		if (!leg->uac && leg->st)
			a_reply(leg, &leg->st,
				c->media_code && !c->answered ? c->media_code
							      : call_code_for_cause(c->cause),
				NULL);
		leg_bye(leg);
		if (leg == c->a || leg == c->b) {
			/* Keep the names and Call-IDs for the record. */
			list_unlink(&leg->le_call);
			htab_unlink(&c->eng->legs, &leg->le_hash);
			loop_timer_cancel(&leg->ok_tmr);
			loop_timer_cancel(&leg->se_tmr);
			sip_ctrans_abandon(leg->rct);
			leg->rct = NULL;
			if (leg->rst)
				sip_strans_reply(leg->rst, 487, "Request Terminated", NULL, NULL,
						 NULL);
			leg->rst = NULL;
			continue;
		}
		leg_free(leg);
	}
	if (c->chan && pbx_chan_hangup(c->chan) == 0) {
		struct pbx_action act;
		int n = 0;

		while (n++ < 100 && pbx_chan_run(c->chan, &act) == 0 && act.type != PBX_ACT_END)
			;
	}
	call_cdr_write(c);
	call_maybe_free(c);
}

static void call_free(struct call *c)
{
	loop_timer_cancel(&c->tmr);
	while (c->legs.head)
		leg_free(c->legs.head->data);
	if (c->a) {
		c->a->call = NULL;
		leg_free(c->a);
	}
	if (c->b) {
		c->b->call = NULL;
		leg_free(c->b);
	}
	list_unlink(&c->le);
	pbx_chan_free(c->chan);
	mem_deref(c->cfg);
	free(c);
}

static void call_maybe_free(struct call *c)
{
	if (c->state == CALL_ENDING && !c->running)
		call_free(c);
}

/* ---------------------------------------------------------------------------------------------
 * Dial()
 */

/* Whether a peer is the carrier line: its address is the discovered server, or a register =>
 * line registers to its host. Fills number/domain for the From. */
static bool peer_is_line(struct call_eng *eng, const struct sipcfg *pc, const struct peer *p,
			 char *number, size_t nsize, char *domain, size_t dsize)
{
	size_t nreg;
	const struct sipcfg_register *regs;

	if (!p || p->dynamic)
		return false;
	if (eng->line_up && sa_isset(&p->addr) && sa_eq_addr(&p->addr, &eng->line.server)) {
		snprintf(number, nsize, "%s", eng->line.numbers[0]);
		snprintf(domain, dsize, "%s", eng->line.domain);
		return true;
	}
	if (!strcasecmp(p->name, "line")) {
		/* The generated native configuration names the carrier "line". */
		snprintf(number, nsize, "%s",
			 eng->line_up ? eng->line.numbers[0] : str_or(p->fromuser, ""));
		snprintf(domain, dsize, "%s",
			 eng->line_up ? eng->line.domain : str_or(p->fromdomain, p->host));
		return true;
	}
	regs = sipcfg_registers(pc, &nreg);
	for (size_t i = 0; i < nreg; i++) {
		if (regs[i].host && p->host && !strcasecmp(regs[i].host, p->host)) {
			snprintf(number, nsize, "%s", regs[i].user);
			snprintf(domain, dsize, "%s", regs[i].domain ? regs[i].domain : regs[i].host);
			return true;
		}
		if (regs[i].peer && !strcasecmp(regs[i].peer, p->name)) {
			snprintf(number, nsize, "%s", regs[i].user);
			snprintf(domain, dsize, "%s", regs[i].domain ? regs[i].domain : regs[i].host);
			return true;
		}
	}
	return false;
}

static size_t peer_active_legs(const struct call_eng *eng, const char *peer)
{
	size_t n = 0;

	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (leg->state != LEG_TERMINATED && !strcasecmp(leg->peer, peer))
				n++;
		}
	}
	return n;
}

struct dial_ctx {
	struct call *c;
	const struct peer *p;
	const char *number; /* dialled number for trunks, else NULL */
	unsigned started;
};

/* Starts one callee leg: ruri, to, from given; dst/local/tp where to send. */
static int leg_start(struct dial_ctx *d, const char *ruri, const char *to, const char *from_user,
		     const char *from_host, const struct sa *dst, const struct sa *local,
		     enum sip_transport tp, bool is_line, const char *extra_line)
{
	struct call *c = d->c;
	struct call_eng *eng = c->eng;
	struct call_leg *leg = leg_alloc(eng, c, true);
	char tag[32], cid[64], host[SA_STRLEN], ex[1024];
	const char *sdp = c->a ? c->a->sdp_remote : NULL;
	char *msdp = NULL;
	int err;

	if (!leg)
		return ENOMEM;
	sip_tag_new(tag, sizeof(tag));
	rand_token(cid, 24);
	leg->is_line = is_line;
	leg->tp = tp;
	leg->dst = *dst;
	leg->local = *local;
	sa_ntop(local, host, sizeof(host));
	snprintf(leg->peer, sizeof(leg->peer), "%s", d->p->name);
	snprintf(leg->name, sizeof(leg->name), "SIP/%s-%08llx", d->p->name,
		 (unsigned long long)++eng->seq);
	leg->call_id = dupf("%s@%s", cid, host);
	leg->ltag = strdup(tag);
	if (c->cid_name[0] && !is_line)
		leg->lhdr = dupf("\"%s\" <sip:%s@%s>", c->cid_name, from_user, from_host);
	else
		leg->lhdr = dupf("<sip:%s@%s>", from_user, from_host);
	leg->rhdr = strdup(to);
	leg->target = strdup(ruri);
	if (sa_af(local) == AF_INET6)
		leg->contact = dupf("<sip:%s@[%s]:%u>", from_user, host, sa_port(local));
	else
		leg->contact = dupf("<sip:%s@%s:%u>", from_user, host, sa_port(local));
	leg->lcseq = (uint32_t)(eng->seq % 1000) + 1;
	leg->state = LEG_CALLING;
	if (!leg->call_id || !leg->ltag || !leg->lhdr || !leg->rhdr || !leg->target ||
	    !leg->contact) {
		leg_free(leg);
		return ENOMEM;
	}
	leg_index(leg);
	snprintf(ex, sizeof(ex),
		 "Allow: " CALL_ALLOW "\r\nSupported: " CALL_SUPPORTED
		 "\r\nSession-Expires: %u\r\nMin-SE: %u\r\n%s",
		 eng->set.session_expires, eng->set.min_se, extra_line ? extra_line : "");
	if (eng->media && c->a && c->a->ml) {
		/* Our own offer from our address facing the callee (the line's address toward the
		 * carrier), restricted to what the caller offered. */
		const struct sa *ml_local =
			is_line && eng->line_up && sa_isset(&eng->line.local) ? &eng->line.local
									      : local;

		err = call_media_callee_offer(leg, c->a, d->p, ml_local, &msdp);
		if (err) {
			c->media_code = err == ENOTSUP ? 488 : 503;
			leg_free(leg);
			return err;
		}
		sdp = msdp;
	}
	leg->inv_cseq = leg->lcseq + 1;
	leg->inv_extra = extra_line ? strdup(extra_line) : NULL;
	err = leg_request(leg, "INVITE", ex, "application/sdp", sdp, b_resp_h, leg, &leg->ct, 0);
	if (err) {
		free(msdp);
		leg_free(leg);
		return err;
	}
	if (sdp)
		leg->sdp_local = strdup(sdp);
	free(msdp);
	d->started++;
	log_info("%s: calling %s", leg->name, ruri);
	return 0;
}

static int dial_contact_h(const struct reg_contact_info *ci, void *arg)
{
	struct dial_ctx *d = arg;
	struct call *c = d->c;
	char to[512], host[SA_STRLEN];
	struct sa local = ci->local;

	if (!sa_isset(&local) &&
	    sip_transp_local_for(c->eng->tp, &ci->source, &local))
		return 0;
	sa_ntop(&local, host, sizeof(host));
	snprintf(to, sizeof(to), "<sip:%s@%s>", d->p->name, host);
	leg_start(d, ci->uri, to, str_or(c->cid_num, "anonymous"), host, &ci->source, &local,
		  ci->tp ? ci->tp : SIP_TP_UDP, false, NULL);
	return 0;
}

static bool line_owns(const struct call_eng *eng, const char *num, bool *additional)
{
	*additional = false;
	for (size_t i = 0; i < eng->line.nnumbers && i < ARRAY_SIZE(eng->line.numbers); i++) {
		if (!strcmp(eng->line.numbers[i], num)) {
			*additional = i > 0;
			return true;
		}
	}
	return false;
}

static void dial_target(struct call *c, const struct pbx_dial_target *t, unsigned *unavail,
			unsigned *busy, unsigned *started)
{
	struct call_eng *eng = c->eng;
	const struct sipcfg *pc = c->cfg->peers;
	const struct peer *p;
	struct dial_ctx d = {.c = c};
	char number[64] = "", domain[256] = "";

	if (strcasecmp(t->tech, "SIP")) {
		(*unavail)++;
		return;
	}
	p = peer_find(pc, t->peer);
	if (!p || p->type == PEER_TYPE_USER) {
		log_notice("Dial(%s/%s): no such peer", t->tech, t->peer);
		(*unavail)++;
		return;
	}
	if (p->call_limit && peer_active_legs(eng, p->name) >= p->call_limit) {
		log_notice("Dial(SIP/%s): call-limit %u reached", p->name, p->call_limit);
		(*busy)++;
		return;
	}
	d.p = p;
	d.number = t->number;
	if (p->dynamic) {
		if (!eng->locate || eng->locate(p->name, dial_contact_h, &d, eng->locate_arg) ||
		    !d.started)
			(*unavail)++;
		*started += d.started;
		return;
	}
	if (!sa_isset(&p->addr)) {
		(*unavail)++;
		return;
	}
	{
		struct sa dst = p->addr, local;
		const char *dialled = t->number ? t->number : (p->defaultuser ? p->defaultuser : p->name);
		char ruri[512], to[512], srv[SA_STRLEN], extra[512] = "", lh[SA_STRLEN];
		const char *from_user = str_or(c->cid_num, "anonymous");
		bool is_line = peer_is_line(eng, pc, p, number, sizeof(number), domain,
					    sizeof(domain));

		if (!sa_port(&dst))
			sa_set_port(&dst, p->port ? p->port : SIP_PORT_DEFAULT);
		if (sip_transp_local_for(eng->tp, &dst, &local)) {
			(*unavail)++;
			return;
		}
		sa_fmt(&dst, srv, sizeof(srv));
		sa_ntop(&local, lh, sizeof(lh));
		if (is_line) {
			bool additional = false;

			/* NGN-NOTES §2.4: digits as dialled at the server's address; the From
			 * carries the line's number; an additional number goes in PPI. */
			if (c->cid_num[0] && strcmp(c->cid_num, number) &&
			    !line_owns(eng, c->cid_num, &additional)) {
				log_notice("Dial(SIP/%s/%s): caller ID %s is not a number of the "
					   "line: refused, not sent",
					   p->name, dialled, c->cid_num);
				(*unavail)++;
				return;
			}
			if (c->cid_num[0] && strcmp(c->cid_num, number))
				from_user = c->cid_num;
			else
				from_user = number;
			if (additional)
				snprintf(extra, sizeof(extra),
					 "P-Preferred-Identity: <sip:%s@%s>\r\n", from_user, domain);
			snprintf(ruri, sizeof(ruri), "sip:%s@%s", dialled, srv);
			snprintf(to, sizeof(to), "<sip:%s@%s>", dialled, srv);
			*started += leg_start(&d, ruri, to, from_user, domain, &dst, &local,
					      SIP_TP_UDP, true, extra) == 0;
		} else {
			snprintf(ruri, sizeof(ruri), "sip:%s@%s", dialled, srv);
			snprintf(to, sizeof(to), "<sip:%s@%s>", dialled, srv);
			*started += leg_start(&d, ruri, to, from_user,
					      p->fromdomain ? p->fromdomain : lh, &dst, &local,
					      p->transport == PEER_TP_TCP ? SIP_TP_TCP : SIP_TP_UDP,
					      false, NULL) == 0;
		}
	}
}

static void dial_timeout_h(void *arg)
{
	struct call *c = arg;

	if (!c->dial_open)
		return;
	log_info("%s: Dial timeout: no answer", c->a ? c->a->name : "call");
	c->dial_open = false;
	cancel_pending(c, NULL, NULL);
	set_dialstatus(c, 480);
	if (c->state == CALL_DIALING)
		c->state = CALL_ROUTING;
	run(c);
}

static void do_dial(struct call *c, const struct pbx_dial *dial)
{
	unsigned unavail = 0, busy = 0, started = 0;
	struct mbuf mb;

	snprintf(c->lastapp, sizeof(c->lastapp), "Dial");
	c->dialled = true;
	mbuf_init(&mb);
	for (size_t i = 0; i < dial->ntargets; i++) {
		mbuf_printf(&mb, "%s%s/%s%s%s", i ? "&" : "", dial->targets[i].tech,
			    dial->targets[i].peer, dial->targets[i].number ? "/" : "",
			    dial->targets[i].number ? dial->targets[i].number : "");
	}
	if (dial->timeout_s)
		mbuf_printf(&mb, ",%u", dial->timeout_s);
	mbuf_write(&mb, "", 1);
	snprintf(c->lastdata, sizeof(c->lastdata), "%s", (const char *)mb.buf);
	mbuf_reset(&mb);

	/* The dialplan may have changed the caller ID (Set(CALLERID(num)=...)). */
	if (pbx_chan_callerid_num(c->chan)[0])
		snprintf(c->cid_num, sizeof(c->cid_num), "%s", pbx_chan_callerid_num(c->chan));
	if (pbx_chan_callerid_name(c->chan)[0])
		snprintf(c->cid_name, sizeof(c->cid_name), "%s", pbx_chan_callerid_name(c->chan));
	c->best = 0;
	c->media_code = 0;
	for (size_t i = 0; i < dial->ntargets; i++)
		dial_target(c, &dial->targets[i], &unavail, &busy, &started);
	if (started)
		c->media_code = 0;
	if (!started) {
		if (busy)
			c->best = 486; /* a bare Hangup() then answers busy, as a busy phone would */
		set_dialstatus(c, busy ? 486 : c->media_code ? c->media_code : 404);
		c->rerun = true;
		return;
	}
	c->dial_open = true;
	c->state = CALL_DIALING;
	if (dial->timeout_s)
		loop_timer_start(c->eng->loop, &c->tmr, (uint64_t)dial->timeout_s * 1000,
				 dial_timeout_h, c);
}

/* ---------------------------------------------------------------------------------------------
 * Callee-leg responses
 */

static void prack_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	(void)err;
	(void)resp;
	(void)arg;
}

static void relay_provisional(struct call *c, struct call_leg *leg, const struct sip_msg *resp)
{
	struct call_leg *a = c->a;
	bool has_sdp = resp->body.l > 0;
	char *sdp = NULL;

	if (has_sdp && a && a->ml && !a->sdp_remote) {
		/* The caller made no offer: early SDP would be an offer in an unreliable 18x, so
		 * it gets plain ringing; the offer goes in our 2xx. */
		has_sdp = false;
	} else if (has_sdp && a && a->ml && leg->ml && !c->answered) {
		/* Early media: applied on the callee's leg and bridged even when the caller
		 * already had its 183 (the 2xx may come without SDP). */
		int err = call_media_answer(a, leg, &resp->body, &sdp);

		if (err) {
			log_notice("%s: unusable SDP in %u: %s", leg->name, resp->scode,
				   strerror(err));
			has_sdp = false;
		}
	} else if (has_sdp) {
		sdp = body_dup(resp);
	}
	if (!a || !a->st || c->answered) {
		free(sdp);
		return;
	}
	if (has_sdp && !a->sent_183) {
		a->sent_183 = true;
		a_reply(a, &a->st, 183, sdp);
	} else if (resp->scode == 180 && !a->sent_180 && !a->sent_183) {
		a->sent_180 = true;
		a_reply(a, &a->st, 180, NULL);
	}
	free(sdp);
}

static void leg_confirm_from(struct call_leg *leg, const struct sip_msg *resp)
{
	uint32_t se;
	struct pl refresher;

	set_str(&leg->rtag, pl_strdup(&resp->to.tag));
	set_str(&leg->routes, route_set(resp, true));
	{
		char *t = contact_uri(resp);

		if (t)
			set_str(&leg->target, t);
	}
	if (resp->body.l)
		set_str(&leg->sdp_remote, body_dup(resp));
	leg->allow_update = sip_msg_has_option(resp, SIP_HDR_ALLOW, "UPDATE");
	se = session_expires(resp, &refresher);
	if (se) {
		leg->se = se;
		leg->refresher = !pl_isset(&refresher) || pl_caseeq_str(&refresher, "uac");
		se_timer_start(leg);
	}
}

/* ACK and BYE for a 2xx nobody wants (a second fork, an answer crossing our CANCEL). */
static void ack_and_bye(struct call_eng *eng, const struct sip_msg *resp)
{
	struct sip_request_spec s = {0};
	const struct sip_hdr *fh = sip_msg_hdr(resp, SIP_HDR_FROM), *th = sip_msg_hdr(resp, SIP_HDR_TO);
	char branch[40], host[SA_STRLEN];
	char *target = contact_uri(resp), *routes = route_set(resp, true);
	char *from = fh ? dup_value(&fh->value) : NULL, *to = th ? dup_value(&th->value) : NULL;
	char *cid = pl_strdup(&resp->call_id);
	struct sa local = resp->dst;
	struct mbuf mb;

	if (!target || !from || !to || !cid)
		goto out;
	if (!sa_isset(&local) && sip_transp_local_for(eng->tp, &resp->src, &local))
		goto out;
	s.ruri = target;
	s.tp = resp->tp;
	s.via_host = sa_ntop(&local, host, sizeof(host));
	s.via_port = sa_port(&local);
	s.from = from;
	s.to = to;
	s.call_id = cid;
	s.extra = routes;
	s.branch = branch;
	s.max_forwards = -1;
	mbuf_init(&mb);
	sip_branch_new(branch, sizeof(branch));
	s.method = "ACK";
	s.cseq = resp->cseq.num;
	if (!sip_build_request(&mb, &s))
		sip_transp_send(eng->tp, resp->tp, NULL, &local, &resp->src, mb.buf, mb.end);
	mbuf_reset(&mb);
	sip_branch_new(branch, sizeof(branch));
	s.method = "BYE";
	s.cseq = resp->cseq.num + 1;
	if (!sip_build_request(&mb, &s))
		sip_ctrans_request_from(NULL, eng->stack, resp->tp, &local, &resp->src, &mb, NULL,
					NULL);
	mbuf_reset(&mb);
out:
	free(target);
	free(routes);
	free(from);
	free(to);
	free(cid);
}

static void answer_caller(struct call *c, struct call_leg *b, const char *sdp)
{
	struct call_leg *a = c->a;

	if (!c->answered)
		c->answer_ms = call_wall_ms(); /* a transferred call keeps its first answer */
	c->answered = true;
	c->b = b;
	c->state = CALL_UP;
	pbx_chan_set_var(c->chan, "DIALSTATUS", "ANSWER");
	if (a && !a->st && a->state == LEG_CONFIRMED && a->sent_dir_set &&
	    a->sent_dir != SDP_SENDRECV) {
		/* A transferred party: the phone that transferred it had put it on hold first (as
		 * most softphones do); the new callee talks to it, so the hold is taken back. */
		pass_direction(b, a, SDP_SENDRECV, false);
	}
	if (!a || !a->st)
		return;
	/* With the relay, sdp is our answer to the caller; without, the callee's passes as is. */
	a_reply(a, &a->st, 200, sdp ? sdp : b->sdp_remote);
	a->state = LEG_CONFIRMED;
	se_timer_start(a);
}

/* RFC 4028 §7.4: the callee wants a longer session interval: the INVITE goes again (new CSeq,
 * same dialog identifiers) with Session-Expires raised to its Min-SE. */
static int leg_retry_422(struct call_leg *leg, const struct sip_msg *resp)
{
	struct call_eng *eng = leg->eng;
	uint32_t min_se = min_se_of(resp), se;
	char ex[1024];
	int err;

	if (!min_se || min_se > 86400)
		return EINVAL;
	se = MAX(min_se, eng->set.session_expires);
	snprintf(ex, sizeof(ex),
		 "Allow: " CALL_ALLOW "\r\nSupported: " CALL_SUPPORTED
		 "\r\nSession-Expires: %u\r\nMin-SE: %u\r\n%s",
		 se, MAX(min_se, eng->set.min_se), leg->inv_extra ? leg->inv_extra : "");
	sip_ctrans_abandon(leg->ct);
	leg->ct = NULL;
	leg->n422++;
	free(leg->rtag);
	leg->rtag = NULL;
	leg->state = LEG_CALLING;
	leg->inv_cseq = leg->lcseq + 1;
	err = leg_request(leg, "INVITE", ex, leg->sdp_local ? "application/sdp" : NULL,
			  leg->sdp_local, b_resp_h, leg, &leg->ct, 0);
	if (!err)
		log_info("%s: 422, calling again with Session-Expires %u", leg->name, se);
	return err;
}

/* The answered INVITE's transaction has ended (no more 2xx retransmissions can come): its memory
 * goes back rather than staying for the whole call. */
static void acc_done_h(void *arg)
{
	struct call_leg *leg = arg;

	sip_ctrans_abandon(leg->acc_ct);
	leg->acc_ct = mem_deref(leg->acc_ct);
}

static void b_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg;
	struct call *c = leg->call;
	uint16_t code = resp ? resp->scode : 408;
	char *msdp = NULL;

	if (resp && code < 200) {
		if (code == 100 || !c)
			return;
		if (pl_isset(&resp->to.tag) && leg->state == LEG_CALLING) {
			leg->state = LEG_EARLY;
			set_str(&leg->rtag, pl_strdup(&resp->to.tag));
			set_str(&leg->routes, route_set(resp, true));
			{
				char *t = contact_uri(resp);

				if (t)
					set_str(&leg->target, t);
			}
		}
		/* RFC 3262: a reliable provisional gets its PRACK. */
		if (sip_msg_has_option(resp, SIP_HDR_REQUIRE, "100rel")) {
			const struct sip_hdr *rs = sip_msg_hdr(resp, SIP_HDR_RSEQ);
			uint32_t rseq = 0;
			struct pl v;
			char rack[96];

			if (rs) {
				v = rs->value;
				pl_trim(&v);
			}
			if (rs && !pl_u32(&v, &rseq) && leg->rseq && rseq != leg->rseq + 1) {
				/* RFC 3262 §4: a retransmission was PRACKed already; one past a
				 * gap is not acknowledged (its predecessor will be resent). */
				return;
			}
			if (rs && rseq && pl_isset(&resp->to.tag)) {
				char *save = leg->rtag;

				leg->rseq = rseq;
				leg->rtag = pl_strdup(&resp->to.tag);
				snprintf(rack, sizeof(rack), "RAck: %u %u INVITE\r\n", rseq,
					 resp->cseq.num);
				leg_request(leg, "PRACK", rack, NULL, NULL, prack_resp_h, leg, NULL,
					    0);
				free(leg->rtag);
				leg->rtag = save;
			}
		}
		if (resp->body.l)
			set_str(&leg->sdp_remote, body_dup(resp));
		relay_provisional(c, leg, resp);
		return;
	}

	/* Final. */
	if (resp && code == 422 && leg->ct && c && c->state != CALL_ENDING && !leg->cancelled &&
	    leg->n422 < 2 && !leg_retry_422(leg, resp))
		return;
	if (resp && code < 300 && !leg->ct && leg->acc_ct) {
		/* The 2xx again (our ACK was lost) or another fork's 2xx to the same INVITE. */
		if (leg->rtag && pl_eq_str(&resp->to.tag, leg->rtag) && leg->ack.end)
			sip_transp_send(leg->eng->tp, leg->tp, NULL, &leg->local, &leg->dst,
					leg->ack.buf, leg->ack.end);
		else
			ack_and_bye(leg->eng, resp);
		return;
	}
	if (resp && code < 300 && leg->ct) {
		leg->acc_ct = mem_ref(leg->ct); /* ours for 64*T1: see above */
		loop_timer_start(leg->eng->loop, &leg->acc_tmr, 64 * SIP_T1_DEFAULT, acc_done_h,
				 leg);
	} else {
		sip_ctrans_abandon(leg->ct);
	}
	leg->ct = NULL;
	leg->final = code;
	if (resp && code < 300) {
		leg->lcseq = MAX(leg->lcseq, resp->cseq.num);
		leg_confirm_from(leg, resp);
		leg->state = LEG_CONFIRMED;
		leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL, resp->cseq.num);
		if (!c || c->state == CALL_ENDING || (c->b && c->b != leg) || leg->cancelled) {
			log_info("%s: answer after the call moved on: ACK and BYE", leg->name);
			leg_bye(leg);
			if (c) {
				leg_free(leg);
				dial_check(c);
			} else {
				leg_free(leg);
			}
			return;
		}
		if (c->a && c->a->ml && leg->ml) {
			int merr = call_media_answer(c->a, leg, resp->body.l ? &resp->body : NULL,
						     &msdp);

			if (merr) {
				log_notice("%s: answered with unusable SDP (%s): BYE", leg->name,
					   strerror(merr));
				leg_bye(leg);
				note_final(c, 488);
				leg_free(leg);
				dial_check(c);
				return;
			}
		}
		log_info("%s: answered", leg->name);
		cancel_pending(c, leg, "SIP;cause=200;text=\"Call completed elsewhere\"");
		c->dial_open = false;
		loop_timer_cancel(&c->tmr);
		answer_caller(c, leg, msdp);
		free(msdp);
		return;
	}
	leg->state = LEG_TERMINATED;
	if (err && !resp)
		log_info("%s: no answer (%s)", leg->name, strerror(err));
	else
		log_info("%s: %u", leg->name, code);
	if (!c) {
		leg_free(leg);
		return;
	}
	note_final(c, code);
	if (c->b == leg) {
		c->b = NULL;
	}
	leg_free(leg);
	dial_check(c);
}

/* A response that matched no transaction: a retransmitted 2xx (our ACK got lost) or a fork. */
static void stray_h(struct sip_stack *stack, const struct sip_msg *resp, void *arg)
{
	struct call_eng *eng = arg;
	struct call_leg *leg;

	(void)stack;
	if (!resp->cseq_ok || resp->cseq.mid != SIP_METHOD_INVITE || resp->scode < 200 ||
	    resp->scode >= 300 || !resp->from_ok || !resp->to_ok)
		return;
	leg = leg_find(eng, &resp->call_id, &resp->from.tag, &resp->to.tag);
	if (leg && leg->uac && leg->rtag && pl_eq_str(&resp->to.tag, leg->rtag) && leg->ack.end) {
		sip_transp_send(eng->tp, leg->tp, NULL, &leg->local, &leg->dst, leg->ack.buf,
				leg->ack.end);
		return;
	}
	ack_and_bye(eng, resp);
}

/* ---------------------------------------------------------------------------------------------
 * The dialplan step machine
 */

static void wait_h(void *arg)
{
	struct call *c = arg;

	run(c);
}

static void run(struct call *c)
{
	struct pbx_action act;
	int guard = 0;

	if (c->running) {
		c->rerun = true;
		return;
	}
	c->running = true;
	do {
		c->rerun = false;
		if (c->state != CALL_ROUTING)
			break;
		if (pbx_chan_run(c->chan, &act)) {
			call_hangup(c, 38);
			break;
		}
		switch (act.type) {
		case PBX_ACT_ANSWER:
			snprintf(c->lastapp, sizeof(c->lastapp), "Answer");
			if (c->a && c->a->st) {
				/* No local media endpoint: with the relay our answer carries our
				 * address (nothing is bridged); without, the offer is echoed. */
				char *msdp = NULL;

				c->answered = true;
				c->answer_ms = call_wall_ms();
				if (c->a->ml)
					call_media_local_answer(c->a, &msdp);
				a_reply(c->a, &c->a->st, 200, msdp ? msdp : c->a->sdp_remote);
				free(msdp);
				c->a->state = LEG_CONFIRMED;
			}
			c->rerun = true;
			break;
		case PBX_ACT_PROGRESS:
			if (c->a && c->a->st && !c->a->sent_183) {
				c->a->sent_183 = true;
				a_reply(c->a, &c->a->st, 183, NULL);
			}
			c->rerun = true;
			break;
		case PBX_ACT_RINGING:
			if (c->a && c->a->st && !c->a->sent_180) {
				c->a->sent_180 = true;
				a_reply(c->a, &c->a->st, 180, NULL);
			}
			c->rerun = true;
			break;
		case PBX_ACT_WAIT:
			snprintf(c->lastapp, sizeof(c->lastapp), "Wait");
			loop_timer_start(c->eng->loop, &c->tmr, act.wait_ms, wait_h, c);
			break;
		case PBX_ACT_DIAL:
			do_dial(c, &act.dial);
			break;
		case PBX_ACT_BUSY:
			snprintf(c->lastapp, sizeof(c->lastapp), "Busy");
			call_hangup(c, 17);
			break;
		case PBX_ACT_CONGESTION:
			snprintf(c->lastapp, sizeof(c->lastapp), "Congestion");
			call_hangup(c, 34);
			break;
		case PBX_ACT_HANGUP:
			snprintf(c->lastapp, sizeof(c->lastapp), "Hangup");
			/* Hangup() without a cause keeps what the last Dial() ended with (a busy
			 * phone gives the caller 486, not 480), as Asterisk does. The dialplan
			 * reports an empty cause as 16, so 16 on an unanswered call is taken
			 * as "no cause". */
			if ((!act.cause || act.cause == 16) && !c->answered && c->best)
				act.cause = call_cause_for(c->best);
			call_hangup(c, act.cause ? act.cause : 16);
			break;
		case PBX_ACT_END:
		default:
			call_hangup(c, c->best ? call_cause_for(c->best) : 16);
			break;
		}
	} while (c->rerun && ++guard < 1000);
	c->running = false;
	call_maybe_free(c);
}

/* ---------------------------------------------------------------------------------------------
 * New calls
 */

static void a_cancel_h(struct sip_strans *st, const struct sip_msg *cancel, void *arg)
{
	struct call *c = arg;

	(void)cancel;
	if (!c->a || c->a->st != st)
		return;
	log_info("%s: cancelled by the caller", c->a->name);
	a_reply(c->a, &c->a->st, 487, NULL);
	call_hangup(c, 16);
}

/* Which peer a request comes from: the line (by its source address), a peer with a fixed
 * address, else by the From user (phones authenticate). */
static const struct peer *peer_by_addr(const struct sipcfg *pc, const struct sa *src)
{
	for (size_t i = 0; i < sipcfg_peer_count(pc); i++) {
		const struct peer *p = sipcfg_peer_at(pc, i);

		if (p->dynamic || !sa_isset(&p->addr) || !sa_eq_addr(&p->addr, src))
			continue;
		if (!(p->insecure & PEER_INSECURE_PORT) && sa_port(&p->addr) &&
		    sa_port(&p->addr) != sa_port(src))
			continue;
		return p;
	}
	return NULL;
}

static size_t eng_ncalls(const struct call_eng *eng)
{
	return list_count(&eng->calls);
}

static void new_invite(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg)
{
	const struct sipcfg *pc = eng->cfg->peers;
	const struct sipcfg_general *g = sipcfg_general(pc);
	const struct peer *p = NULL;
	bool from_line = false;
	const char *context;
	char exten[64], num[64], name[80], tmp[64];
	struct call *c;
	struct call_leg *a;
	uint32_t se;
	struct pl refresher;
	int err;

	if (eng->reg && reg_is_banned(eng->reg, &msg->src)) {
		call_refused(eng, msg, "source banned after failed authentications");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	p = peer_by_addr(pc, &msg->src);
	if (eng->line_up && sa_isset(&eng->line.local) && sa_eq_addr(&msg->dst, &eng->line.local) &&
	    !sa_eq_addr(&msg->src, &eng->line.server) && (!p || p->dynamic)) {
		call_refused(eng, msg, "INVITE on the line side from a non-server address");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	if (p) {
		char n1[64], d1[256];

		from_line = peer_is_line(eng, pc, p, n1, sizeof(n1), d1, sizeof(d1)) ||
			    (eng->line_up && sa_eq_addr(&msg->src, &eng->line.server));
		/* A fixed-address peer (the line, a trunk) is matched by its address. */
	}
	if (!p && eng->line_up && sa_eq_addr(&msg->src, &eng->line.server))
		from_line = true;
	if (p && !from_line && (p->secret || p->md5secret) &&
	    !(p->insecure & PEER_INSECURE_INVITE)) {
		/* A phone with a fixed address still proves who it is. */
		if (call_auth_check(eng, st, msg, p) != CALL_AUTH_OK)
			return;
	} else if (!p && !from_line) {
		struct pl user = msg->from.uri.user;

		if (pl_strcpy(&user, tmp, sizeof(tmp)) == 0)
			p = peer_find(pc, tmp);
		if (p && p->type == PEER_TYPE_PEER)
			p = NULL;
		if (!p && g->allowguest) {
			p = NULL;
		} else if (call_auth_check(eng, st, msg, p) != CALL_AUTH_OK) {
			return;
		}
		if (p && !peer_acl_allows(p, &msg->src)) {
			call_refused(eng, msg, "address not permitted for this peer");
			sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
			return;
		}
	}
	/* Checked once the caller is known (an RFC 2543 peer without tags is challenged like any
	 * other): a dialog cannot be told apart from others without the From tag. */
	if (!pl_isset(&msg->from.tag)) {
		call_refused(eng, msg, "no From tag (RFC 2543 peer)");
		sip_strans_reply(st, 400, "Missing From Tag", NULL, NULL, NULL);
		return;
	}
	if (eng_ncalls(eng) >= eng->set.max_calls) {
		char ex[64];

		call_refused(eng, msg, "global call limit reached");
		snprintf(ex, sizeof(ex), "Retry-After: %u\r\n", eng->set.retry_after);
		sip_strans_reply(st, 503, "Service Unavailable", ex, NULL, NULL);
		return;
	}
	if (p && p->call_limit && peer_active_legs(eng, p->name) >= p->call_limit) {
		call_refused(eng, msg, "peer call-limit reached");
		sip_strans_reply(st, 486, "Busy Here", NULL, NULL, NULL);
		return;
	}
	se = session_expires(msg, &refresher);
	if (se && se < eng->set.min_se) {
		char ex[64];

		snprintf(ex, sizeof(ex), "Min-SE: %u\r\n", eng->set.min_se);
		sip_strans_reply(st, 422, "Session Interval Too Small", ex, NULL, NULL);
		return;
	}
	/* 100 at once (NGN-NOTES §2.5: the carrier drops slow calls). */
	sip_strans_reply(st, 100, "Trying", NULL, NULL, NULL);

	context = p ? p->context : g->context;
	if (from_line) {
		if (call_called_number(msg, exten, sizeof(exten)))
			snprintf(exten, sizeof(exten), "s");
	} else if (pl_strcpy(&msg->uri.user, exten, sizeof(exten)) || !exten[0]) {
		snprintf(exten, sizeof(exten), "s");
	}
	name[0] = '\0';
	call_caller_id(msg, num, sizeof(num), name, sizeof(name));
	if (!from_line && p && p->cid_num) {
		snprintf(num, sizeof(num), "%s", p->cid_num);
		if (p->cid_name)
			snprintf(name, sizeof(name), "%s", p->cid_name);
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		return;
	}
	c->eng = eng;
	c->cfg = mem_ref(eng->cfg);
	c->id = ++eng->seq;
	c->start_ms = call_wall_ms();
	snprintf(c->src, sizeof(c->src), "%s", num);
	snprintf(c->dst, sizeof(c->dst), "%s", exten);
	snprintf(c->dcontext, sizeof(c->dcontext), "%s", context);
	snprintf(c->cid_num, sizeof(c->cid_num), "%s", num);
	snprintf(c->cid_name, sizeof(c->cid_name), "%s", name);
	snprintf(c->clid, sizeof(c->clid), "\"%s\" <%s>", name, num);
	list_append(&eng->calls, &c->le, c);

	err = pbx_chan_alloc(&c->chan, c->cfg->dialplan, context, exten, num, name);
	if (err) {
		log_notice("call to %s@%s: no such context", exten, context);
		a = NULL;
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		c->cause = 1;
		c->state = CALL_ENDING;
		c->end_ms = c->start_ms;
		call_free(c);
		return;
	}
	a = leg_alloc(eng, c, false);
	if (!a) {
		sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		c->state = CALL_ENDING;
		call_free(c);
		return;
	}
	c->a = a;
	a->is_line = from_line;
	snprintf(a->peer, sizeof(a->peer), "%s", p ? p->name : (from_line ? "line" : "guest"));
	snprintf(a->name, sizeof(a->name), "SIP/%s-%08llx", a->peer, (unsigned long long)++eng->seq);
	a->st = st;
	a->inv = mem_ref((void *)msg);
	a->rel100 = eng->set.rel100 && (sip_msg_has_option(msg, SIP_HDR_SUPPORTED, "100rel") ||
					sip_msg_has_option(msg, SIP_HDR_REQUIRE, "100rel"));
	a->tp = msg->tp;
	a->dst = msg->src;
	if (msg->via_ok && !msg->via.rport && msg->via.port && !sip_transport_reliable(msg->tp))
		sa_set_port(&a->dst, msg->via.port);
	a->local = msg->dst;
	a->call_id = pl_strdup(&msg->call_id);
	a->ltag = strdup(sip_strans_totag(st));
	a->rtag = pl_strdup(&msg->from.tag);
	{
		const struct sip_hdr *th = sip_msg_hdr(msg, SIP_HDR_TO);
		const struct sip_hdr *fh = sip_msg_hdr(msg, SIP_HDR_FROM);

		a->lhdr = th ? dup_without_tag(&th->value) : NULL;
		a->rhdr = fh ? dup_value(&fh->value) : NULL;
	}
	a->target = contact_uri(msg);
	a->routes = route_set(msg, false);
	a->rcseq = msg->cseq.num;
	a->lcseq = 1;
	a->sdp_remote = body_dup(msg);
	a->allow_update = sip_msg_has_option(msg, SIP_HDR_ALLOW, "UPDATE");
	{
		char host[SA_STRLEN];

		sa_ntop(&a->local, host, sizeof(host));
		if (sa_af(&a->local) == AF_INET6)
			a->contact = dupf("<sip:%s@[%s]:%u>", exten, host, sa_port(&a->local));
		else
			a->contact = dupf("<sip:%s@%s:%u>", exten, host, sa_port(&a->local));
	}
	if (se) {
		a->se = MAX(se, min_se_of(msg));
		/* NGN-NOTES §2.5: echo refresher=uac (the carrier refreshes). */
		a->refresher = pl_isset(&refresher) && pl_caseeq_str(&refresher, "uas");
	} else if (from_line) {
		a->se = eng->set.line_se;
	}
	a->state = LEG_EARLY;
	if (!a->call_id || !a->ltag || !a->rtag || !a->lhdr || !a->rhdr || !a->contact) {
		c->state = CALL_ENDING;
		call_free(c);
		return;
	}
	if (!a->target) {
		char sb[SA_STRLEN];

		a->target = dupf("sip:%s", sa_fmt(&msg->src, sb, sizeof(sb)));
	}
	leg_index(a);
	sip_strans_set_cancel_handler(st, a_cancel_h, c);
	log_info("%s: call from %s to %s@%s", a->name, num, exten, context);
	if (eng->media) {
		uint16_t mcode = call_media_caller(a, msg, p);

		if (mcode) {
			c->media_code = mcode;
			call_hangup(c, call_cause_for(mcode));
			return;
		}
	}
	/* Calls from the line: 180 promptly, whatever the dialplan does (NGN-NOTES §2.5). */
	if (from_line) {
		a->sent_180 = true;
		a_reply(a, &a->st, 180, NULL);
	}
	run(c);
}

/* ---------------------------------------------------------------------------------------------
 * Requests inside a dialog
 */

static void relay_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg; /* the leg the request was sent on */
	struct call_leg *from = leg_other(leg);
	uint16_t code = resp ? resp->scode : 408;

	if (resp && code < 200)
		return;
	leg->rct = NULL;
	if (resp && code < 300) {
		if (resp->body.l)
			set_str(&leg->sdp_remote, body_dup(resp));
		if (resp->cseq.mid == SIP_METHOD_INVITE)
			leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL, resp->cseq.num);
	}
	if (from && from->rst) {
		const struct sip_msg *req = sip_strans_msg(from->rst);
		char *sdp = resp && code < 300 && resp->body.l ? body_dup(resp) : NULL;

		if (code < 300 && req->mid == SIP_METHOD_INVITE) {
			a_reply(from, &from->rst, 200, sdp ? sdp : from->sdp_local);
		} else if (code < 300) {
			a_reply(from, &from->rst, 200, sdp);
		} else {
			sip_strans_reply(from->rst, code == 408 ? 500 : code, reason_for(code),
					 NULL, NULL, NULL);
			from->rst = NULL;
		}
		free(sdp);
	}
	if (code == 481 || code == 408) {
		if (leg->call)
			call_hangup(leg->call, 102);
	}
}

static void dir_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg; /* the leg our re-INVITE went out on */
	uint16_t code = resp ? resp->scode : 408;

	(void)err;
	if (resp && code < 200)
		return;
	leg->rct = NULL;
	if (resp && code < 300) {
		leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL, resp->cseq.num);
		if (resp->body.l) {
			set_str(&leg->sdp_remote, body_dup(resp));
			if (call_media_offer_answered(leg, &resp->body))
				log_notice("%s: unusable answer to our new offer", leg->name);
		}
		return;
	}
	log_notice("%s: our new offer got %u", leg->name, (unsigned)code);
	if ((code == 481 || code == 408) && leg->call)
		call_hangup(leg->call, 102);
}

/* The peer on `from` changed direction (hold, resume): the other leg gets a new offer of ours
 * with that direction, so the far phone or the carrier knows (RFC 3264 §8.4 / RFC 6337 §5). */
static void pass_direction(struct call_leg *from, struct call_leg *to, enum sdp_dir dir,
			   bool legacy)
{
	char *sdp = NULL;
	int err;

	if (!to || to->state != LEG_CONFIRMED || !to->ml || to->rct)
		return;
	err = call_media_dir_offer(to, dir, legacy, &sdp);
	if (err) {
		log_notice("%s: hold state not passed to %s: %s", from->name, to->name,
			   strerror(err));
		return;
	}
	err = leg_request(to, "INVITE", NULL, "application/sdp", sdp, dir_resp_h, to, &to->rct, 0);
	if (err) {
		free(sdp);
		return;
	}
	log_info("%s: %s passed to %s", from->name, sdp_dir_name(dir), to->name);
	set_str(&to->sdp_local, sdp);
	to->sent_dir = dir;
	to->sent_dir_set = true;
}

/* re-INVITE or UPDATE: a session refresh is answered here; a media change crosses over. */
static void in_dialog_offer(struct call_leg *leg, struct sip_strans *st, const struct sip_msg *msg)
{
	struct call_leg *other = leg_other(leg);
	uint32_t se;
	struct pl refresher;
	bool changes = msg->body.l && (!leg->sdp_remote || !pl_eq_str(&msg->body, leg->sdp_remote));

	if (leg->rst || leg->rct || (other && (other->rct || other->rst)) ||
	    (msg->mid == SIP_METHOD_INVITE && leg->ok.end && leg->inv && leg->inv != msg &&
	     leg->inv->mid == SIP_METHOD_INVITE && leg->state == LEG_CONFIRMED &&
	     loop_timer_active(&leg->ok_tmr))) {
		sip_strans_reply(st, 491, "Request Pending", "Retry-After: 1\r\n", NULL, NULL);
		return;
	}
	se = session_expires(msg, &refresher);
	if (se) {
		leg->se = MAX(se, leg->eng->set.min_se);
		leg->refresher = pl_isset(&refresher) && pl_caseeq_str(&refresher, "uas");
	}
	se_timer_start(leg);
	if (changes && leg->ml) {
		/* With the relay each leg negotiates on its own: answered here, the other side's
		 * session is unchanged (codecs restricted to what still reaches it). */
		char *ans = NULL;
		int err = call_media_reoffer(leg, &msg->body, &ans);
		enum sdp_dir dir;
		bool legacy = false;

		set_str(&leg->sdp_remote, body_dup(msg));
		if (err) {
			log_notice("%s: new offer refused: %s", leg->name, strerror(err));
			sip_strans_reply(st, 488, "Not Acceptable Here", NULL, NULL, NULL);
		} else {
			a_reply(leg, &st, 200, ans);
			if (!call_media_peer_dir(&msg->body, &dir, &legacy) &&
			    dir != (leg->peer_dir_set ? leg->peer_dir : SDP_SENDRECV)) {
				leg->peer_dir = dir;
				leg->peer_dir_set = true;
				pass_direction(leg, other, dir, legacy);
			}
		}
		free(ans);
		return;
	}
	if (changes && other && other->state == LEG_CONFIRMED) {
		char *sdp = body_dup(msg);
		int err;

		set_str(&leg->sdp_remote, sdp ? strdup(sdp) : NULL);
		/* TODO(media): rewrite through the relay. */
		leg->rst = st;
		err = leg_request(other, msg->mid == SIP_METHOD_INVITE ? "INVITE" : "UPDATE", NULL,
				  "application/sdp", sdp, relay_resp_h, other, &other->rct, 0);
		if (!err)
			set_str(&other->sdp_local, sdp);
		else {
			free(sdp);
			leg->rst = NULL;
			sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		}
		return;
	}
	if (msg->mid == SIP_METHOD_INVITE)
		a_reply(leg, &st, 200, leg->sdp_local);
	else
		a_reply(leg, &st, 200, msg->body.l ? leg->sdp_local : NULL);
}

/* SIP INFO with application/dtmf-relay ("Signal=5\r\nDuration=160") or application/dtmf
 * ("5") from one leg: the digit goes out of the other leg's media in that leg's DTMF mode
 * (RFC 4733 events or in-band tones). Other INFO bodies are just acknowledged. */
static void info_dtmf(struct call_leg *leg, const struct sip_msg *msg)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	struct call *c = leg->call;
	struct call_leg *other;
	uint32_t duration = 100;
	char digit = 0;
	struct pl body = msg->body;

	if (!c || !ct || !body.l)
		return;
	other = leg == c->a ? c->b : leg == c->b ? c->a : NULL;
	if (!other || !other->ml)
		return;
	if (ct->value.l >= 22 && !strncasecmp(ct->value.p, "application/dtmf-relay", 22)) {
		const char *p = body.p, *end = body.p + body.l;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			struct pl line = pl_from(p, (size_t)(le - p)), val;
			const char *eq = pl_chr(&line, '=');

			if (eq) {
				struct pl key = pl_from(line.p, (size_t)(eq - line.p));

				val = pl_from(eq + 1, (size_t)(le - eq - 1));
				pl_trim(&key);
				pl_trim(&val);
				if (pl_caseeq_str(&key, "Signal") && val.l) {
					if (pl_eq_str(&val, "10"))
						digit = '*';
					else if (pl_eq_str(&val, "11"))
						digit = '#';
					else if (val.l == 1)
						digit = val.p[0];
				} else if (pl_caseeq_str(&key, "Duration")) {
					uint32_t d;

					if (!pl_u32(&val, &d) && d >= 40 && d <= 5000)
						duration = d;
				}
			}
			p = nl ? nl + 1 : end;
		}
	} else if (ct->value.l >= 16 && !strncasecmp(ct->value.p, "application/dtmf", 16)) {
		struct pl v = body;

		pl_trim(&v);
		if (v.l == 1)
			digit = v.p[0];
	}
	if (!digit || !strchr("0123456789*#ABCDabcd", digit))
		return;
	if (media_leg_send_dtmf(other->ml, (char)toupper((unsigned char)digit), duration))
		log_info("%s: INFO digit %c not sent toward %s", leg->name, digit, other->name);
	else
		log_info("%s: INFO digit %c sent toward %s", leg->name, digit, other->name);
}

/* Sends the transferor a NOTIFY of the refer subscription (RFC 3515 §2.4.4) with a sipfrag. */
static void refer_notify(struct call_leg *x, const char *frag, bool final)
{
	char ex[128];

	snprintf(ex, sizeof(ex), "Event: refer\r\nSubscription-State: %s\r\n",
		 final ? "terminated;reason=noresource" : "active;expires=60");
	leg_request(x, "NOTIFY", ex, "message/sipfrag;version=2.0", frag, NULL, NULL, NULL, 0);
}

/* Finds the leg of dialog (call_id, tag1, tag2) whose far end is a phone, tags in either order
 * (a Replaces names them as one side sees them). */
static struct call_leg *leg_find_dialog(struct call_eng *eng, const struct pl *call_id,
					const struct pl *t1, const struct pl *t2)
{
	struct call_leg *leg = leg_find(eng, call_id, t1, t2);

	return leg ? leg : leg_find(eng, call_id, t2, t1);
}

/* Joins two answered legs' media (after their partners left) and takes back a hold we passed
 * to either of them. */
static void legs_join(struct call_leg *y, struct call_leg *z)
{
	if (y->ml && z->ml && media_bridge(y->ml, z->ml))
		log_notice("%s: no common media with %s after the transfer", y->name, z->name);
	if (y->sent_dir_set && y->sent_dir != SDP_SENDRECV)
		pass_direction(z, y, SDP_SENDRECV, false);
	if (z->sent_dir_set && z->sent_dir != SDP_SENDRECV)
		pass_direction(y, z, SDP_SENDRECV, false);
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
	leg_bye(x1);
	leg_free(x1);
	c1->a = y;
	c1->b = z;
	legs_join(y, z);
}

/* REFER (RFC 3515) from a phone in an answered call: a blind transfer. The phone's leg is let go
 * (202, NOTIFY 100 then 200, BYE) and the party it talked to is dialled anew to the Refer-To user
 * through the phone's own context, so the transfer obeys the same toll-fraud rules as a call
 * the phone places itself. A REFER with Replaces (attended transfer) gets 501. */
static void call_refer(struct call_leg *x, struct sip_strans *st, const struct sip_msg *msg)
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
	leg_bye(x);
	leg_free(x); /* clears c->a or c->b */
	c->a = y;
	c->b = NULL;
	pbx_chan_free(c->chan);
	c->chan = ch;
	c->state = CALL_ROUTING;
	c->dial_open = false;
	c->best = 0;
	snprintf(c->dst, sizeof(c->dst), "%s", target);
	snprintf(c->dcontext, sizeof(c->dcontext), "%s", p->context);
	run(c);
}

static bool in_dialog(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg)
{
	struct call_leg *leg = leg_find(eng, &msg->call_id, &msg->to.tag, &msg->from.tag);
	struct call *c;

	if (!leg) {
		if (!st)
			return true; /* a stray ACK: nothing to answer */
		return false;	 /* the server answers 481 */
	}
	c = leg->call;
	if (msg->mid == SIP_METHOD_ACK) {
		if (leg->inv && msg->cseq.num == leg->inv->cseq.num) {
			if (msg->body.l && leg->ml && !leg->sdp_remote && leg->sdp_local) {
				/* The answer to the offer of our 2xx (late offer). */
				set_str(&leg->sdp_remote, body_dup(msg));
				if (call_media_offer_answered(leg, &msg->body))
					log_notice("%s: unusable answer in the ACK", leg->name);
			}
			loop_timer_cancel(&leg->ok_tmr);
			mbuf_reset(&leg->ok);
			leg->inv = mem_deref(leg->inv);
		}
		return true;
	}
	if (!st)
		return true;
	if (leg->rcseq && msg->cseq.num < leg->rcseq && msg->mid != SIP_METHOD_PRACK) {
		sip_strans_reply(st, 500, "CSeq Out of Order", NULL, NULL, NULL);
		return true;
	}
	if (msg->cseq.num > leg->rcseq)
		leg->rcseq = msg->cseq.num;
	switch (msg->mid) {
	case SIP_METHOD_BYE:
		sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
		leg->state = LEG_TERMINATED;
		log_info("%s: BYE", leg->name);
		if (c)
			call_hangup(c, 16);
		return true;
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
		if (!c || c->state == CALL_ENDING) {
			sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
			return true;
		}
		if (msg->mid == SIP_METHOD_UPDATE && leg->inv && leg->inv->body.l == 0 &&
		    ((leg->st && !leg->uac) || (msg->body.l && leg->ok.end))) {
			/* An offer of ours is unanswered (RFC 3311 §5.2): our 2xx to an INVITE
			 * without SDP carries it until the ACK brings the answer. */
			sip_strans_reply(st, 491, "Request Pending", NULL, NULL, NULL);
			return true;
		}
		{
			/* A target refresh (RFC 3261 §12.2.2, RFC 3311 §5.2): later requests go
			 * to the new Contact. */
			char *t = contact_uri(msg);

			if (t)
				set_str(&leg->target, t);
		}
		in_dialog_offer(leg, st, msg);
		return true;
	case SIP_METHOD_PRACK:
		if (leg->uac)
			sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL,
					 NULL);
		else
			a_prack(leg, st, msg);
		return true;
	case SIP_METHOD_INFO:
		info_dtmf(leg, msg);
		sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
		return true;
	case SIP_METHOD_REFER:
		call_refer(leg, st, msg);
		return true;
	default:
		return false;
	}
}

bool call_handle_request(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct call_eng *eng = arg;

	if (!msg->from_ok || !msg->to_ok || !msg->cseq_ok)
		return false;
	if (pl_isset(&msg->to.tag))
		return in_dialog(eng, st, msg);
	if (!st)
		return true; /* ACK without a dialog: dropped */
	if (msg->mid != SIP_METHOD_INVITE)
		return false;
	if (msg->body.l > 16384) {
		sip_strans_reply(st, 413, "Request Entity Too Large", NULL, NULL, NULL);
		return true;
	}
	if (eng->cfg)
		new_invite(eng, st, msg);
	else
		sip_strans_reply(st, 503, "Service Unavailable", NULL, NULL, NULL);
	return true;
}

/* ---------------------------------------------------------------------------------------------
 * The engine
 */

void call_settings_default(struct call_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->max_calls = 64;
	set->session_expires = 1800;
	set->min_se = 90;
	set->rel100 = true;
	set->line_se = 300;
	set->nonce_lifetime = 300;
	set->retry_after = 10;
}

static int reg_locate(const char *peer, reg_contact_h *h, void *harg, void *arg)
{
	return reg_contacts(arg, peer, h, harg);
}

int call_eng_alloc(struct call_eng **engp, struct loop *loop, struct sip_stack *stack,
		   struct store *store, struct reg *reg, struct cfg *cfg,
		   const struct call_settings *set)
{
	struct call_eng *eng;
	int err;

	if (!engp || !loop || !stack)
		return EINVAL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return ENOMEM;
	eng->loop = loop;
	eng->stack = stack;
	eng->tp = sip_stack_transp(stack);
	eng->store = store;
	eng->reg = reg;
	eng->cfg = cfg ? mem_ref(cfg) : NULL;
	if (set)
		eng->set = *set;
	else
		call_settings_default(&eng->set);
	if (reg) {
		eng->locate = reg_locate;
		eng->locate_arg = reg;
	}
	err = htab_init(&eng->legs, 64);
	if (!err)
		err = call_auth_init(eng);
	if (err) {
		htab_reset(&eng->legs);
		mem_deref(eng->cfg);
		free(eng);
		return err;
	}
	sip_stack_set_stray_response_handler(stack, stray_h, eng);
	*engp = eng;
	return 0;
}

void call_eng_free(struct call_eng *eng)
{
	if (!eng)
		return;
	while (eng->calls.head)
		call_hangup(eng->calls.head->data, 16);
	while (eng->orphans.head)
		leg_free(eng->orphans.head->data);
	sip_stack_set_stray_response_handler(eng->stack, NULL, NULL);
	htab_reset(&eng->legs);
	call_auth_free(eng);
	mem_deref(eng->cfg);
	free(eng);
}

void call_eng_set_cfg(struct call_eng *eng, struct cfg *newcfg)
{
	if (!eng)
		return;
	mem_deref(eng->cfg);
	eng->cfg = newcfg ? mem_ref(newcfg) : NULL;
}

void call_eng_set_locator(struct call_eng *eng, call_locate_h *h, void *arg)
{
	eng->locate = h;
	eng->locate_arg = arg;
}

void call_eng_set_media(struct call_eng *eng, struct media *m)
{
	if (eng)
		eng->media = m;
}

void call_eng_set_line(struct call_eng *eng, const struct call_line *line)
{
	if (!line || !sa_isset(&line->server)) {
		memset(&eng->line, 0, sizeof(eng->line));
		eng->line_up = false;
		return;
	}
	eng->line = *line;
	eng->line_up = true;
}

size_t call_count(const struct call_eng *eng)
{
	return eng ? list_count(&eng->calls) : 0;
}

size_t call_leg_count(const struct call_eng *eng)
{
	return eng ? eng->legs.count + list_count(&eng->orphans) : 0;
}

/* ---------------------------------------------------------------------------------------------
 * CLI
 */

static const char *leg_state_name(const struct call_leg *leg)
{
	switch (leg->state) {
	case LEG_CALLING:
		return leg->uac ? "Ring" : "Ring";
	case LEG_EARLY:
		return leg->uac ? "Ringing" : "Ring";
	case LEG_CONFIRMED:
		return "Up";
	default:
		return "Down";
	}
}

int call_show_channels(struct call_eng *eng, bool verbose, struct mbuf *out)
{
	size_t nch = 0;

	if (verbose)
		mbuf_printf(out, "%-28s %-20s %-7s %-20s %-16s %-10s %s\n", "Channel",
			    "Context", "State", "Application(Data)", "CallerID", "Duration",
			    "Peer/Call-ID");
	else
		mbuf_printf(out, "%-28s %-28s %-7s %s\n", "Channel", "Location", "State",
			    "Application(Data)");
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;
		int64_t dur = (call_wall_ms() - c->start_ms) / 1000;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;
			char loc[128], app[300];

			if (leg->uac) {
				snprintf(loc, sizeof(loc), "(None)");
				snprintf(app, sizeof(app), "AppDial((Outgoing Line))");
			} else {
				snprintf(loc, sizeof(loc), "%s@%s:%u", pbx_chan_exten(c->chan),
					 pbx_chan_context(c->chan), pbx_chan_priority(c->chan));
				snprintf(app, sizeof(app), "%s(%s)", str_or(c->lastapp, "(None)"),
					 c->lastdata);
			}
			if (verbose)
				mbuf_printf(out, "%-28s %-20s %-7s %-20s %-16s %02lld:%02lld:%02lld %s\n",
					    leg->name, leg->uac ? "" : pbx_chan_context(c->chan),
					    leg_state_name(leg), app, c->cid_num,
					    (long long)(dur / 3600), (long long)(dur / 60 % 60),
					    (long long)(dur % 60), leg->call_id);
			if (verbose)
				call_media_show(leg, out);
			else
				mbuf_printf(out, "%-28s %-28s %-7s %s\n", leg->name, loc,
					    leg_state_name(leg), app);
			nch++;
		}
	}
	mbuf_printf(out, "%zu active channel%s\n%zu active call%s\n", nch, nch == 1 ? "" : "s",
		    list_count(&eng->calls), list_count(&eng->calls) == 1 ? "" : "s");
	return 0;
}

int call_show_sip_channels(struct call_eng *eng, struct mbuf *out)
{
	size_t n = 0;

	mbuf_printf(out, "%-16s %-12s %-32s %-10s %-7s %s\n", "Peer", "User/ANR", "Call ID",
		    "Format", "Hold", "Last Message");
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;
			char a[SA_STRLEN];

			mbuf_printf(out, "%-16s %-12s %-32.32s %-10s %-7s %s\n",
				    sa_ntop(&leg->dst, a, sizeof(a)), leg->peer, leg->call_id,
				    "ulaw", "No", leg_state_name(leg));
			n++;
		}
	}
	mbuf_printf(out, "%zu active SIP dialog%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int call_hangup_channel(struct call_eng *eng, const char *name, struct mbuf *out)
{
	bool all = !strcasecmp(name, "all");
	bool found = false;
	struct le *le = eng->calls.head;

	while (le) {
		struct call *c = le->data;
		bool hit = all;

		le = le->next;
		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (!strcmp(leg->name, name))
				hit = true;
		}
		if (!hit)
			continue;
		found = true;
		mbuf_printf(out, "Requested Hangup on channel '%s'\n",
			    all ? "all" : name);
		/* le may be freed by the hangup when it is the next call: none of ours is. */
		call_hangup(c, 16);
	}
	if (!found && !all) {
		mbuf_printf(out, "%s is not a known channel\n", name);
		return ENOENT;
	}
	return 0;
}
