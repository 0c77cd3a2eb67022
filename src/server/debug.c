/* debug: `sip set debug` (Asterisk's): every SIP message to or from the chosen side written to
 * the log as it goes out or comes in, with SDES keys hidden. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_int.h"

#define LOG_MODULE "sip"

struct server_debug {
	enum server_debug_mode mode;
	struct sa ip; /* SERVER_DEBUG_IP: port 0 matches every port */
	char peer[64];
	server_peer_match_h *match_h;
	void *match_arg;
};

static bool wanted(const struct server_debug *dbg, const struct sa *addr)
{
	switch (dbg->mode) {
	case SERVER_DEBUG_ALL:
		return true;
	case SERVER_DEBUG_IP:
		return sa_port(&dbg->ip) ? sa_eq(&dbg->ip, addr) : sa_eq_addr(&dbg->ip, addr);
	case SERVER_DEBUG_PEER:
		return dbg->match_h && dbg->match_h(dbg->peer, addr, dbg->match_arg);
	default:
		return false;
	}
}

/* The message with CRLF as LF and every `inline:` key of an a=crypto line replaced: keys are
 * never logged (docs/SECURITY.md), not even at the operator's request. */
static void copy_hiding_keys(struct mbuf *mb, const char *p, size_t n)
{
	static const char tag[] = "inline:";

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == 'i' && n - i > sizeof(tag) - 1 &&
		    !strncasecmp(p + i, tag, sizeof(tag) - 1)) {
			mbuf_write(mb, "inline:<hidden>", 15);
			i += sizeof(tag) - 1;
			/* the key ends at '|' (lifetime, MKI follow), a blank, ';' or the line end
			 */
			while (i < n && p[i] != '|' && p[i] != ' ' && p[i] != ';' && p[i] != '\r' &&
			       p[i] != '\n')
				i++;
			i--;
			continue;
		}
		mbuf_write(mb, p + i, 1);
	}
}

static void trace_h(bool sent, enum sip_transport type, const struct sa *peer, const char *data,
		    size_t len, void *arg)
{
	struct server_debug *dbg = arg;
	char addr[64];
	struct mbuf mb;
	const char *p, *end;

	if (!wanted(dbg, peer))
		return;
	mbuf_init(&mb);
	copy_hiding_keys(&mb, data, len);
	while (mb.end && mb.buf[mb.end - 1] == '\n')
		mb.end--;
	sa_fmt(peer, addr, sizeof(addr));
	log_notice("<--- %s %s:%s --->", sent ? "Transmitting to" : "SIP read from",
		   sip_transport_name(type), addr);
	/* A log line each: one log record is at most 1 KiB, a message up to 64 KiB. */
	p = mb.buf ? (const char *)mb.buf : "";
	end = p + mb.end;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		log_notice("%.*s", (int)l, p);
		p += l + 1;
	}
	log_notice("<------------->");
	mbuf_reset(&mb);
}

int server_debug_set(struct server *srv, enum server_debug_mode mode, const struct sa *ip,
		     const char *peer)
{
	struct server_debug *dbg = server_debug_state(srv);

	if (!dbg)
		return ENOMEM;
	if ((mode == SERVER_DEBUG_IP && (!ip || !sa_isset(ip))) ||
	    (mode == SERVER_DEBUG_PEER && (!peer || !*peer || strlen(peer) >= sizeof(dbg->peer))))
		return EINVAL;
	dbg->mode = mode;
	if (mode == SERVER_DEBUG_IP)
		dbg->ip = *ip;
	if (mode == SERVER_DEBUG_PEER)
		strcpy(dbg->peer, peer);
	sip_transp_set_trace(sip_stack_transp(server_stack(srv)),
			     mode == SERVER_DEBUG_OFF ? NULL : trace_h, dbg);
	return 0;
}

enum server_debug_mode server_debug_get(struct server *srv, struct sa *ip, const char **peer)
{
	struct server_debug *dbg = server_debug_state(srv);

	if (!dbg)
		return SERVER_DEBUG_OFF;
	if (ip)
		*ip = dbg->ip;
	if (peer)
		*peer = dbg->peer;
	return dbg->mode;
}

void server_debug_set_peer_match(struct server *srv, server_peer_match_h *h, void *arg)
{
	struct server_debug *dbg = server_debug_state(srv);

	if (dbg) {
		dbg->match_h = h;
		dbg->match_arg = arg;
	}
}

struct server_debug *server_debug_alloc(void)
{
	return calloc(1, sizeof(struct server_debug));
}
