/* sipparsedump: test tool that prints, field by field, what the SIP parser makes of each file given
 * and of many variants of it (cut at many lengths, random byte edits), on datagram and stream
 * framing: run the same command with two builds of the parser and diff the outputs. Default output
 * is one hash line per case; -v prints every field instead (to see what differs). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sip.h"

static bool verbose;
static uint64_t hash;
static FILE *out;

/* FNV-1a over everything printed for one case (or the text itself with -v). */
static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (verbose)
		fwrite(buf, 1, (size_t)n, out);
	for (int i = 0; i < n; i++) {
		hash ^= (unsigned char)buf[i];
		hash *= 0x100000001b3ULL;
	}
}

static const char *base;

static void pl_emit(const char *what, const struct pl *pl)
{
	if (!pl->p)
		emit(" %s=-", what);
	else if (pl->p >= base && pl->p <= base + 70000)
		emit(" %s=%zd+%zu", what, pl->p - base, pl->l);
	else
		emit(" %s=?%zu", what, pl->l); /* points elsewhere (a constant) */
}

static void uri_emit(const char *what, const struct sip_uri *u)
{
	emit(" %s{", what);
	pl_emit("raw", &u->raw);
	emit(" sch=%d", u->scheme);
	pl_emit("sn", &u->scheme_name);
	pl_emit("user", &u->user);
	pl_emit("pw", &u->password);
	pl_emit("host", &u->host);
	emit(" v6=%d port=%u", u->host_ipv6, u->port);
	pl_emit("params", &u->params);
	pl_emit("hdrs", &u->headers);
	pl_emit("opaque", &u->opaque);
	emit("}");
}

static void addr_emit(const char *what, const struct sip_addr *a)
{
	emit(" %s{", what);
	pl_emit("dname", &a->dname);
	pl_emit("auri", &a->auri);
	uri_emit("uri", &a->uri);
	pl_emit("params", &a->params);
	pl_emit("tag", &a->tag);
	emit(" wild=%d}", a->wildcard);
}

static void via_emit(const struct sip_via *v)
{
	emit(" via{");
	pl_emit("raw", &v->raw);
	pl_emit("ver", &v->version);
	pl_emit("tpn", &v->transport);
	emit(" tp=%d", v->tp);
	pl_emit("host", &v->host);
	emit(" v6=%d port=%u", v->host_ipv6, v->port);
	pl_emit("params", &v->params);
	pl_emit("branch", &v->branch);
	pl_emit("recv", &v->received);
	pl_emit("maddr", &v->maddr);
	emit(" rport=%d/%u}", v->rport, v->rport_value);
}

/* What the stack reads of a message, and the public decoders over every list element of the
 * headers that hold addresses or Vias (their non-parser entry points). */
static void msg_emit(const struct sip_msg *m)
{
	base = m->raw.p;
	emit(" err=%d reason=%s req=%d", m->err, m->err_reason ? m->err_reason : "-",
	     m->is_request);
	pl_emit("raw", &m->raw);
	pl_emit("method", &m->method);
	emit(" mid=%d", m->mid);
	pl_emit("ruri", &m->ruri);
	uri_emit("uri", &m->uri);
	emit(" uri_ok=%d", m->uri_ok);
	pl_emit("ver", &m->version);
	emit(" scode=%u", m->scode);
	pl_emit("rsn", &m->reason);
	emit(" nhdrs=%zu\n", m->nhdrs);
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		struct pl rest, v;

		emit(" h%zu id=%d", i, h->id);
		pl_emit("n", &h->name);
		pl_emit("v", &h->value);
		emit("\n");
		switch (h->id) {
		case SIP_HDR_VIA:
		case SIP_HDR_FROM:
		case SIP_HDR_TO:
		case SIP_HDR_CONTACT:
		case SIP_HDR_ROUTE:
		case SIP_HDR_RECORD_ROUTE:
			break;
		default:
			continue;
		}
		rest = h->value;
		if (h->id == SIP_HDR_FROM || h->id == SIP_HDR_TO) {
			struct sip_addr a;
			int err = sip_addr_decode(&a, &rest);

			emit("  a%d", err);
			addr_emit("", &a);
			emit("\n");
			continue;
		}
		/* Each list element as the iterator splits it (sip_list_next). */
		{
			struct sip_hdr_iter it = {0};
			struct sip_msg one = *m;
			struct sip_hdr hh = *h;

			one.hdrs = &hh;
			one.nhdrs = 1;
			sip_hdr_iter_init(&it, &one, h->id, NULL);
			while (sip_hdr_iter_next(&it, &v)) {
				if (h->id == SIP_HDR_VIA) {
					struct sip_via via;
					int err = sip_via_decode(&via, &v);

					pl_emit("  e", &v);
					emit(" v%d", err);
					via_emit(&via);
				} else {
					struct sip_addr a;
					int err = sip_addr_decode(&a, &v);

					pl_emit("  e", &v);
					emit(" a%d", err);
					addr_emit("", &a);
				}
				emit("\n");
			}
		}
	}
	emit(" via_ok=%d", m->via_ok);
	via_emit(&m->via);
	emit("\n from_ok=%d", m->from_ok);
	addr_emit("from", &m->from);
	emit("\n to_ok=%d", m->to_ok);
	addr_emit("to", &m->to);
	emit("\n");
	pl_emit("callid", &m->call_id);
	emit(" cseq_ok=%d num=%u mid=%d", m->cseq_ok, m->cseq.num, m->cseq.mid);
	pl_emit("cm", &m->cseq.method);
	emit(" maxf=%d has_clen=%d clen=%u", m->max_forwards, m->has_clen, m->clen);
	pl_emit("body", &m->body);
	emit(" sock=%d tp=%d\n", m->sock, m->tp);
}

