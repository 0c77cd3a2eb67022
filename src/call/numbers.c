/* numbers: SIP codes, Q.850 causes and DIALSTATUS mapped to each other, and the caller's and
 * called numbers read from a request (From, P-Asserted-Identity, P-Called-Party-ID, To). */
#include <errno.h>

#include "call_int.h"
#include "screen.h"

#define LOG_MODULE "call"

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
	case 433:
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

const char *call_reason_for(uint16_t code)
{
	switch (code) {
	case 180: return "Ringing";
	case 183: return "Session Progress";
	case 200: return "OK";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 433: return "Anonymity Disallowed";
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
static int addr_number_of(const struct sip_addr *a, char *buf, size_t size, char *name,
			  size_t nsize)
{
	size_t n = 0;

	if (name && nsize) {
		name[0] = '\0';
		if (pl_isset(&a->dname)) {
			struct pl dn = pl_from(a->dname.p, MIN(a->dname.l, nsize - 1));

			pl_strcpy(&dn, name, nsize);
		}
	}
	if (a->uri.scheme != SIP_URI_SIP && a->uri.scheme != SIP_URI_SIPS &&
	    a->uri.scheme != SIP_URI_TEL)
		return EPROTONOSUPPORT;
	if (pl_caseeq_str(&a->uri.host, "anonymous.invalid") ||
	    pl_caseeq_str(&a->uri.user, "anonymous")) {
		str_copy(buf, size, "anonymous");
		return 0;
	}
	for (size_t i = 0; i < a->uri.user.l && n + 1 < size; i++) {
		char c = a->uri.user.p[i];

		if (c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return n ? 0 : ENOENT;
}

static int addr_number(const struct pl *value, char *buf, size_t size, char *name, size_t nsize)
{
	struct sip_addr a;

	if (sip_addr_decode(&a, value))
		return EBADMSG;
	return addr_number_of(&a, buf, size, name, nsize);
}

/* The number of the first From or To header: the parser decoded it already (msg->from, msg->to
 * are that header's value decoded the same way), so it is not decoded again. */
static int msg_addr_number(const struct sip_msg *msg, enum sip_hdr_id id, char *buf, size_t size,
			   char *name, size_t nsize)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, id);

	if (!h)
		return ENOENT;
	if (id == SIP_HDR_FROM && msg->from_ok)
		return addr_number_of(&msg->from, buf, size, name, nsize);
	if (id == SIP_HDR_TO && msg->to_ok)
		return addr_number_of(&msg->to, buf, size, name, nsize);
	return addr_number(&h->value, buf, size, name, nsize);
}

int call_called_number(const struct sip_msg *msg, char *buf, size_t size)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_P_CALLED_PARTY_ID);

	if (!buf || size < 2)
		return EINVAL;
	if (h && addr_number(&h->value, buf, size, NULL, 0) == 0)
		return 0;
	if (msg->to_ok && msg_addr_number(msg, SIP_HDR_TO, buf, size, NULL, 0) == 0)
		return 0;
	return ENOENT;
}

int call_caller_id(const struct sip_msg *msg, char *num, size_t nsize, char *name,
		   size_t namesize)
{
	struct sip_hdr_iter it;
	struct pl v;

	if (!num || nsize < 2)
		return EINVAL;
	if (msg_addr_number(msg, SIP_HDR_FROM, num, nsize, name, namesize) == 0 &&
	    strcmp(num, "anonymous") == 0)
		return 0; /* withheld: PAI is stripped anyway; never trust one that is left */
	sip_hdr_iter_init(&it, msg, SIP_HDR_P_ASSERTED_IDENTITY, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		char nm[80];

		if (addr_number(&v, num, nsize, nm, sizeof(nm)) == 0) {
			if (name && namesize && nm[0])
				str_copy(name, namesize, nm);
			return 0;
		}
	}
	if (msg_addr_number(msg, SIP_HDR_FROM, num, nsize, name, namesize) == 0)
		return 0;
	str_copy(num, nsize, "anonymous");
	return 0;
}

/* Whether the Privacy header asks to hide the identity (RFC 3323 id, header, user). */
static bool privacy_id(const struct sip_msg *msg)
{
	struct sip_hdr_iter it;
	struct pl v;

	sip_hdr_iter_init(&it, msg, SIP_HDR_PRIVACY, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		size_t i = 0;

		while (i < v.l) {
			size_t j = i;
			struct pl tok;

			while (j < v.l && v.p[j] != ';' && v.p[j] != ',')
				j++;
			tok = pl_from(v.p + i, j - i);
			pl_trim(&tok);
			if (pl_caseeq_str(&tok, "id") || pl_caseeq_str(&tok, "header") ||
			    pl_caseeq_str(&tok, "user"))
				return true;
			i = j + 1;
		}
	}
	return false;
}

int call_caller_ident(const struct sip_msg *msg, struct call_ident *id)
{
	const struct sip_hdr *f = sip_msg_hdr(msg, SIP_HDR_FROM);
	struct sip_addr fa;

	if (!msg || !id)
		return EINVAL;
	memset(id, 0, sizeof(*id));
	call_caller_id(msg, id->num, sizeof(id->num), id->name, sizeof(id->name));
	id->privacy = privacy_id(msg);
	if (!strcmp(id->num, "anonymous")) {
		struct pl dn = PL_INIT;

		if (f && sip_addr_decode(&fa, &f->value) == 0)
			dn = fa.dname;
		id->reason = screen_reason_from_display(&dn);
	} else if (id->privacy) {
		/* A number asked to be hidden is withheld, whoever left it in. */
		str_copy(id->num, sizeof(id->num), "anonymous");
		str_copy(id->name, sizeof(id->name), "Anonymous");
		id->reason = SCREEN_R_WITHHELD;
	} else {
		char n[SCREEN_NUM_MAX];

		if (screen_number_norm(id->num, strlen(id->num), n, sizeof(n)) == 0)
			str_copy(id->num, sizeof(id->num), n);
		id->reason = SCREEN_R_NONE;
	}
	id->pres = screen_callerpres((enum screen_reason)id->reason, id->privacy);
	return 0;
}

