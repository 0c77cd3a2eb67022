#!/usr/bin/env bash
# deb.sh: the Debian package. `make deb` builds it from the tree; its contents and control data are
# checked (dpkg-deb -c/-I), lintian must report no error; then the maintainer scripts run for real
# in a throw-away root: an overlay of this machine's / in a private mount and network namespace
# (nothing reaches the real /), where dpkg installs the package (user created, service enabled,
# conffiles), mikakad runs as the mikaka user with the unit's command line on the installed
# default configuration (/etc/mikaka/mikaka.conf): it generates the secrets of phones 801 and 802
# in /var/lib/mikaka and prints them once to its log, `mikaka phones show` gives them, SIPp
# phones register with them and 801 calls 802; a phone added to the conffile registers too, so the
# database holds registrations and call records; a newer build (the same package with a higher
# version) is installed over it (database, secrets and the changed conffile kept, the new daemon
# starts on the old database), then remove (state kept) and purge (state gone). Last, an upgrade
# from 0.1.0's layout (sip.conf and extensions.conf in /etc/mikaka): unchanged, they are removed
# and the default runs; changed, they are kept.
# Needs root and mount namespaces; says so and fails otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! unshare -m -n true 2>/dev/null; then
	notok "deb-needs-root-and-namespaces"
	finish
	exit
fi
for t in dpkg-buildpackage dh lintian fakeroot; do
	command -v $t >/dev/null || notok "tool-installed-$t (scripts/deps.sh check)"
done

# ---- build ------------------------------------------------------------------------------------
# DEB=path/to/mikaka_*.deb checks an existing package instead of building one.
if [ -z "${DEB:-}" ]; then
	make -C "$ROOT" deb >"$WORK/build.log" 2>&1
	check "make-deb" test $? = 0 || tail -30 "$WORK/build.log"
	DEB=$(ls "$ROOT"/build/deb/mikaka_*_*.deb 2>/dev/null | grep -v dbgsym | head -1)
fi
[ -f "$DEB" ] || { notok "deb-built"; finish; exit; }
VER=$(dpkg-deb -f "$DEB" Version)
echo "# built $DEB ($VER)"

# ---- contents and control data ----------------------------------------------------------------
dpkg-deb -c "$DEB" >"$WORK/contents.txt"
for f in ./usr/sbin/mikakad ./usr/bin/mikaka ./lib/systemd/system/mikaka.service \
	./usr/share/man/man8/mikakad.8.gz ./usr/share/man/man1/mikaka.1.gz \
	./usr/share/man/man5/mikaka.conf.5.gz ./etc/mikaka/mikaka.conf \
	./usr/share/doc/mikaka/examples/asterisk/sip.conf \
	./usr/share/doc/mikaka/examples/asterisk/extensions.conf \
	./usr/lib/sysusers.d/mikaka.conf ./usr/share/doc/mikaka/copyright ./var/lib/mikaka/; do
	check "contains-$f" grep -q " $f\$" "$WORK/contents.txt"
done
check "etc-mikaka-only-mikaka-conf" test "$(grep -c ' ./etc/mikaka/.' "$WORK/contents.txt")" = 1
check "no-run-dir-shipped" test -z "$(grep ' ./run/' "$WORK/contents.txt")"
check "daemon-mode-0755" grep -q '^-rwxr-xr-x root/root .* ./usr/sbin/mikakad$' "$WORK/contents.txt"
dpkg-deb -I "$DEB" >"$WORK/info.txt"
check "control-depends-adduser" grep -q "^ Depends: .*adduser" "$WORK/info.txt"
check "control-has-postinst-postrm" grep -q "postinst" "$WORK/info.txt"
dpkg-deb --ctrl-tarfile "$DEB" | tar xf - -C "$WORK" ./conffiles ./preinst ./postinst ./postrm
check "conffiles-etc-mikaka" test "$(cat "$WORK/conffiles")" = /etc/mikaka/mikaka.conf
check "default-conffile-is-make-run" cmp -s <(dpkg-deb --fsys-tarfile "$DEB" | tar xOf - ./etc/mikaka/mikaka.conf) "$ROOT/etc/run/mikaka.conf"
check "postinst-enables-service" grep -q "deb-systemd-helper enable 'mikaka.service'" "$WORK/postinst"
check "postrm-purges-state" grep -q "rm -rf /var/lib/mikaka" "$WORK/postrm"
lintian --allow-root --tag-display-limit 0 "$DEB" >"$WORK/lintian.txt" 2>&1
sed 's/^/# lintian: /' "$WORK/lintian.txt"
check "lintian-no-errors" test -z "$(grep '^E:' "$WORK/lintian.txt")"
check "lintian-no-warnings" test -z "$(grep '^W:' "$WORK/lintian.txt")"

