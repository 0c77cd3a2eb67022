/* sip: the SIP stack: message parser (RFC 3261 §7, §20, §25), message builder, UDP/TCP transports
 * (§18, RFC 3581) and transactions (§17, RFC 6026). */
#ifndef MIKAKA_SIP_H
#define MIKAKA_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct loop;

/* RFC 3261 timer defaults in milliseconds (§17.1.1.1, Table 4). */
#define SIP_T1_DEFAULT 500
#define SIP_T2_DEFAULT 4000
#define SIP_T4_DEFAULT 5000

#define SIP_MSG_MAX 65536  /* largest message accepted on any transport */
#define SIP_HDRS_MAX 1024  /* more header lines than this: 400 */
#define SIP_HDR_LINE_MAX 8192 /* a longer header field (folded lines included): 400 */
#define SIP_PORT_DEFAULT 5060
#define SIP_TLS_PORT_DEFAULT 5061

/* ---------------------------------------------------------------------------------------------
 * Header table: one line per known header. X(ID, "Long-Name", 'c' compact letter or 0, LIST)
 * where LIST says whether the value is a comma-separated list (RFC 3261 §7.3.1) that the value
 * iterator splits. Authentication headers are not lists: their parameters are comma-separated.
 */
#define SIP_HDR_TABLE(X)                                                                           \
	X(ACCEPT, "Accept", 0, true)                                                               \
	X(ACCEPT_CONTACT, "Accept-Contact", 'a', true)                                             \
	X(ACCEPT_ENCODING, "Accept-Encoding", 0, true)                                             \
	X(ACCEPT_LANGUAGE, "Accept-Language", 0, true)                                             \
	X(ALERT_INFO, "Alert-Info", 0, true)                                                       \
	X(ALLOW, "Allow", 0, true)                                                                 \
	X(ALLOW_EVENTS, "Allow-Events", 'u', true)                                                 \
	X(AUTHENTICATION_INFO, "Authentication-Info", 0, false)                                    \
	X(AUTHORIZATION, "Authorization", 0, false)                                                \
	X(CALL_ID, "Call-ID", 'i', false)                                                          \
	X(CALL_INFO, "Call-Info", 0, true)                                                         \
	X(CONTACT, "Contact", 'm', true)                                                           \
	X(CONTENT_DISPOSITION, "Content-Disposition", 0, false)                                    \
	X(CONTENT_ENCODING, "Content-Encoding", 'e', true)                                         \
	X(CONTENT_LANGUAGE, "Content-Language", 0, true)                                           \
	X(CONTENT_LENGTH, "Content-Length", 'l', false)                                            \
	X(CONTENT_TYPE, "Content-Type", 'c', false)                                                \
	X(CSEQ, "CSeq", 0, false)                                                                  \
	X(DATE, "Date", 0, false)                                                                  \
	X(ERROR_INFO, "Error-Info", 0, true)                                                       \
	X(EVENT, "Event", 'o', false)                                                              \
	X(EXPIRES, "Expires", 0, false)                                                            \
	X(FROM, "From", 'f', false)                                                                \
	X(IDENTITY, "Identity", 'y', false)                                                        \
	X(IN_REPLY_TO, "In-Reply-To", 0, true)                                                     \
	X(MAX_FORWARDS, "Max-Forwards", 0, false)                                                  \
	X(MIME_VERSION, "MIME-Version", 0, false)                                                  \
	X(MIN_EXPIRES, "Min-Expires", 0, false)                                                    \
	X(MIN_SE, "Min-SE", 0, false)                                                              \
	X(ORGANIZATION, "Organization", 0, false)                                                  \
	X(P_ASSERTED_IDENTITY, "P-Asserted-Identity", 0, true)                                     \
	X(P_CALLED_PARTY_ID, "P-Called-Party-ID", 0, false)                                        \
	X(P_PREFERRED_IDENTITY, "P-Preferred-Identity", 0, true)                                   \
	X(PATH, "Path", 0, true)                                                                   \
	X(PRIORITY, "Priority", 0, false)                                                          \
	X(PRIVACY, "Privacy", 0, false)                                                            \
	X(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0, false)                                      \
	X(PROXY_AUTHORIZATION, "Proxy-Authorization", 0, false)                                    \
	X(PROXY_REQUIRE, "Proxy-Require", 0, true)                                                 \
	X(RACK, "RAck", 0, false)                                                                  \
	X(REASON, "Reason", 0, true)                                                               \
	X(RECORD_ROUTE, "Record-Route", 0, true)                                                   \
	X(REFER_TO, "Refer-To", 'r', false)                                                        \
	X(REFERRED_BY, "Referred-By", 'b', false)                                                  \
	X(REJECT_CONTACT, "Reject-Contact", 'j', true)                                             \
	X(REPLACES, "Replaces", 0, false)                                                          \
	X(REPLY_TO, "Reply-To", 0, false)                                                          \
	X(REQUEST_DISPOSITION, "Request-Disposition", 'd', true)                                   \
	X(REQUIRE, "Require", 0, true)                                                             \
	X(RETRY_AFTER, "Retry-After", 0, false)                                                    \
	X(ROUTE, "Route", 0, true)                                                                 \
	X(RSEQ, "RSeq", 0, false)                                                                  \
	X(SERVER, "Server", 0, false)                                                              \
	X(SESSION_EXPIRES, "Session-Expires", 'x', false)                                          \
	X(SUBJECT, "Subject", 's', false)                                                          \
	X(SUBSCRIPTION_STATE, "Subscription-State", 0, false)                                      \
	X(SUPPORTED, "Supported", 'k', true)                                                       \
	X(TIMESTAMP, "Timestamp", 0, false)                                                        \
	X(TO, "To", 't', false)                                                                    \
	X(UNSUPPORTED, "Unsupported", 0, true)                                                     \
	X(USER_AGENT, "User-Agent", 0, false)                                                      \
	X(VIA, "Via", 'v', true)                                                                   \
	X(WARNING, "Warning", 0, true)                                                             \
	X(WWW_AUTHENTICATE, "WWW-Authenticate", 0, false)

