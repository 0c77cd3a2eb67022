/* tls_lib: libssl and libcrypto resolved at run time (tls_lib.h says why). The sonames are
 * Debian 12's OpenSSL 3 (package libssl3). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SIP_TLS_LIB_IMPL
#include "tls_lib.h"

struct sip_tls_lib sip_tls_lib;

static bool loaded;

bool sip_tls_lib_loaded(void)
{
	return loaded;
}

int sip_tls_lib_load(char *why, size_t size)
{
	static void *crypto, *ssl;
	struct sip_tls_lib t;

	if (loaded)
		return 0;
	/* Kept open for the life of the process once found: OpenSSL has global state (its
	 * error queues, providers) that a dlclose would leave dangling. */
	crypto = crypto ? crypto : dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	ssl = ssl ? ssl : (crypto ? dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL) : NULL);
	if (!ssl) {
		snprintf(why, size, "TLS needs OpenSSL 3: %s (package libssl3)", dlerror());
		return ENOENT;
	}
#define X(f)                                                                                       \
	*(void **)&t.f = dlsym(LIB, #f);                                                           \
	if (!t.f) {                                                                                \
		snprintf(why, size, "TLS needs OpenSSL 3: symbol %s missing", #f);                 \
		return ENOENT;                                                                     \
	}
#define LIB ssl
	TLS_LIB_SSL_FUNCS
#undef LIB
#define LIB crypto
	TLS_LIB_CRYPTO_FUNCS
#undef LIB
#undef X
	sip_tls_lib = t;
	loaded = true;
	return 0;
}
