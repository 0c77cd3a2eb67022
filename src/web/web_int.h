/* web_int: what the web module's files share. */
#ifndef MIKAKA_WEB_INT_H
#define MIKAKA_WEB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

#define WEB_USER_MAX 32	 /* longest user name */
#define WEB_HASH_MAX 160 /* longest password hash kept */

bool web_user_name_ok(const char *name);
/* Copies name's password hash into hash; ENOENT when there is no such user. */
int web_user_hash(struct store *st, const char *name, char *hash, size_t size);
#define WEB_KV_TOKEN	     "web.token"	 /* SHA-256 of the API's bearer token */
#define WEB_KV_METRICS_TOKEN "web.metrics_token" /* SHA-256 of /metrics' token */

/* Whether token is the one whose SHA-256 the store keeps under key. */
bool web_token_check(struct store *st, const char *key, const char *token);
void web_sha256_hex(const char *s, char out[65]);
/* 2 * nbytes hex digits of kernel randomness (nbytes at most 64) plus a NUL. */
void web_random_hex(char *out, size_t nbytes);

/* Text a user gave for a name or a note: valid UTF-8 (shortest forms, no surrogates, at most
 * U+10FFFF) without control characters (web.c). */
bool web_text_ok(const char *s);

/* A Range header's value: bytes=A-B, bytes=A- or bytes=-N (one range; RFC 9110 §14) over a file
 * of size bytes. 1: the range, clipped to the file, in start/len; 0: no usable Range (the whole
 * file is sent, as the RFC allows for several ranges, other units or a malformed value); -1: not
 * satisfiable (416). */
int web_range_parse(const char *v, uint64_t size, uint64_t *start, uint64_t *len);

/* The files served from the binary (pages.c). */
struct web_file {
	const char *path; /* "/", "/login", "/app.js", "/app.css" */
	bool ja;	  /* the Japanese version (pages have one; the script and style do not) */
	const char *type;
	const char *body;
};
/* The file at path, in Japanese when ja and there is such a version; NULL when none. */
const struct web_file *web_file_find(const char *path, bool ja);

/* `mikakad -t` run as a child for the configuration page (check.c). h gets the exit status (-1:
 * killed or lost) and the output (stdout and stderr, at most 64 KiB); it may free the check. */
struct loop;
struct mbuf;
struct web_check;
typedef void(web_check_h)(int status, struct mbuf *out, void *arg);
int web_check_start(struct web_check **cp, struct loop *loop, char *const argv[], web_check_h *h,
		    void *arg);
bool web_check_running(const struct web_check *c);
void web_check_free(struct web_check *c);

#endif /* MIKAKA_WEB_INT_H */