enum sip_hdr_id {
	SIP_HDR_OTHER = 0, /* extension header: look it up by name */
#define SIP_HDR_ENUM(id, name, compact, list) SIP_HDR_##id,
	SIP_HDR_TABLE(SIP_HDR_ENUM)
#undef SIP_HDR_ENUM
	SIP_HDR_COUNT
};

/* Canonical name of a known header ("Via"), or NULL for SIP_HDR_OTHER. */
const char *sip_hdr_name(enum sip_hdr_id id);
/* Header id for a name in long or compact form, case-insensitive. */
enum sip_hdr_id sip_hdr_lookup(const struct pl *name);
bool sip_hdr_is_list(enum sip_hdr_id id);

enum sip_method {
	SIP_METHOD_OTHER = 0, /* extension or unknown method: compare msg->method */
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_PRACK,
	SIP_METHOD_UPDATE,
	SIP_METHOD_INFO,
	SIP_METHOD_REFER,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_PUBLISH,
};

/* Method id from its name; methods are case-sensitive (RFC 3261 §7.1). */
enum sip_method sip_method_lookup(const struct pl *name);
const char *sip_method_name(enum sip_method m);

enum sip_transport {
	SIP_TP_NONE = 0,
	SIP_TP_UDP,
	SIP_TP_TCP,
	SIP_TP_TLS,
	SIP_TP_SCTP,
	SIP_TP_WS,
	SIP_TP_WSS,
	SIP_TP_OTHER, /* a transport token we do not know */
};

const char *sip_transport_name(enum sip_transport tp); /* "UDP", "TCP", ... */
enum sip_transport sip_transport_lookup(const struct pl *name); /* case-insensitive */
bool sip_transport_reliable(enum sip_transport tp);

/* ---------------------------------------------------------------------------------------------
 * URIs (RFC 3261 §19.1, RFC 3966, RFC 5118). All fields point into the decoded text; escapes
 * (%HEX) are left in place. Unescape once with sip_unescape() when comparing or using a field.
 */
enum sip_uri_scheme { SIP_URI_OTHER = 0, SIP_URI_SIP, SIP_URI_SIPS, SIP_URI_TEL };

struct sip_uri {
	struct pl raw; /* the whole URI as decoded */
	enum sip_uri_scheme scheme;
	struct pl scheme_name; /* as written: "sip", "SIP", "tel", "isbn" ... */
	struct pl user;	       /* sip/sips: userinfo before ':' or '@'; tel: the number */
	struct pl password;
	struct pl host;	   /* IPv6 without its brackets */
	bool host_ipv6;	   /* host was written as [IPv6reference] */
	uint16_t port;	   /* 0 when absent */
	struct pl params;  /* ";a=b;c" including the leading ';', empty when none */
	struct pl headers; /* after '?', without it, empty when none */
	struct pl opaque;  /* SIP_URI_OTHER: everything after "scheme:" */
};

