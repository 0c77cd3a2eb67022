# mikaka build: `make` builds build/mikakad and build/mikaka; `make check` runs every test;
# `make run` starts the daemon on the sample configuration; `make bench`, `make fuzz`.
CC      ?= cc
PKGS    := sqlite3 libmnl nettle spandsp libwebsockets libuv libcrypt openssl libcurl
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
INCS    := $(patsubst %,-I%,$(wildcard src/*))
# Recursive (=) and silenced: evaluated only when something is compiled, so `make run` and
# `make check` on a fresh machine install the packages (scripts/deps.sh) before pkg-config is asked.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# spandsp, SQLite and nettle are linked statically (their -dev packages ship the archives): only
# the objects we use come in, instead of spandsp's chain of libtiff, libjpeg, libstdc++ ... that
# the shared library drags into every start (measured: 19 shared objects and +2 MiB resident).
STATIC_LIBS := -l:libspandsp.a -l:libsqlite3.a -l:libnettle.a
# OpenSSL (SIP over TLS) is dlopened once TLS is configured (src/sip/tls_lib.h), like the web
# console's libwebsockets and libuv (src/web/web_lib.h): a daemon without them does not map them.
PKG_LIBS   = $(STATIC_LIBS) $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl) -lm -ldl \
	-lcrypt # libcurl is dlopened too, when [notify] exists (src/notify/send.c)
# The unit tests' own TLS clients call OpenSSL directly.
TEST_LIBS  = $(shell pkg-config --libs cmocka openssl 2>/dev/null || echo -lcmocka -lssl -lcrypto)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS_BASE = $(CSTD) $(WARN) $(INCS) $(PKG_CFLAGS) -DMIKAKA_VERSION=\"$(VERSION)\"
LDLIBS_BASE = $(PKG_LIBS) -pthread

# Release build (default) and sanitizer build (tests) live in separate trees.
BUILD ?= build
ifeq ($(SAN),1)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(SAN),fuzz)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
else
  OPT := -O2 -g
endif
CFLAGS  += $(CFLAGS_BASE) $(OPT)
LDLIBS  += $(LDLIBS_BASE)
SANFLAGS := -fsanitize=address,undefined
LDFLAGS += $(if $(filter 1,$(SAN)),$(SANFLAGS))

# Every src/<module>/*.c goes into one library, except the two programs' entry points.
PROG_SRCS := src/daemon/main.c src/cli/mikaka.c
LIB_SRCS  := $(filter-out $(PROG_SRCS),$(wildcard src/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libmikaka.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run check check-long unit e2e fuzz bench clean format tools print-libs \
	install install-user uninstall deb

# Installation (docs/INSTALL.md). The daemon's defaults are /etc/mikaka, /var/lib/mikaka and
# /run/mikaka whatever PREFIX is, so sysconfdir and localstatedir do not follow PREFIX.
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
bindir        ?= $(prefix)/bin
sbindir       ?= $(prefix)/sbin
datadir       ?= $(prefix)/share
mandir        ?= $(datadir)/man
docdir        ?= $(datadir)/doc/mikaka
sysconfdir    ?= /etc
localstatedir ?= /var
runstatedir   ?= /run
libdir_systemd ?= $(prefix)/lib/systemd
systemdunitdir ?= $(libdir_systemd)/system
sysusersdir   ?= $(prefix)/lib/sysusers.d
tmpfilesdir   ?= $(prefix)/lib/tmpfiles.d
INSTALL       ?= install
# The default configuration copied into $(sysconfdir)/mikaka when the file is not there yet: the
# first-run configuration `make run` uses (phones 801 and 802, secrets generated at first start in
# the state directory). The Asterisk samples go to the examples with the post's files.
DEFAULT_CONF  := etc/run/mikaka.conf
MANPAGES      := man/mikakad.8 man/mikaka.1 man/mikaka.conf.5

all: $(BUILD)/mikakad $(BUILD)/mikaka

$(BUILD)/obj/%.o: %.c | $(BUILD)/.pkgs-ok
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# One clear line instead of a page of compiler errors when the -dev packages are not there yet.
$(BUILD)/.pkgs-ok:
	@pkg-config --exists $(PKGS) || { echo "mikaka: missing build packages; run 'make run' or 'scripts/deps.sh run' (installs: $$(scripts/deps.sh list run))" >&2; exit 1; }
	@mkdir -p $(dir $@) && touch $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/mikakad: $(BUILD)/obj/src/daemon/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mikaka: $(BUILD)/obj/src/cli/mikaka.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The SRTP tests check ours against libsrtp2, linked to them only (the daemon does not use it).
$(BUILD)/tests/test_srtp: TEST_LIBS += $(shell pkg-config --libs libsrtp2 2>/dev/null || echo -lsrtp2)

# The TLS load tool is a client: it links OpenSSL directly (the daemon dlopens it).
$(BUILD)/bench/bench_tls: LDLIBS += $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)

tools: $(TOOL_BINS)

deps:
	scripts/deps.sh run

run: deps
	$(MAKE) all
	scripts/run-daemon.sh

# The sanitizer tree: build/check. Unit tests, tools and daemon are built there and used by the
# end-to-end tests, so every test runs under ASan+UBSan.
check:
	scripts/deps.sh check
	$(MAKE) SAN=1 BUILD=build/check all tools unit-bins
	$(MAKE) all
	scripts/run-tests.sh build/check

check-long:
	scripts/deps.sh check
	$(MAKE) SAN=1 BUILD=build/check all tools unit-bins
	LONG=1 scripts/run-tests.sh build/check

unit-bins: $(UNIT_BINS)

bench: all
	scripts/deps.sh bench
	$(MAKE) BUILD=build $(BENCH_BINS) $(TOOL_BINS)
	bench/run.sh

fuzz:
	scripts/deps.sh check
	tests/fuzz/run.sh $${FUZZ_SECONDS:-60}

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h tests/unit/*.c tools/*.c bench/*.c tests/fuzz/*.c)

# For scripts that link against the library (tests/fuzz/run.sh).
print-libs:
	@echo $(LDLIBS)

clean:
	rm -rf build

# A user's files in $(sysconfdir)/mikaka are never replaced: a sample is copied only where no
# file of that name exists. The user, state directory ownership: see install-user below.
install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(systemdunitdir) \
	    $(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) $(DESTDIR)$(docdir)/examples/post \
	    $(DESTDIR)$(docdir)/examples/native $(DESTDIR)$(docdir)/examples/asterisk \
	    $(DESTDIR)$(sysconfdir)/mikaka
	$(INSTALL) -d -m 0750 $(DESTDIR)$(localstatedir)/lib/mikaka $(DESTDIR)$(runstatedir)/mikaka
	$(INSTALL) -m 0755 $(BUILD)/mikakad $(DESTDIR)$(sbindir)/mikakad
	$(INSTALL) -m 0755 $(BUILD)/mikaka $(DESTDIR)$(bindir)/mikaka
	$(INSTALL) -m 0644 man/mikaka.1 $(DESTDIR)$(mandir)/man1/mikaka.1
	$(INSTALL) -m 0644 man/mikaka.conf.5 $(DESTDIR)$(mandir)/man5/mikaka.conf.5
	$(INSTALL) -m 0644 man/mikakad.8 $(DESTDIR)$(mandir)/man8/mikakad.8
	sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@bindir@|$(bindir)|g' \
	    -e 's|@sysconfdir@|$(sysconfdir)|g' -e 's|@localstatedir@|$(localstatedir)|g' \
	    dist/mikaka.service.in >$(DESTDIR)$(systemdunitdir)/mikaka.service
	chmod 0644 $(DESTDIR)$(systemdunitdir)/mikaka.service
	$(INSTALL) -m 0644 dist/mikaka.sysusers $(DESTDIR)$(sysusersdir)/mikaka.conf
	$(INSTALL) -m 0644 dist/mikaka.tmpfiles $(DESTDIR)$(tmpfilesdir)/mikaka.conf
	$(INSTALL) -m 0644 etc/post/sip.conf etc/post/extensions.conf $(DESTDIR)$(docdir)/examples/post/
	$(INSTALL) -m 0644 etc/native/mikaka.conf $(DESTDIR)$(docdir)/examples/native/
	$(INSTALL) -m 0644 etc/asterisk/sip.conf etc/asterisk/extensions.conf $(DESTDIR)$(docdir)/examples/asterisk/
	@for f in $(DEFAULT_CONF); do \
	    t=$(DESTDIR)$(sysconfdir)/mikaka/$$(basename $$f); \
	    if [ -e "$$t" ]; then echo "install: keeping your $$t"; \
	    else echo "$(INSTALL) -m 0644 $$f $$t"; $(INSTALL) -m 0644 $$f "$$t" || exit 1; fi; \
	done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory install-user; \
	else echo "install: as root, 'make install-user' creates the mikaka user and owns $(localstatedir)/lib/mikaka"; fi

# The service user (systemd-sysusers when present, else useradd) and its directories.
install-user:
	if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(sysusersdir)/mikaka.conf; \
	elif ! getent passwd mikaka >/dev/null; then \
	    useradd --system --user-group --home-dir $(localstatedir)/lib/mikaka --shell /usr/sbin/nologin mikaka; fi
	chown mikaka:mikaka $(localstatedir)/lib/mikaka $(runstatedir)/mikaka
	-command -v systemctl >/dev/null && [ -d /run/systemd/system ] && systemctl daemon-reload

# Removes what install put in place except the configuration in $(sysconfdir)/mikaka and the
# state in $(localstatedir)/lib/mikaka (the database: remove it by hand if you mean to).
uninstall:
	rm -f $(DESTDIR)$(sbindir)/mikakad $(DESTDIR)$(bindir)/mikaka \
	    $(DESTDIR)$(mandir)/man1/mikaka.1 $(DESTDIR)$(mandir)/man5/mikaka.conf.5 \
	    $(DESTDIR)$(mandir)/man8/mikakad.8 $(DESTDIR)$(systemdunitdir)/mikaka.service \
	    $(DESTDIR)$(sysusersdir)/mikaka.conf $(DESTDIR)$(tmpfilesdir)/mikaka.conf
	rm -rf $(DESTDIR)$(docdir)
	-rmdir $(DESTDIR)$(runstatedir)/mikaka 2>/dev/null
	@echo "uninstall: kept $(DESTDIR)$(sysconfdir)/mikaka and $(DESTDIR)$(localstatedir)/lib/mikaka"

# The Debian package, built from a copy of the tracked (and new, unignored) files in build/deb/
# so nothing is written beside the work tree: build/deb/mikaka_VERSION_ARCH.deb.
deb:
	scripts/deps.sh check
	rm -rf build/deb && mkdir -p build/deb/src
	git ls-files -co --exclude-standard -z | grep -zv '^tests/corpora/' | \
	    xargs -0 tar cf - | tar xf - -C build/deb/src
	cd build/deb/src && dpkg-buildpackage -us -uc -b -j2
	@ls build/deb/*.deb

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
