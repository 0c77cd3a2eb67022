/* web_lib: libwebsockets and libuv, loaded with dlopen only when mikaka.conf has [web], so a
 * daemon without the console does not map them (nor the OpenSSL libraries libwebsockets links:
 * +2.3 MiB resident at start, measured). Include after <libwebsockets.h> and <uv.h>: every call
 * below goes through the table. */
#ifndef MIKAKA_WEB_LIB_H
#define MIKAKA_WEB_LIB_H

#include <stddef.h>

#define WEB_LIB_FUNCS                                                                              \
	X(lws_create_context)                                                                      \
	X(lws_context_destroy)                                                                     \
	X(lws_set_log_level)                                                                       \
	X(lws_callback_http_dummy)                                                                 \
	X(lws_context_user)                                                                        \
	X(lws_get_context)                                                                         \
	X(lws_hdr_total_length)                                                                    \
	X(lws_hdr_copy)                                                                            \
	X(lws_hdr_custom_copy)                                                                     \
	X(lws_get_peer_simple)                                                                     \
	X(lws_add_http_common_headers)                                                             \
	X(lws_add_http_header_by_name)                                                             \
	X(lws_finalize_write_http_header)                                                          \
	X(lws_callback_on_writable)                                                                \
	X(lws_write)                                                                               \
	X(lws_http_transaction_completed)                                                          \
	X(lws_get_urlarg_by_name)                                                                  \
	X(lws_set_timeout)                                                                         \
	X(lws_http_headers_detach)                                                                 \
	X(lws_get_socket_fd)                                                                       \
	X(uv_loop_init)                                                                            \
	X(uv_loop_close)                                                                           \
	X(uv_run)                                                                                  \
	X(uv_backend_fd)                                                                           \
	X(uv_backend_timeout)

struct web_lib {
#define X(f) __typeof__(f) *f;
	WEB_LIB_FUNCS
#undef X
};

extern struct web_lib web_lib;

/* Loads both libraries once; 0, or ENOENT with a reason in why. */
int web_lib_load(char *why, size_t size);

#ifndef WEB_LIB_IMPL
#define lws_create_context	       web_lib.lws_create_context
#define lws_context_destroy	       web_lib.lws_context_destroy
#define lws_set_log_level	       web_lib.lws_set_log_level
#define lws_callback_http_dummy	       web_lib.lws_callback_http_dummy
#define lws_context_user	       web_lib.lws_context_user
#define lws_get_context		       web_lib.lws_get_context
#define lws_hdr_total_length	       web_lib.lws_hdr_total_length
#define lws_hdr_copy		       web_lib.lws_hdr_copy
#define lws_hdr_custom_copy	       web_lib.lws_hdr_custom_copy
#define lws_get_peer_simple	       web_lib.lws_get_peer_simple
#define lws_add_http_common_headers    web_lib.lws_add_http_common_headers
#define lws_add_http_header_by_name    web_lib.lws_add_http_header_by_name
#define lws_finalize_write_http_header web_lib.lws_finalize_write_http_header
#define lws_callback_on_writable       web_lib.lws_callback_on_writable
#define lws_write		       web_lib.lws_write
#define lws_http_transaction_completed web_lib.lws_http_transaction_completed
#define lws_get_urlarg_by_name	       web_lib.lws_get_urlarg_by_name
#define lws_set_timeout		       web_lib.lws_set_timeout
#define lws_http_headers_detach	       web_lib.lws_http_headers_detach
#define lws_get_socket_fd	       web_lib.lws_get_socket_fd
#define uv_loop_init		       web_lib.uv_loop_init
#define uv_loop_close		       web_lib.uv_loop_close
#define uv_run			       web_lib.uv_run
#define uv_backend_fd		       web_lib.uv_backend_fd
#define uv_backend_timeout	       web_lib.uv_backend_timeout
#endif

#endif /* MIKAKA_WEB_LIB_H */