/* Decodes a URI (no surrounding '<' '>'); EBADMSG with the grammar violated. */
int sip_uri_decode(struct sip_uri *uri, const struct pl *text);
/* Finds ";name[=value]" in a parameter string (case-insensitive name). value gets an empty pl when
 * the parameter has no '='. Returns 0, or ENOENT. Works for URI, Via and header parameters. */
int sip_param_get(const struct pl *params, const char *name, struct pl *value);
bool sip_param_exists(const struct pl *params, const char *name);
/* Percent-decoding done once (RFC 3986 §2.1, RFC 4475 §3.1.1.3): "%41" becomes "A", "%2541"
 * becomes "%41". Appends to out. EBADMSG on a malformed escape. */
int sip_unescape(const struct pl *in, struct mbuf *out);
/* URI equivalence per RFC 3261 §19.1.4 (escapes compared decoded, case rules for each part). */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b);

/* name-addr or addr-spec with header parameters (From, To, Contact, Route, P-Asserted-Identity). */
struct sip_addr {
	struct pl dname;  /* display name, without quotes (quoted-pairs still escaped) */
	struct pl auri;	  /* the URI text (inside <> when written so) */
	struct sip_uri uri;
	struct pl params; /* header parameters ";tag=..;expires=.." with leading ';' */
	struct pl tag;	  /* the tag parameter's value, or an unset pl */
	bool wildcard;	  /* Contact: * */
};

int sip_addr_decode(struct sip_addr *addr, const struct pl *text);

struct sip_via {
	struct pl raw;	     /* this via-parm as written */
	struct pl version;   /* "2.0" */
	struct pl transport; /* "UDP", "tcp", ... */
	enum sip_transport tp;
	struct pl host; /* IPv6 without brackets */
	bool host_ipv6;
	uint16_t port; /* 0 when absent */
	struct pl params;
	struct pl branch;   /* unset when absent */
	struct pl received; /* unset when absent; brackets removed */
	struct pl maddr;
	bool rport;	      /* rport present */
	uint16_t rport_value; /* 0 when rport had no value */
};

int sip_via_decode(struct sip_via *via, const struct pl *text);

struct sip_cseq {
	uint32_t num;
	struct pl method;
	enum sip_method mid;
};

/* ---------------------------------------------------------------------------------------------
 * Messages. A struct sip_msg is refcounted (mem_ref/mem_deref) and owns a private copy of the
 * received bytes; every struct pl in it points into that copy, so it lives exactly as long as the
 * message. Headers are split when the message is parsed; the transaction keys (top Via, From,
 * To, Call-ID, CSeq, Max-Forwards, Content-Length) are decoded then; anything else when asked.
 */
struct sip_hdr {
	enum sip_hdr_id id;
	struct pl name;	 /* as written */
	struct pl value; /* trimmed; may contain folded line ends (CRLF + WSP), treat as LWS */
};

struct sip_conn; /* a TCP connection (transport-owned, refcounted) */

struct sip_msg {
	struct pl raw; /* the whole message: start line, headers and body */
	bool is_request;

	/* Request line. */
	struct pl method;
	enum sip_method mid;
	struct pl ruri; /* Request-URI text */
	struct sip_uri uri;
	bool uri_ok; /* ruri decoded without error */
	struct pl version; /* "SIP/2.0" as written (requests and responses) */

	/* Status line. */
	uint16_t scode;
	struct pl reason;

	struct sip_hdr *hdrs;
	size_t nhdrs;

	/* Transaction keys, decoded eagerly. `*_ok` says the header was present and valid. */
	struct sip_via via; /* topmost Via value */
	bool via_ok;
	struct sip_addr from, to;
	bool from_ok, to_ok;
	struct pl call_id;
	struct sip_cseq cseq;
	bool cseq_ok;
	int max_forwards; /* -1 when absent */
	bool has_clen;
	uint32_t clen;
	struct pl body;

	/* The first semantic error found (for a 400's reason phrase), or NULL when well-formed.
	 * `err` is the matching errno value (EBADMSG; EPROTO for a CSeq method that differs
	 * from the request method, which an unknown method turns into a 501 instead). */
	const char *err_reason;
	int err;

