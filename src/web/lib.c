/* web/lib.c: libwebsockets and libuv resolved at run time (web_lib.h says why). The sonames are
 * Debian 12's: libwebsockets17 and libuv1. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

#include <libwebsockets.h>
#include <uv.h>

#define WEB_LIB_IMPL
#include "web_lib.h"

struct web_lib web_lib;

int web_lib_load(char *why, size_t size)
{
	static void *uv, *lws;

	if (lws)
		return 0;
	/* libuv global: libwebsockets' own libuv plugin (libwebsockets-evlib_uv.so) uses it */
	uv = uv ? uv : dlopen("libuv.so.1", RTLD_NOW | RTLD_GLOBAL);
	lws = uv ? dlopen("libwebsockets.so.17", RTLD_NOW | RTLD_LOCAL) : NULL;
	if (!lws) {
		snprintf(why, size, "%s (packages libwebsockets17 and libuv1)", dlerror());
		return ENOENT;
	}
#define X(f)                                                                                       \
	*(void **)&web_lib.f = dlsym(strncmp(#f, "uv_", 3) ? lws : uv, #f);                        \
	if (!web_lib.f) {                                                                          \
		snprintf(why, size, "symbol %s missing", #f);                                      \
		dlclose(lws);                                                                      \
		lws = NULL;                                                                        \
		return ENOENT;                                                                     \
	}
	WEB_LIB_FUNCS
#undef X
	return 0;
}
