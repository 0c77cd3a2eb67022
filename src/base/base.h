/* base: small building blocks every module uses: pointer-length strings, growable buffers,
 * socket addresses, refcounted memory, intrusive lists and logging. */
#ifndef MIKAKA_BASE_H
#define MIKAKA_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---------------------------------------------------------------------------------------------
 * Pointer-length strings. A `struct pl` never owns its bytes: it points into a buffer that
 * somebody else keeps alive (a received message, a config file). Not NUL-terminated.
 */
struct pl {
	const char *p;
	size_t l;
};

#define PL(s) ((struct pl){(s), sizeof(s) - 1})
#define PL_INIT {NULL, 0}
/* For printf("%.*s", PL_ARG(x)). */
#define PL_ARG(x) (int)(x).l, (x).p

static inline struct pl pl_from(const char *p, size_t l) { return (struct pl){p, l}; }
static inline bool pl_isset(const struct pl *pl) { return pl && pl->p != NULL; }
/* Exact byte comparison; 0 when equal. */
int pl_cmp(const struct pl *a, const struct pl *b);
/* ASCII case-insensitive comparison; 0 when equal. */
int pl_casecmp(const struct pl *a, const struct pl *b);
/* Inline, so that strlen of a literal folds and a length that differs costs no call: SDP and
 * header names are compared against a hundred literals per call. s NULL is the empty string. */
static inline struct pl pl_from_str(const char *s)
{
	return (struct pl){s, s ? strlen(s) : 0};
}

static inline bool pl_eq_str(const struct pl *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return a->l == n && (n == 0 || memcmp(a->p, s, n) == 0);
}

static inline bool pl_caseeq_str(const struct pl *a, const char *s)
{
	struct pl b = pl_from_str(s);

	return a->l == b.l && pl_casecmp(a, &b) == 0;
}
/* Strict unsigned decimal: digits only (leading zeros allowed), ERANGE above max, EINVAL otherwise. */
int pl_u32(const struct pl *pl, uint32_t *out);
int pl_u64(const struct pl *pl, uint64_t *out);
/* Removes leading and trailing SP, HTAB, CR and LF. */
void pl_trim(struct pl *pl);
/* Finds a byte; NULL when absent. */
const char *pl_chr(const struct pl *pl, char c);
/* Copies into dst (size bytes including the NUL); ENOSPC when it does not fit. */
int pl_strcpy(const struct pl *pl, char *dst, size_t size);
/* snprintf(dst, size, "%s", src) without printf's cost (call set-up copies a dozen strings):
 * truncates, always terminates when size > 0; NULL copies "(null)" as glibc's %s does. */
void str_copy(char *dst, size_t size, const char *src);
/* Printf-free formatting for hot paths (call set-up builds a dozen strings a call):
 * str_cat joins the NULL-terminated list of strings after size into dst, truncating and always
 * terminating (size > 0), as snprintf("%s%s...") would, and returns the untruncated length;
 * str_dupcat returns a malloc'ed join of first and the NULL-terminated rest (NULL on ENOMEM).
 * str_u64 and str_x64 (lower-case hex, zero-padded to width digits) write into buf, of at least
 * STR_U64_LEN bytes, and return where the digits start. */
#define STR_U64_LEN 21
size_t str_catv(char *dst, size_t size, va_list ap);
size_t str_cat(char *dst, size_t size, ...) __attribute__((sentinel));
char *str_dupcat(const char *first, ...) __attribute__((sentinel));
const char *str_u64(char *buf, uint64_t v);
/* The decimal digits of v written backwards so they end just before end; returns where they
 * start (at most 20 bytes before end). */
char *str_u64_end(char *end, uint64_t v);
const char *str_x64(char *buf, uint64_t v, unsigned width);
/* Returns a malloc'ed NUL-terminated copy (caller frees with free()), NULL on ENOMEM. */
char *pl_strdup(const struct pl *pl);

/* ---------------------------------------------------------------------------------------------
 * Growable byte buffer for building outgoing messages. `end` is the number of bytes written.
 */
struct mbuf {
	uint8_t *buf;
	size_t size;
	size_t end;
};

void mbuf_init(struct mbuf *mb);
/* Frees the storage and resets the buffer to empty. */
void mbuf_reset(struct mbuf *mb);
/* Makes room for extra more bytes (the slow path of mbuf_reserve and mbuf_write). */
int mbuf_grow(struct mbuf *mb, size_t extra);