	/* Where it came from (set by the transport). */
	enum sip_transport tp;
	struct sa src;		/* the peer */
	struct sa dst;		/* local address it arrived on (from IP_PKTINFO / the socket) */
	struct sip_conn *conn;	/* referenced for TCP, NULL for UDP */
	int sock;		/* UDP: the socket it arrived on; -1 otherwise */
};

struct sip_parse_error {
	const char *reason; /* human text, usable as a reason phrase */
	bool need_more;	    /* stream transports: the message is incomplete so far */
};

/* Parses one message from data[0..len). On success sets *msgp (refcount 1) and *used to the
 * number of bytes it spans (header section + Content-Length body; for datagrams without
 * Content-Length the body is the rest, see `datagram`). The message may still carry
 * err_reason: it could be framed but is not valid (the caller answers 400 when it can).
 * Returns EBADMSG (with perr->reason) when not even the header section can be split, ENODATA
 * with perr->need_more on a stream when more bytes are needed, E2BIG over SIP_MSG_MAX,
 * ENOMEM. */
int sip_msg_parse(struct sip_msg **msgp, const void *data, size_t len, bool datagram, size_t *used,
		  struct sip_parse_error *perr);

/* First header with this id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id);
/* First header with this name (long or compact form, case-insensitive), known or not. */
const struct sip_hdr *sip_msg_xhdr(const struct sip_msg *msg, const char *name);
size_t sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id);

/* Iterates over all values of all headers with one id (or name, for extension headers),
 * splitting comma-separated lists outside quotes and <> for list headers. */
struct sip_hdr_iter {
	const struct sip_msg *msg;
	enum sip_hdr_id id;
	const char *name; /* when id == SIP_HDR_OTHER */
	size_t idx;	  /* next header index to look at */
	struct pl rest;	  /* what is left of the current header's value */
};

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg, enum sip_hdr_id id,
		       const char *name);
/* Sets *value to the next value (trimmed) and returns true, or false at the end. */
bool sip_hdr_iter_next(struct sip_hdr_iter *it, struct pl *value);

/* The option tags mikaka implements (RFC 3261 §19.2): the value of every Supported header it
 * sends (OPTIONS answers, the call engine's requests and responses) and the only tags a Require
 * may name (else 420). 100rel: reliable provisionals both ways (RFC 3262); timer: session timers
 * (RFC 4028); replaces: attended transfer by REFER with Replaces (RFC 3891 §6.2 asks for the tag
 * wherever Supported is sent; an INVITE with Replaces is refused, 481 or 603: no call pickup).
 * Not path, outbound or gruu: the registrar implements none of them. Toward the NGN line the
 * call engine sends "100rel, timer" only (CALL_SUPPORTED_LINE). */
#define SIP_SUPPORTED_TAGS "100rel, timer, replaces"

/* True when an option tag (e.g. "100rel") appears in Require/Supported/... of msg. */
bool sip_msg_has_option(const struct sip_msg *msg, enum sip_hdr_id id, const char *tag);

/* ---------------------------------------------------------------------------------------------
 * Building messages. Everything is written into a struct mbuf (which grows: no truncation).
 */

/* Builds a response to req: status line, every Via (the top one with received/rport filled in as
 * RFC 3261 §18.2.1 and RFC 3581 §4 require, from req->src), From, To (with ";tag=totag" added when
 * the request's To has no tag and totag is given and code > 100), Call-ID, CSeq, then `extra` (zero
 * or more complete header lines, each ending in CRLF, may be NULL), Content-Type when ctype is
 * given, Content-Length, and the body. */
int sip_build_response(struct mbuf *mb, const struct sip_msg *req, uint16_t code,
		       const char *reason, const char *totag, const char *extra, const char *ctype,
		       const struct pl *body);

struct sip_request_spec {
	const char *method;
	const char *ruri;
	enum sip_transport tp;
	const char *via_host; /* sent-by host (IPv6 without brackets is accepted and bracketed) */
	uint16_t via_port;    /* 0: not written */
	const char *branch;   /* full branch value, including the z9hG4bK cookie */
	bool rport;	      /* add ;rport to the Via */
	const char *from;     /* complete From value including ;tag= */
	const char *to;	      /* complete To value */
	const char *call_id;
	uint32_t cseq;
	const char *cseq_method; /* NULL: same as method */
	int max_forwards;	 /* < 0: 70 */
	const char *contact;	 /* complete Contact value or NULL */
	const char *extra;	 /* complete header lines ending in CRLF, or NULL */
	const char *ctype;
	const struct pl *body;
};

