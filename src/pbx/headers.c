/* headers: SIPAddHeader(), SIPRemoveHeader() and PJSIP_HEADER(add|update|remove) writes: the
 * header lines a channel's Dial() adds to its INVITEs. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

/* ---- SIPAddHeader -------------------------------------------------------------------------- */

/* Headers the B2BUA writes itself: a dialplan cannot add them (a second Via or Call-ID would
 * break the dialog; chan_sip would have sent them, and the peer would have refused the call). */
static const char *const own_headers[] = {
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Session-Expires",
    "Min-SE",
    "Proxy-Require",
    "Authorization",
    "Proxy-Authorization",
    "Expires",
    "v",
    "f",
    "t",
    "i",
    "m",
    "l",
    "c",
    "k",
};

static void added_header_name(char *buf, unsigned i)
{
	snprintf(buf, 16, "SIPADDHEADER%02u", i);
}

static bool header_ok(const char *h, const char **why)
{
	const char *colon = strchr(h, ':');
	size_t n;

	if (!colon || colon == h) {
		*why = "needs 'Name: value'";
		return false;
	}
	n = (size_t)(colon - h);
	while (n && h[n - 1] == ' ')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		/* RFC 3261 token characters */
		if (!(isalnum(c) || strchr("-.!%*_+`'~", c))) {
			*why = "the name is not a SIP token";
			return false;
		}
	}
	if (strpbrk(h, "\r\n")) {
		*why = "a header is one line";
		return false;
	}
	for (size_t i = 0; i < sizeof(own_headers) / sizeof(own_headers[0]); i++) {
		if (strlen(own_headers[i]) == n && !strncasecmp(h, own_headers[i], n)) {
			*why = "mikaka writes that header itself";
			return false;
		}
	}
	return true;
}

/* Keeps header line h for the next Dial()s; EINVAL (warned) when it is refused. */
static int add_header(struct pbx_chan *ch, const char *what, const char *h)
{
	char name[16];
	const char *why = NULL;

	if (!header_ok(h, &why)) {
		log_warn("%s,%s,%u: %s(%s): %s; not added", ch->context, ch->exten, ch->prio, what,
			 h, why);
		return EINVAL;
	}
	for (unsigned i = 1; i <= PBX_SIPADDHEADER_MAX; i++) {
		added_header_name(name, i);
		if (!pbx_vars_getn(&ch->vars, name, strlen(name)))
			return pbx_vars_setn(&ch->vars, name, strlen(name), h, strlen(h));
	}
	log_warn("%s,%s,%u: %s: already %d headers; not added", ch->context, ch->exten, ch->prio,
		 what, PBX_SIPADDHEADER_MAX);
	return ENOSPC;
}

/* Drops the added headers starting with prefix (all when it is empty); with `whole_name`, those
 * whose name is exactly prefix (blanks before the colon ignored). */
static void remove_headers(struct pbx_chan *ch, const char *prefix, bool whole_name)
{
	size_t n = strlen(prefix);
	char name[16];

	for (unsigned i = 1; i <= PBX_SIPADDHEADER_MAX; i++) {
		const char *v, *colon;
		size_t vl;

		added_header_name(name, i);
		v = pbx_vars_getn(&ch->vars, name, strlen(name));
		if (!v || (n && strncasecmp(v, prefix, n)))
			continue;
		if (whole_name && n) {
			colon = strchr(v, ':');
			vl = colon ? (size_t)(colon - v) : strlen(v);
			while (vl && v[vl - 1] == ' ')
				vl--;
			if (vl != n)
				continue;
		}
		pbx_vars_setn(&ch->vars, name, strlen(name), NULL, 0);
	}
}

enum step chan_app_sipaddheader(struct pbx_chan *ch, const char *args)
{
	while (*args == ' ')
		args++;
	return add_header(ch, "SIPAddHeader", args) == ENOMEM ? STEP_FAIL : STEP_NEXT;
}

/* SIPRemoveHeader([prefix]): every added header, or those starting with prefix. */
enum step chan_app_sipremoveheader(struct pbx_chan *ch, const char *args)
{
	while (*args == ' ')
		args++;
	remove_headers(ch, args, false);
	return STEP_NEXT;
}

/* Set(PJSIP_HEADER(add|update,Name)=value) and Set(PJSIP_HEADER(remove,Name|*)=): chan_pjsip's
 * way of writing SIPAddHeader()/SIPRemoveHeader(), kept in the same variables. */
int chan_pjsip_header_write(struct pbx_chan *ch, struct pl args, const char *value, size_t vlen)
{
	const char *comma = pl_chr(&args, ',');
	struct pl action, name;
	char hdr[1024];

	if (!comma)
		return EINVAL;
	action = pl_from(args.p, (size_t)(comma - args.p));
	name = pl_from(comma + 1, (size_t)(args.p + args.l - comma - 1));
	pl_trim(&action);
	pl_trim(&name);
	if (!name.l || name.l > 128)
		return EINVAL;
	if (pl_caseeq_str(&action, "remove")) {
		snprintf(hdr, sizeof(hdr), "%.*s", (int)name.l, name.p);
		remove_headers(ch, strcmp(hdr, "*") ? hdr : "", true);
		return 0;
	}
	if (!pl_caseeq_str(&action, "add") && !pl_caseeq_str(&action, "update"))
		return EINVAL;
	if (pl_caseeq_str(&action, "update")) {
		snprintf(hdr, sizeof(hdr), "%.*s", (int)name.l, name.p);
		remove_headers(ch, hdr, true);
	}
	if (snprintf(hdr, sizeof(hdr), "%.*s: %.*s", (int)name.l, name.p, (int)vlen,
		     value ? value : "") >= (int)sizeof(hdr))
		return EINVAL;
	return add_header(ch, "PJSIP_HEADER", hdr) == ENOMEM ? ENOMEM : 0;
}

int pbx_chan_added_headers(struct pbx_chan *ch, struct mbuf *out)
{
	const char *by_index[PBX_SIPADDHEADER_MAX + 1] = {NULL};
	bool any = false;
	int err = 0;

	if (!ch || !out)
		return EINVAL;
	/* One pass over the channel's few variables (every Dial() leg asks, most calls have none).
	 */
	for (size_t i = 0; i < ch->vars.n; i++) {
		const char *nm = ch->vars.v[i].name;
		unsigned idx;

		if (strlen(nm) != 14 || strncasecmp(nm, "SIPADDHEADER", 12) ||
		    !isdigit((unsigned char)nm[12]) || !isdigit((unsigned char)nm[13]))
			continue;
		idx = (unsigned)(nm[12] - '0') * 10 + (unsigned)(nm[13] - '0');
		if (idx >= 1 && idx <= PBX_SIPADDHEADER_MAX) {
			by_index[idx] = ch->vars.v[i].value;
			any = true;
		}
	}
	for (unsigned i = 1; any && i <= PBX_SIPADDHEADER_MAX && !err; i++) {
		const char *why;

		/* Set() can write the variable too: checked again. */
		if (!by_index[i] || !header_ok(by_index[i], &why))
			continue;
		err = mbuf_write_str(out, by_index[i]);
		if (!err)
			err = mbuf_write_str(out, "\r\n");
	}
	return err;
}