/* The writes are inline: messages are built from dozens of short pieces, and a call per piece
 * (plus strlen on a literal, which the compiler folds once inlined) was a tenth of the work of
 * building one. mb->end <= mb->size always holds. */
static inline int mbuf_reserve(struct mbuf *mb, size_t extra)
{
	return extra <= mb->size - mb->end ? 0 : mbuf_grow(mb, extra);
}

static inline int mbuf_write(struct mbuf *mb, const void *p, size_t n)
{
	if (n > mb->size - mb->end) {
		int err = mbuf_grow(mb, n);

		if (err)
			return err;
	}
	if (n)
		memcpy(mb->buf + mb->end, p, n);
	mb->end += n;
	return 0;
}

static inline int mbuf_write_str(struct mbuf *mb, const char *s)
{
	return mbuf_write(mb, s, strlen(s));
}

static inline int mbuf_write_pl(struct mbuf *mb, const struct pl *pl)
{
	return mbuf_write(mb, pl->p, pl->l);
}
/* Decimal digits of v, without printf. */
int mbuf_write_u64(struct mbuf *mb, uint64_t v);
int mbuf_printf(struct mbuf *mb, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* n bytes of s as a JSON string, quotes included: ", \ and control characters escaped, a byte
 * that is not part of valid UTF-8 written as U+FFFD. */
int mbuf_write_json(struct mbuf *mb, const char *s, size_t n);
int mbuf_vprintf(struct mbuf *mb, const char *fmt, va_list ap);

/* A Prometheus histogram (histo.c): bucket[i] counts observations in (bounds[i-1], bounds[i]],
 * bucket[n] those above the last bound; written cumulative with _sum and _count. */
#define HISTO_MAX 15
struct histo {
	uint64_t bucket[HISTO_MAX + 1];
	uint64_t count;
	double sum;
};
void histo_observe(struct histo *h, const double *bounds, size_t n, double v);
/* "# HELP name help", "# TYPE name histogram", the buckets, _sum, _count (h NULL: zeros). */
int histo_write(struct mbuf *out, const char *name, const char *help, const struct histo *h,
		const double *bounds, size_t n);

/* ---------------------------------------------------------------------------------------------
 * Socket addresses (IPv4 and IPv6).
 */
/* IPv4 and IPv6 only: no sockaddr_storage (128 bytes) in the union, so an address is 32 bytes,
 * not 136 (a call in progress holds about twenty: its legs, relay legs, SDP results). */
struct sa {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

/* Parses a literal IPv4 or IPv6 address (brackets allowed around IPv6) and sets the port. */
int sa_set_str(struct sa *sa, const char *addr, uint16_t port);
int sa_set_pl(struct sa *sa, const struct pl *addr, uint16_t port);
/* Parses "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT"; default_port when none is given. */
int sa_decode(struct sa *sa, const char *str, uint16_t default_port);
int sa_af(const struct sa *sa);
uint16_t sa_port(const struct sa *sa);
void sa_set_port(struct sa *sa, uint16_t port);
bool sa_isset(const struct sa *sa);
bool sa_is_any(const struct sa *sa);
/* Address and port equal. */
bool sa_eq(const struct sa *a, const struct sa *b);
/* Address only. */
bool sa_eq_addr(const struct sa *a, const struct sa *b);
/* An address block, IPv4 or IPv6: sip.conf's permit=, deny= and localnet=. An IPv4 block also
 * holds the IPv4-mapped IPv6 addresses (::ffff:a.b.c.d); an IPv6 block no IPv4 address. */
struct sa_net {
	uint8_t af; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t mask[16];
};
/* ADDR, ADDR/PREFIX or ADDR/MASK ([V6] brackets allowed). Host bits outside the mask are
 * dropped; *hostbits says whether there were any. EINVAL when it is none of these. */
int sa_net_parse(struct sa_net *n, const char *text, bool *hostbits);
bool sa_net_match(const struct sa_net *n, const struct sa *addr);
/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool sa_is_loopback(const struct sa *sa);
/* "1.2.3.4" or "2001:db8::1" (no brackets) into buf; returns buf. */
const char *sa_ntop(const struct sa *sa, char *buf, size_t size);
/* "1.2.3.4:5060" or "[2001:db8::1]:5060" into buf; returns buf. */
const char *sa_fmt(const struct sa *sa, char *buf, size_t size);
#define SA_STRLEN 64

/* ---------------------------------------------------------------------------------------------
 * Refcounted memory. mem_zalloc() returns zeroed memory with one reference; mem_deref() drops a
 * reference and, on the last one, runs the destructor and frees. Used for objects that more
 * than one owner can find (a message held by a transaction and a connection, for example).
 */
typedef void(mem_destroy_h)(void *data);

/* Zeroed memory released with free(), as calloc(1, n) but through malloc: glibc 2.36's calloc
 * never uses the per-thread cache (each goes to the arena, under its lock), while the blocks
 * freed go into that cache for malloc to reuse. A call's dozen small zeroed structures
 * (transactions, legs, channels) each paid that slow path. */
static inline void *mem_zmalloc(size_t n)
{
	void *p = malloc(n);

	/* GCC turns malloc + memset back into calloc; the empty asm hides where p came from. */
	__asm__("" : "+r"(p));
	if (p)
		memset(p, 0, n);
	return p;
}

void *mem_zalloc(size_t size, mem_destroy_h *dh);
/* The same without zeroing: for blocks the caller fills entirely (a parsed message's copy). */
void *mem_alloc(size_t size, mem_destroy_h *dh);
void *mem_ref(void *data);
/* Always returns NULL, so `p = mem_deref(p);` clears the caller's pointer. NULL is accepted. */
void *mem_deref(void *data);
uint32_t mem_nrefs(const void *data);
/* Keeps freed blocks of 1-4 KiB for reuse, on the calling thread only (the daemon's loop thread;
 * every SIP message is such a block); false frees what is kept and stops. Blocks may still be
 * freed on any thread. */
void mem_cache_enable(bool on);

/* ---------------------------------------------------------------------------------------------
 * Intrusive doubly linked list: embed `struct le` in the object, so linking never allocates.
 */
struct le {
	struct le *prev;
	struct le *next;
	struct list *list;
	void *data;
	uint32_t key; /* the hash key, when the element lives in a struct htab */
};

struct list {
	struct le *head;
	struct le *tail;
	size_t count;
};

#define LIST_INIT {NULL, NULL, 0}
void list_init(struct list *list);
void list_append(struct list *list, struct le *le, void *data);
void list_prepend(struct list *list, struct le *le, void *data);
/* Safe on an element that is not linked. */
void list_unlink(struct le *le);
static inline size_t list_count(const struct list *list) { return list ? list->count : 0; }
#define LIST_FOREACH(list, le) for (struct le *le = (list)->head; le; le = le->next)

/* ---------------------------------------------------------------------------------------------
 * Hashing, and a chained hash table that doubles its buckets as it fills, so lookups stay short
 * whether it holds ten entries or a million (transactions, dialogs, registrations).
 */
uint32_t hash_bytes(const void *p, size_t n);
uint32_t hash_pl_case(const struct pl *pl);

struct htab {
	struct list *buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

/* nbuckets is rounded up to a power of two. */
int htab_init(struct htab *h, size_t nbuckets);
/* Frees the bucket array; the elements must have been unlinked (or are simply forgotten). */
void htab_reset(struct htab *h);
/* The chain to search for key. */
static inline struct list *htab_bucket(const struct htab *h, uint32_t key)
{
	return &h->buckets[key & (h->nbuckets - 1)];
}
/* Links le (for data) under key; grows the table when chains get long (if that allocation
 * fails the table keeps working, only slower). */
void htab_add(struct htab *h, struct le *le, uint32_t key, void *data);
/* Unlinks an element added with htab_add; safe on one that is not linked. */
void htab_unlink(struct htab *h, struct le *le);

/* ---------------------------------------------------------------------------------------------
 * Logging to stderr: "LEVEL module: message". The level is global; tests may raise it.
 */
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR, LOG_NONE };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *module, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* "<3>"... when stderr is the systemd journal ($JOURNAL_STREAM), else "": for lines written to
 * stderr without log_msg (configuration diagnostics). */
const char *log_journal_prefix(enum log_level level);
#define log_debug(...) log_msg(LOG_DEBUG, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, LOG_MODULE, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, LOG_MODULE, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, LOG_MODULE, __VA_ARGS__)

/* ---------------------------------------------------------------------------------------------
 * Randomness from the kernel's CSPRNG (getrandom), drawn in blocks, for tags, branches,
 * Call-IDs and nonces.
 */
int rand_bytes(void *buf, size_t n);
/* Writes n random characters from [0-9a-z] plus a NUL; buf must hold n + 1 bytes. */
void rand_token(char *buf, size_t n);

#endif /* MIKAKA_BASE_H */