static unsigned long ncases;

static void one_case(const char *name, const char *tag, const char *d, size_t len)
{
	for (int dg = 0; dg <= 1; dg++) {
		struct sip_msg *m = NULL;
		struct sip_parse_error pe = {0};
		size_t used = 12345;
		int rc = sip_msg_parse(&m, d, len, dg, &used, &pe);

		hash = 0xcbf29ce484222325ULL;
		if (verbose)
			fprintf(out, "== %s %s dg=%d len=%zu\n", name, tag, dg, len);
		emit("rc=%d perr=%s more=%d", rc, pe.reason ? pe.reason : "-", pe.need_more);
		if (rc == 0) {
			emit(" used=%zu", used);
			msg_emit(m);
		}
		emit("\n");
		mem_deref(m);
		if (!verbose)
			fprintf(out, "%s %s %d %016llx\n", name, tag, dg, (unsigned long long)hash);
		ncases++;
	}
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char edit_bytes[] = "\r\n \t:\0\"<>[];,=@\\";
static const char *case_words[] = {
    "branch",  "rport",		 "tag",	     "sip:",	  "SIP/2.0", "Via",
    "Contact", "Content-Length", "received", "transport", "maddr"};

static void file_cases(const char *name, const char *d, size_t len, unsigned cut_step,
		       unsigned edits)
{
	char tag[64];
	char *buf = malloc(len + 64);

	if (!buf)
		return;
	one_case(name, "whole", d, len);
	for (size_t c = 0; c < len; c += cut_step) {
		snprintf(tag, sizeof(tag), "cut%zu", c);
		one_case(name, tag, d, c);
	}
	rng = 0x9e3779b97f4a7c15ULL ^ len;
	for (const char *p = name; *p; p++)
		rng = rng * 31 + (unsigned char)*p;
	if (!rng)
		rng = 1;
	for (unsigned e = 0; e < edits && len; e++) {
		size_t n = len, k = 1 + rnd() % 3;

		memcpy(buf, d, len);
		for (size_t j = 0; j < k; j++) {
			/* Mostly in the header section, where the parser works. */
			size_t pos = rnd() % (n < 600 ? n : (rnd() & 1 ? 600 : n));
			unsigned op = rnd() % 8;

			if (op < 4) {
				buf[pos] = edit_bytes[rnd() % (sizeof(edit_bytes) - 1)];
			} else if (op == 4 && n + 1 < len + 64) {
				memmove(buf + pos + 1, buf + pos, n - pos);
				buf[pos] = edit_bytes[rnd() % (sizeof(edit_bytes) - 1)];
				n++;
			} else if (op == 5 && n > 1) {
				memmove(buf + pos, buf + pos + 1, n - pos - 1);
				n--;
			} else if (op == 6) {
				buf[pos] ^= 0x20; /* case change (or SP/NUL swaps) */
			} else {
				/* A word's case flipped wherever it occurs first after pos. */
				const char *w = case_words[rnd() % (sizeof(case_words) /
								    sizeof(case_words[0]))];
				size_t wl = strlen(w);

				for (size_t i = pos; i + wl <= n; i++) {
					if (strncasecmp(buf + i, w, wl) == 0) {
						for (size_t x = 0; x < wl; x++) {
							if ((buf[i + x] | 0x20) >= 'a' &&
							    (buf[i + x] | 0x20) <= 'z' &&
							    (rnd() & 1))
								buf[i + x] ^= 0x20;
						}
						break;
					}
				}
			}
		}
		snprintf(tag, sizeof(tag), "edit%u", e);
		one_case(name, tag, buf, n);
	}
	free(buf);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	unsigned cut_step = 37, edits = 300;
	int i = 1;

	out = stdout;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			cut_step = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-e") && i + 1 < argc)
			edits = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			break;
	}
	if (i >= argc || !cut_step) {
		fprintf(stderr,
			"usage: sipparsedump [-v] [-c CUTSTEP] [-e EDITS] FILE...\n"
			"  prints a hash of every parsed field per case (-v: the fields)\n");
		return 2;
	}
	for (; i < argc; i++) {
		size_t len;
		char *d = slurp(argv[i], &len);

		if (!d) {
			fprintf(stderr, "sipparsedump: cannot read %s\n", argv[i]);
			return 1;
		}
		file_cases(argv[i], d, len, cut_step, edits);
		free(d);
	}
	fprintf(stderr, "sipparsedump: %lu cases\n", ncases);
	return 0;
}