# The "newer build": the same package with a higher version (upgrade path, maintainer scripts
# with $2 set); rebuilding from source would only take longer.
rm -rf "$WORK/v2" && dpkg-deb -R "$DEB" "$WORK/v2"
sed -i "s/^Version: .*/Version: $VER+upgrade1/" "$WORK/v2/DEBIAN/control"
dpkg-deb --root-owner-group -b "$WORK/v2" "$WORK/mikaka_v2.deb" >/dev/null
check "upgrade-package-built" test -f "$WORK/mikaka_v2.deb"
# 0.1.0's layout: the same package with the two Asterisk samples as its conffiles instead.
rm -rf "$WORK/v0" && dpkg-deb -R "$DEB" "$WORK/v0"
sed -i "s/^Version: .*/Version: 0.1.0/" "$WORK/v0/DEBIAN/control"
rm "$WORK/v0/etc/mikaka/mikaka.conf" "$WORK/v0/DEBIAN/preinst"
cp "$ROOT/etc/asterisk/sip.conf" "$ROOT/etc/asterisk/extensions.conf" "$WORK/v0/etc/mikaka/"
printf '/etc/mikaka/extensions.conf\n/etc/mikaka/sip.conf\n' >"$WORK/v0/DEBIAN/conffiles"
dpkg-deb --root-owner-group -b "$WORK/v0" "$WORK/mikaka_v0.deb" >/dev/null
check "old-layout-package-built" test -f "$WORK/mikaka_v0.deb"

# ---- the maintainer scripts in a throw-away root ----------------------------------------------
if dpkg-query -W -f='${Status}' mikaka 2>/dev/null | grep -q installed; then
	notok "mikaka-not-installed-on-this-machine (the throw-away root starts from it)"
	finish
	exit
fi
cp "$DEB" "$WORK/mikaka_v1.deb"
cat >"$WORK/inner.sh" <<'INNER'
set -u
W=$1 E2E=$2 R=$3
ok() { echo "ok $*"; }
notok() { echo "not ok $*"; }
check() { local n=$1; shift; if "$@"; then ok "$n"; else notok "$n"; fi; }
ip link set lo up
export DEBIAN_FRONTEND=noninteractive
# The unit's command line, as the unit's user (systemd itself is not running here).
start() {
	local CMD
	CMD=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/mikaka.service)
	mkdir -p /run/mikaka && chown mikaka:mikaka /run/mikaka
	# The unit's AmbientCapabilities= (5060 is a privileged port).
	setpriv --reuid=mikaka --regid=mikaka --init-groups \
		--inh-caps=+net_bind_service,+net_raw,+net_admin \
		--ambient-caps=+net_bind_service,+net_raw,+net_admin $CMD >>"$W/daemon.log" 2>&1 &
	D=$!
	for i in $(seq 1 100); do mikaka core show version >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
stop() { kill -TERM $D; wait $D; }
dbsum() {
	for t in reg cdr kv; do
		printf '%s %s %s\n' $t "$(sqlite3 "$1" "SELECT count(*) FROM $t")" \
			"$(sqlite3 "$1" "SELECT * FROM $t ORDER BY 1, 2" | sha256sum | cut -c1-16)"
	done
}

# First `make install` as root without DESTDIR (the user, the directories), then uninstall.
if [ -x "$R/build/mikakad" ]; then
	make -C "$R" -s install BUILD=build >"$W/make-install.log" 2>&1
	check "make-install-as-root" test $? = 0
	check "make-install-created-user" getent passwd mikaka
	check "make-install-state-owned" test "$(stat -c '%U %a' /var/lib/mikaka)" = "mikaka 750"
	check "make-install-unit" test -f /usr/local/lib/systemd/system/mikaka.service
	make -C "$R" -s uninstall >/dev/null 2>&1
	check "make-install-default-config" test "$(ls /etc/mikaka)" = mikaka.conf
	check "make-uninstall-as-root" test ! -e /usr/local/sbin/mikakad -a -f /etc/mikaka/mikaka.conf
	userdel mikaka 2>/dev/null; rm -rf /etc/mikaka /var/lib/mikaka /run/mikaka
fi