/* Builds a request from spec (Content-Length always written). */
int sip_build_request(struct mbuf *mb, const struct sip_request_spec *spec);

/* Writes "z9hG4bK" and random characters (RFC 3261 §8.1.1.7) into buf (size >= 32). */
void sip_branch_new(char *buf, size_t size);
/* A random token for tags and Call-IDs into buf (size >= 17). */
void sip_tag_new(char *buf, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Transports: UDP and TCP sockets on IPv4 and IPv6, with replies leaving from the address the
 * request arrived on.
 */
struct sip_transp;

/* Called for every message framed on any socket. The message is borrowed: take a reference
 * (mem_ref) to keep it after returning. Messages with err_reason set are delivered too. */
typedef void(sip_transp_recv_h)(struct sip_msg *msg, void *arg);

struct sip_transp_limits {
	size_t max_conns;	  /* TCP connections at once (both directions); default 1024 */
	uint32_t idle_timeout_ms; /* TCP connection with no traffic is closed; default 5 min */
	uint32_t frame_timeout_ms; /* a partial message must complete within this; default 32 s */
	/* Overload (UDP): datagrams waiting longer than overload_delay_ms before we handle them,
	 * without a break, for overload_hold_ms, the wait grown (every datagram of the last half
	 * of that span later by 3 x overload_delay_ms than the lowest of it, and by at least
	 * 300 ms: heading for T1, when clients retransmit) and a backlog of about 75 datagrams
	 * mean overload; it ends at the first datagram that waited less than a
	 * quarter of overload_delay_ms, i.e. once the queue has drained. Defaults 20 ms and
	 * 100 ms; UINT32_MAX as the delay turns the signal off. */
	uint32_t overload_delay_ms;
	uint32_t overload_hold_ms;
	size_t max_conns_per_addr; /* TCP and TLS connections from one IP address; default 32 */
};

int sip_transp_alloc(struct sip_transp **tpp, struct loop *loop, sip_transp_recv_h *h, void *arg);
void sip_transp_free(struct sip_transp *tp);
/* Sees every SIP message as it goes out (sent) or comes in (framed, parsed or not), with the
 * other side's address: `sip set debug`. Plain text, before TLS encrypts or after it decrypts;
 * keep-alives are not shown. NULL h: none (the default, one test of a pointer per message). */
typedef void(sip_transp_trace_h)(bool sent, enum sip_transport type, const struct sa *peer,
				 const char *data, size_t len, void *arg);
void sip_transp_set_trace(struct sip_transp *tp, sip_transp_trace_h *h, void *arg);
void sip_transp_set_limits(struct sip_transp *tp, const struct sip_transp_limits *limits);
/* Opens a listening socket (UDP or TCP) on laddr (port 0: pick one; read it back with
 * sip_transp_bound). tos: DSCP<<2 byte for IP_TOS / IPV6_TCLASS, 0 for none. */
int sip_transp_listen(struct sip_transp *tp, enum sip_transport type, const struct sa *laddr,
		      int tos);
/* The address of the n-th listening socket of a type; ENOENT past the end. */
int sip_transp_bound(const struct sip_transp *tp, enum sip_transport type, size_t n,
		     struct sa *laddr);

/* Sends bytes. UDP: from the socket bound to `src` (or a wildcard socket of the same family,
 * with `src` as the source address via IP_PKTINFO); src may be NULL. TCP: on `conn` when given
 * and still open, else on an open connection to dst, else a new connection (the data waits in
 * the connection until it is established). Returns 0 or an errno value. */
int sip_transp_send(struct sip_transp *tp, enum sip_transport type, struct sip_conn *conn,
		    const struct sa *src, const struct sa *dst, const void *data, size_t len);
/* UDP datagrams sent while the loop dispatches a turn or runs its ordinary after-turn hooks
 * (loop_in_turn(); the store's commit hook sends the registrar's 200s) are copied and queued;
 * the transport's last after-turn hook sends them all, in order, one sendmmsg() per run of
 * datagrams from the same socket. Then sip_transp_send() and the response senders return 0
 * for a datagram that passed the checks, and an error the kernel gives at the flush is logged
 * (a transaction retransmits or times out as for a lost datagram). Outside a turn (tests,
 * start and stop) a datagram leaves at once, behind whatever is queued.
 * sip_transp_send_now() always does that and returns the kernel's verdict on this datagram:
 * for a new request, whose caller acts on a send error (RFC 3261 §8.1.3.1). */
int sip_transp_send_now(struct sip_transp *tp, enum sip_transport type, struct sip_conn *conn,
			const struct sa *src, const struct sa *dst, const void *data, size_t len);
/* Sends what is queued now (also done by the after-turn hook and by sip_transp_free()). */
void sip_transp_flush(struct sip_transp *tp);

/* What the UDP send queue did, for tests and the benchmarks. */
struct sip_transp_tx_stats {
	uint64_t datagrams; /* UDP datagrams handed to the kernel (sent or failed) */
	uint64_t syscalls;  /* sendmmsg()/sendmsg() calls that carried them */
	uint64_t flushes;   /* flushes that had something to send */
	uint64_t errors;    /* datagrams the kernel refused */
};
void sip_transp_tx_stats(const struct sip_transp *tp, struct sip_transp_tx_stats *st);

/* Sends a response to the request it answers, by RFC 3261 §18.2.2 and RFC 3581: back on the
 * request's connection (reliable), else to received/rport or the Via sent-by; from the
 * address the request arrived on. */
int sip_transp_send_response(struct sip_transp *tp, const struct sip_msg *req,
			     const void *data, size_t len);

/* Where the responses to one request go (RFC 3261 §18.2.2, RFC 3581 §4), taken from the request
 * once, so that a finished transaction can resend its last response without keeping the whole
 * request (docs/TRANSACTIONS.md, Compaction). Addresses are stored without struct sa's
 * sockaddr_storage (28 bytes each instead of 136). */
union sip_sockaddr {
	struct sockaddr sa; /* sa_family AF_UNSPEC: unset */
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* An IPv4/IPv6 struct sa into the short form and back (false, and *sa unset, when unset). */
void sip_sockaddr_set(union sip_sockaddr *out, const struct sa *sa);
bool sip_sockaddr_get(struct sa *sa, const union sip_sockaddr *in);

struct sip_resp_route {
	union sip_sockaddr peer;  /* the request's source address */
	union sip_sockaddr local; /* the local address it arrived on (unset: any) */
	struct sip_conn *conn;	  /* its connection (reliable transports), or NULL */
	int sock;		  /* UDP: the socket it arrived on, or -1 */
	enum sip_transport tp;
	uint16_t port; /* the Via sent-by port, or the transport's default */
	bool to_port;  /* UDP: send to `port` (Via without rport), not the source port */
};

/* Fills *rr from req. The connection is not referenced: a caller that keeps *rr beyond req's
 * lifetime takes a reference itself (sip_conn_ref) and drops it when done. */
void sip_resp_route_set(struct sip_resp_route *rr, const struct sip_msg *req);
/* sip_transp_send_response() for a route taken earlier. */
int sip_transp_send_route(struct sip_transp *tp, const struct sip_resp_route *rr, const void *data,
			  size_t len);

/* The local address the kernel would use toward dst (for Via/Contact on a multi-homed host). */
int sip_transp_local_for(const struct sip_transp *tp, const struct sa *dst, struct sa *local);

/* SIP over TLS (RFC 3261 §26, RFC 5630; src/sip/tls.c): TLS 1.2 and 1.3 only, server side. */
struct sip_tls_opts {
	const char *certfile; /* PEM certificate (chain); NULL: self-signed, in statedir */
	const char *keyfile;  /* PEM private key; NULL: in certfile */
	const char *cafile;   /* CAs for client certificates (loaded, not required) */
	const char *ciphers;  /* OpenSSL cipher list for TLS 1.2; NULL: OpenSSL's default */
	const char *statedir; /* where the self-signed certificate is made and kept */
};
/* Makes the transport's TLS context (before listening on SIP_TP_TLS). With no certfile, a
 * self-signed certificate is created in statedir at the first start and reused after; the
 * certificate's SHA-256 fingerprint is logged. why: the reason of a failure. */
int sip_transp_tls(struct sip_transp *tp, const struct sip_tls_opts *o, char *why, size_t size);
/* Checks that certfile is a PEM certificate and keyfile (NULL: certfile) its private key:
 * ENOENT (no certificate), ENOKEY (no key), EKEYREJECTED (they do not match), why says which. */
int sip_tls_check_files(const char *certfile, const char *keyfile, char *why, size_t size);
/* The self-signed certificate and key in statedir (NULL: "."), made now when missing: what SIP
 * over TLS and the web console's HTTPS use when no certificate is configured. */
int sip_tls_self_signed(const char *statedir, char *cert, size_t csize, char *key, size_t ksize,
			char *why, size_t size);
/* EINVAL when OpenSSL takes no cipher from the list. */
int sip_tls_ciphers_check(const char *ciphers, char *why, size_t size);
/* The certificate's SHA-256 fingerprint, "AB:CD:..." (size >= 96). */
int sip_tls_fingerprint(const char *certfile, char *out, size_t size);

/* Called when a TCP or TLS connection closes (any reason but sip_transp_free), with the peer's
 * address and port: the registrar removes the bindings of that flow (RFC 5626). One handler. */
typedef void(sip_transp_close_h)(enum sip_transport type, const struct sa *peer, void *arg);
void sip_transp_set_close_h(struct sip_transp *tp, sip_transp_close_h *h, void *arg);

struct sip_conn *sip_conn_ref(struct sip_conn *conn);
void sip_conn_deref(struct sip_conn *conn);
size_t sip_transp_conn_count(const struct sip_transp *tp);
/* Overload signal (RFC 6357): true while received datagrams wait too long (and longer and
 * longer) before we handle them, i.e. the loop cannot keep up. The transaction layer then answers
 * new out-of-dialog INVITEs with a stateless 503 + Retry-After while in-dialog traffic and
 * responses are still handled. Measured per UDP socket from the kernel's receive timestamps; TCP
 * traffic is not measured (it shares the loop, so a UDP socket sees the delay it causes). Not
 * overloaded once no datagram came for a second. */
bool sip_transp_overloaded(const struct sip_transp *tp);

/* What the overload signal sees, for the CLI and tests. */
struct sip_transp_load {
	bool overloaded;	/* what sip_transp_overloaded() says now */
	uint32_t delay_us;	/* queueing delay, smoothed (EWMA, 1/16) over every UDP socket's
				 * datagrams: the largest of the sockets' values */
	uint32_t last_us;	/* the delay of the last datagram read (any UDP socket) */
	uint64_t onsets;	/* times overload began */
	uint64_t overload_ms;	/* total time spent overloaded, up to the last datagram */
	uint64_t datagrams;	/* datagrams measured */
};

/* Fills *load; all zero for a transport without UDP sockets. */
void sip_transp_load(const struct sip_transp *tp, struct sip_transp_load *load);

/* ---------------------------------------------------------------------------------------------
 * Transactions (RFC 3261 §17, RFC 6026) on top of a transport.
 */
struct sip_stack;
struct sip_strans; /* server transaction */
struct sip_ctrans; /* client transaction */

struct sip_stack_config {
	uint32_t t1, t2, t4; /* milliseconds; 0 = RFC default */
	const char *allow; /* Allow header value for stateless 501s; NULL: a built-in list */
};

/* A new request that matched no transaction. `st` is the server transaction created for it
 * (NULL for an ACK, which never has one of its own; an ACK to a 2xx arrives here). The handler
 * answers now or later with sip_strans_reply*(); if it neither answers nor keeps `st`... it
 * must answer: the stack does not answer on its behalf. Messages carrying err_reason are not
 * passed here; the stack answers them itself (400/505 or drop). */
typedef void(sip_request_h)(struct sip_stack *stack, struct sip_strans *st,
			    const struct sip_msg *msg, void *arg);

/* A CANCEL matched the INVITE server transaction st (the stack has already answered the CANCEL
 * 200). The TU must answer the INVITE (usually 487). */
typedef void(sip_cancel_h)(struct sip_strans *st, const struct sip_msg *cancel, void *arg);

/* A response for a client transaction (provisional or final), or an error: err = ETIMEDOUT
 * (timer B/F), or a transport error; then resp is NULL. The final call is the last one. */
typedef void(sip_response_h)(int err, const struct sip_msg *resp, void *arg);

int sip_stack_alloc(struct sip_stack **stackp, struct loop *loop,
		    const struct sip_stack_config *cfg, sip_request_h *reqh, void *arg);
/* Frees every transaction (without callbacks) and the transport. Not from inside a callback. */
void sip_stack_free(struct sip_stack *stack);

/* A response that matched no client transaction (typically a 2xx retransmission to an INVITE
 * after timer M, or a 2xx fork that came too late): the dialog layer answers it with an ACK
 * (and BYE). Without a handler such responses are dropped. */
typedef void(sip_stray_response_h)(struct sip_stack *stack, const struct sip_msg *resp, void *arg);
void sip_stack_set_stray_response_handler(struct sip_stack *stack, sip_stray_response_h *h,
					  void *arg);
struct sip_transp *sip_stack_transp(struct sip_stack *stack);
struct loop *sip_stack_loop(struct sip_stack *stack);
/* Messages with errors are logged and answered here; count of received messages, for tests. */
size_t sip_stack_strans_count(const struct sip_stack *stack);
size_t sip_stack_ctrans_count(const struct sip_stack *stack);
/* New INVITEs answered 503 without a transaction because the transport was overloaded. */
uint64_t sip_stack_shed_count(const struct sip_stack *stack);

/* Answers a server transaction with a response built by sip_build_response(). Final responses
 * end the TU's part (the transaction keeps absorbing retransmissions until its timers end);
 * the TU must not use st after sending a final response. */
int sip_strans_reply(struct sip_strans *st, uint16_t code, const char *reason, const char *extra,
		     const char *ctype, const struct pl *body);
/* Answers a non-INVITE request and ends the transaction at once instead of keeping it for
 * timer J: a retransmission of the request reaches the TU again and is answered again. For
 * answers that are the same every time (OPTIONS, errors), so that a flood of them costs no
 * memory (Kamailio's sl_send_reply does the same). An INVITE gets sip_strans_reply(): its
 * non-2xx answer needs the transaction to absorb the ACK. */
int sip_strans_reply_stateless(struct sip_strans *st, uint16_t code, const char *reason,
			       const char *extra, const char *ctype, const struct pl *body);
/* Same with a response the caller built itself (the bytes are copied). */
int sip_strans_reply_raw(struct sip_strans *st, uint16_t code, const struct mbuf *resp);
/* The request; NULL once the transaction has sent its final response and been compacted (the
 * loop turn after the final response, see docs/TRANSACTIONS.md): take a reference to keep it. */
const struct sip_msg *sip_strans_msg(const struct sip_strans *st);
/* The To tag this transaction puts in its responses (stable across retransmissions). */
const char *sip_strans_totag(const struct sip_strans *st);
void sip_strans_set_cancel_handler(struct sip_strans *st, sip_cancel_h *h, void *arg);

/* Starts a client transaction for the request in `req` (bytes copied; the top Via's branch must
 * be unique). The transaction retransmits over UDP (timers A/E), times out (B/F), sends the ACK
 * of non-2xx final responses itself (INVITE), and calls h for every response. *ctp may be
 * NULL when the caller never cancels it. */
int sip_ctrans_request(struct sip_ctrans **ctp, struct sip_stack *stack, enum sip_transport type,
		       const struct sa *dst, const struct mbuf *req, sip_response_h *h, void *arg);
/* Same, sent (with its retransmissions, ACK and CANCEL) from the local address src, so that on a
 * multi-homed host a request toward the line leaves from the line-side address even when the
 * sockets are bound to specific addresses (src may be NULL or a wildcard: the kernel's choice). */
int sip_ctrans_request_from(struct sip_ctrans **ctp, struct sip_stack *stack,
			    enum sip_transport type, const struct sa *src, const struct sa *dst,
			    const struct mbuf *req, sip_response_h *h, void *arg);
/* Same for a request built by sip_build_request from spec (the same spec, unchanged): the key
 * comes from spec, so the request is not parsed again on the way out (only if a CANCEL, the ACK
 * of a non-2xx or a log line needs its fields). */
int sip_ctrans_request_spec(struct sip_ctrans **ctp, struct sip_stack *stack,
			    enum sip_transport type, const struct sa *src, const struct sa *dst,
			    const struct mbuf *req, const struct sip_request_spec *spec,
			    sip_response_h *h, void *arg);
/* Sends CANCEL for an INVITE client transaction (after a provisional response, or as soon as
 * one arrives, RFC 3261 §9.1). */
int sip_ctrans_cancel(struct sip_ctrans *ct, const char *reason_hdr);
/* The TU loses interest: no more callbacks; the transaction finishes on its own. */
void sip_ctrans_abandon(struct sip_ctrans *ct);

#endif /* MIKAKA_SIP_H */