dpkg -i "$W/mikaka_v1.deb" >"$W/dpkg-install.log" 2>&1
check "dpkg-install" test $? = 0 || cat "$W/dpkg-install.log"
check "user-created" getent passwd mikaka
check "state-dir-owned-by-mikaka" test "$(stat -c '%U:%G %a' /var/lib/mikaka)" = "mikaka:mikaka 750"
check "service-enabled" test -L /etc/systemd/system/multi-user.target.wants/mikaka.service
check "conffiles-registered" test -n "$(dpkg-query -W -f='${Conffiles}' mikaka | grep /etc/mikaka/mikaka.conf)"
check "installed-daemon-runs" /usr/sbin/mikakad -V
check "installed-man-page" test -f /usr/share/man/man8/mikakad.8.gz
check "installed-config-good" /usr/sbin/mikakad -C /etc/mikaka -t
check "installed-config-only-mikaka-conf" test "$(ls /etc/mikaka)" = mikaka.conf

# The installed default as it is: secrets generated in the state directory by the service user
# and printed once to its log (the journal under systemd), phones 801 and 802 register, 801 calls
# 802.
check "daemon-starts-as-mikaka" start
check "daemon-user" test "$(ps -o user= -p $D)" = mikaka
bash "$E2E/default-calls.bash" "$W" "$E2E" mikaka
read -r S801 S802 <"$W/default-secrets" 2>/dev/null
check "secrets-printed-once-to-log" test "$(grep -c '^==== New phones: secrets generated now' "$W/daemon.log")" = 1
check "secrets-printed-801" grep -q "^801 \{1,\}801 \{1,\}${S801:-none} " "$W/daemon.log"
check "secrets-printed-802" grep -q "^802 \{1,\}802 \{1,\}${S802:-none} " "$W/daemon.log"
check "secrets-file-owned-by-mikaka-0600" test "$(stat -c '%U %a' /var/lib/mikaka/phones.secrets 2>/dev/null)" = "mikaka 600"
check "daemon-no-error" test -z "$(grep 'ERROR' "$W/daemon.log")"
# A changed conffile: a phone with a written secret, taken by a reload.
sed -i 's/^802 =$/802 =\n803 = pw803/' /etc/mikaka/mikaka.conf
check "reload-changed-conffile" mikaka reload
printf 'SEQUENTIAL\n803;[authentication username=803 password=pw803];600;\n' >"$W/p.csv"
timeout -k 5 60 sipp 127.0.0.1:5060 -sf "$E2E/sipp/reg-phone.xml" -inf "$W/p.csv" -i 127.0.0.4 -p 5070 \
	-m 1 -nostdin -timeout 30s >"$W/reg.log" 2>&1
check "added-phone-registers" test $? = 0
conf_sum=$(sha256sum </etc/mikaka/mikaka.conf)
secrets_sum=$(sha256sum </var/lib/mikaka/phones.secrets)
sleep 0.3
mikaka backup /var/lib/mikaka/pre-upgrade.db >/dev/null
check "backup-by-service-user" test "$(stat -c %U /var/lib/mikaka/pre-upgrade.db 2>/dev/null)" = mikaka
stop
check "db-owned-by-mikaka" test "$(stat -c %U /var/lib/mikaka/mikaka.db)" = mikaka
before=$(dbsum /var/lib/mikaka/mikaka.db)
echo "# before upgrade: $(echo $before)"
check "db-has-registrations" test "$(sqlite3 /var/lib/mikaka/mikaka.db 'SELECT count(*) FROM reg')" = 3
check "db-has-call-records" test "$(sqlite3 /var/lib/mikaka/mikaka.db 'SELECT count(*) FROM cdr')" -ge 1

# Upgrade: database, backup and the changed conffiles kept; the new daemon uses the database.
dpkg -i "$W/mikaka_v2.deb" >"$W/dpkg-upgrade.log" 2>&1
check "dpkg-upgrade" test $? = 0 || cat "$W/dpkg-upgrade.log"
check "upgraded-version" test -n "$(dpkg-query -W -f='${Version}' mikaka | grep upgrade1)"
check "upgrade-keeps-db" test "$(dbsum /var/lib/mikaka/mikaka.db)" = "$before"
check "upgrade-keeps-changed-conffile" test "$(sha256sum </etc/mikaka/mikaka.conf)" = "$conf_sum"
check "upgrade-keeps-secrets" test "$(sha256sum </var/lib/mikaka/phones.secrets)" = "$secrets_sum"
check "upgrade-keeps-backup" test -f /var/lib/mikaka/pre-upgrade.db
check "upgraded-daemon-starts" start
check "upgraded-daemon-loads-registrations" grep -q "3 stored bindings loaded" "$W/daemon.log"
check "upgraded-daemon-lists-calls" test "$(mikaka cdr show 2>/dev/null | grep -c " 802 ")" -ge 1
check "upgraded-daemon-same-secrets" grep -q "^801 .* ${S801:-none} " <<<"$(mikaka phones show)"
check "upgraded-daemon-prints-no-secret" test "$(grep -c '^==== New phones' "$W/daemon.log")" = 1
stop

# Remove keeps state and configuration; purge removes them.
dpkg -r mikaka >"$W/dpkg-remove.log" 2>&1
check "dpkg-remove" test $? = 0
check "remove-removes-programs" test ! -e /usr/sbin/mikakad -a ! -e /usr/bin/mikaka
check "remove-keeps-state" test "$(dbsum /var/lib/mikaka/mikaka.db)" = "$before"
check "remove-keeps-conffiles" test -f /etc/mikaka/mikaka.conf
dpkg -P mikaka >"$W/dpkg-purge.log" 2>&1
check "dpkg-purge" test $? = 0
check "purge-removes-state" test ! -e /var/lib/mikaka
check "purge-removes-conffiles" test ! -e /etc/mikaka/mikaka.conf
check "purge-removes-enable-link" test ! -e /etc/systemd/system/multi-user.target.wants/mikaka.service

# From 0.1.0's layout: its unchanged samples go and the default runs; changed ones are kept.
dpkg -i "$W/mikaka_v0.deb" >"$W/dpkg-v0.log" 2>&1
check "old-layout-install" test -f /etc/mikaka/sip.conf -a -f /etc/mikaka/extensions.conf
dpkg -i "$W/mikaka_v1.deb" >"$W/dpkg-v0-up.log" 2>&1
check "old-layout-upgrade" test $? = 0 || cat "$W/dpkg-v0-up.log"
check "old-layout-unchanged-samples-removed" test "$(ls -A /etc/mikaka)" = mikaka.conf
check "old-layout-upgraded-config-good" /usr/sbin/mikakad -C /etc/mikaka -t
dpkg -P mikaka >/dev/null 2>&1
dpkg -i "$W/mikaka_v0.deb" >"$W/dpkg-v0b.log" 2>&1
echo "; mine" >>/etc/mikaka/sip.conf
dpkg -i "$W/mikaka_v1.deb" >"$W/dpkg-v0b-up.log" 2>&1
check "old-layout-changed-upgrade" test $? = 0 || cat "$W/dpkg-v0b-up.log"
check "old-layout-changed-kept" test -f /etc/mikaka/sip.conf -a -f /etc/mikaka/extensions.conf \
	-a "$(tail -1 /etc/mikaka/sip.conf)" = "; mine"
check "old-layout-changed-says-what-to-do" grep -q "delete mikaka.conf to keep using" "$W/dpkg-v0b-up.log"
rm /etc/mikaka/mikaka.conf
check "old-layout-changed-config-good" /usr/sbin/mikakad -C /etc/mikaka -t
dpkg -P mikaka >"$W/dpkg-purge2.log" 2>&1
check "old-layout-purge" test $? = 0 -a ! -e /etc/mikaka/sip.conf
INNER

unshare -m -n bash -c '
	set -e
	ov=$1/ov
	mkdir -p "$ov"
	mount -t tmpfs -o size=2g tmpfs "$ov"
	mkdir -p "$ov/upper" "$ov/work" "$ov/root"
	mount -t overlay overlay -o lowerdir=/,upperdir="$ov/upper",workdir="$ov/work" "$ov/root"
	mount --rbind /proc "$ov/root/proc"
	mount --rbind /dev "$ov/root/dev"
	mount --rbind /sys "$ov/root/sys"
	mount -t tmpfs tmpfs "$ov/root/run"
	mount -t tmpfs tmpfs "$ov/root/tmp"
	mkdir -p "$ov/root$1" "$ov/root$2"
	mount --bind "$1" "$ov/root$1"
	mount --bind "$2" "$ov/root$2"
	chroot "$ov/root" bash "$1/inner.sh" "$1" "$2" "$3"
' _ "$WORK" "$E2E" "$ROOT" >"$WORK/inner.out" 2>&1
cat "$WORK/inner.out"
[ -f "$WORK/daemon.log" ] && grep -q "^not ok" "$WORK/inner.out" && sed "s/^/# daemon: /" "$WORK/daemon.log" | tail -20
grep -q "^ok old-layout-purge" "$WORK/inner.out" || notok "throw-away-root-ran-to-the-end"
FAILS=$((FAILS + $(grep -c '^not ok' "$WORK/inner.out")))
check "real-root-untouched" test ! -e /usr/sbin/mikakad -a -z "$(getent passwd mikaka)"

finish
