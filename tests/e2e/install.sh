#!/usr/bin/env bash
# install.sh: running as a service. `make install` into a DESTDIR (files, modes, a user's
# configuration kept, man pages that render cleanly, uninstall); the installed default
# configuration (mikaka.conf) run by the installed daemon as an unprivileged owner of the state
# directory in a private network namespace: the secrets printed once, `mikaka phones show`, SIPp
# phones 801 and 802 register with them and 801 calls 802; the systemd unit
# (systemd-analyze verify and security --offline); the sd_notify protocol against a test
# $NOTIFY_SOCKET (READY=1 only once SIP answers, WATCHDOG=1 at half $WATCHDOG_USEC, RELOADING=1 and
# READY=1 around a reload, STOPPING=1 on SIGTERM, nothing on a failed start); journal priority
# prefixes; `mikaka backup` during a SIPp registration and call load, restored with
# `mikakad --restore` into an identical database; and bad input: restore over a running daemon, a
# truncated, foreign or newer backup, a newer database, an unwritable state directory, a missing
# configuration directory, a full disk (tmpfs in a mount namespace). Loopback 127.0.5.x.
. "$(dirname "$0")/lib.sh"

NET=127.0.5
ADDR=$NET.1
NPHONES=${NPHONES:-200}
NCALLS=${NCALLS:-100}
RELEASE=$ROOT/build # `make install` installs the release build (make check builds it)
CONF=$WORK/conf
mkdir -p "$CONF"

# ---- make install / uninstall ---------------------------------------------------------------
DEST=$WORK/dest
make -C "$ROOT" -s install DESTDIR="$DEST" BUILD=build >"$WORK/install.log" 2>&1
check "make-install" test $? = 0
for f in usr/local/sbin/mikakad usr/local/bin/mikaka; do
	check "installed-exec-$(basename $f)" test -x "$DEST/$f"
done
for f in usr/local/share/man/man8/mikakad.8 usr/local/share/man/man1/mikaka.1 \
	usr/local/share/man/man5/mikaka.conf.5 usr/local/lib/systemd/system/mikaka.service \
	usr/local/lib/sysusers.d/mikaka.conf usr/local/lib/tmpfiles.d/mikaka.conf \
	etc/mikaka/mikaka.conf usr/local/share/doc/mikaka/examples/native/mikaka.conf \
	usr/local/share/doc/mikaka/examples/asterisk/sip.conf \
	usr/local/share/doc/mikaka/examples/asterisk/extensions.conf \
	usr/local/share/doc/mikaka/examples/post/sip.conf; do
	check "installed-$(basename "$(dirname $f)")-$(basename $f)" test -f "$DEST/$f"
done
check "state-dir-0750" test "$(stat -c %a "$DEST/var/lib/mikaka")" = 750
check "installed-daemon-runs" "$DEST/usr/local/sbin/mikakad" -V
check "installed-only-mikaka-conf" test "$(ls "$DEST/etc/mikaka")" = mikaka.conf
check "installed-default-is-make-run" cmp -s "$ROOT/etc/run/mikaka.conf" "$DEST/etc/mikaka/mikaka.conf"
out=$("$DEST/usr/local/sbin/mikakad" -C "$DEST/etc/mikaka" -t 2>&1)
check "installed-config-checks" grep -q "configuration OK (0 errors, 0 warnings)" <<<"$out"
check "installed-config-check-writes-no-state" test -z "$(ls -A "$DEST/var/lib/mikaka")"
# Man pages: rendered with groff's warnings on, nothing on stderr.
for m in man8/mikakad.8 man1/mikaka.1 man5/mikaka.conf.5; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$DEST/usr/local/share/man/$m" 2>&1 >"$WORK/man.txt")
	check "man-clean-$(basename $m)" test -z "$out" -a -s "$WORK/man.txt"
done

# ---- the installed default, run: as the owner of the state directory (the unit's User= and
# StateDirectory=), in a private network namespace (it binds 5060 on every address) -------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && unshare -n true 2>/dev/null; then
	chmod o+x "$WORK"
	RUN=$WORK/instrun
	mkdir -p "$RUN" && chown 65534:65534 "$RUN" "$DEST/var/lib/mikaka"
	cat >"$WORK/instrun.sh" <<'INNER'
set -u
W=$1 E2E=$2 DEST=$3 RUN=$4
ip link set lo up
start() { # the unit's command line with its paths in DESTDIR, as user 65534 with the unit's caps
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_bind_service \
		--ambient-caps=+net_bind_service "$DEST/usr/local/sbin/mikakad" -C "$DEST/etc/mikaka" \
		-s "$RUN/mikaka.ctl" -d "$DEST/var/lib/mikaka/mikaka.db" >>"$W/instrun-daemon.log" 2>&1 &
	D=$!
	for _ in $(seq 1 100); do "$DEST/usr/local/bin/mikaka" -s "$RUN/mikaka.ctl" core show version \
		>/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
start && echo "ok installed-default-starts" || echo "not ok installed-default-starts"
bash "$E2E/default-calls.bash" "$W" "$E2E" "$DEST/usr/local/bin/mikaka" -s "$RUN/mikaka.ctl"
kill -TERM $D; wait $D; echo "stop_rc=$?"
start && echo "ok installed-default-restarts" || echo "not ok installed-default-restarts"
kill -TERM $D; wait $D; echo "stop_rc=$?"
INNER
	unshare -n bash "$WORK/instrun.sh" "$WORK" "$E2E" "$DEST" "$RUN" >"$WORK/instrun.out" 2>&1
	grep -v '^ok \|^not ok \|^stop_rc=' "$WORK/instrun.out" | sed 's/^/# /'
	grep '^ok \|^not ok ' "$WORK/instrun.out"
	FAILS=$((FAILS + $(grep -c '^not ok' "$WORK/instrun.out")))
	check "installed-default-stops-clean" test "$(grep -c '^stop_rc=0$' "$WORK/instrun.out")" = 2
	read -r S801 S802 <"$WORK/default-secrets" 2>/dev/null
	ILOG=$WORK/instrun-daemon.log
	check "installed-default-no-error" test -z "$(grep 'ERROR' "$ILOG")"
	check "installed-default-secrets-printed-once" \
		test "$(grep -c '^==== New phones: secrets generated now' "$ILOG")" = 1
	check "installed-default-printed-801" grep -q "^801 \{1,\}801 \{1,\}${S801:-none} " "$ILOG"
	check "installed-default-printed-802" grep -q "^802 \{1,\}802 \{1,\}${S802:-none} " "$ILOG"
	check "installed-default-secrets-in-state-dir" \
		test "$(stat -c '%u %a' "$DEST/var/lib/mikaka/phones.secrets" 2>/dev/null)" = "65534 600"
	check "installed-default-secrets-kept" grep -q "^801 = ${S801:-none}\$" "$DEST/var/lib/mikaka/phones.secrets"
	check "installed-default-no-exit-73" test -z "$(grep -i 'permission denied\|cannot be kept' "$ILOG")"
	[ $FAILS != 0 ] && sed 's/^/# daemon: /' "$ILOG" | tail -30
	chown -R 0:0 "$DEST/var/lib/mikaka"
else
	notok "installed-default-run-needs-root-setpriv-and-network-namespaces"
fi

# A user's file is never replaced by a second install; other paths move with the variables.
echo "; mine" >>"$DEST/etc/mikaka/mikaka.conf"
sum=$(sha256sum <"$DEST/etc/mikaka/mikaka.conf")
make -C "$ROOT" -s install DESTDIR="$DEST" BUILD=build >"$WORK/install2.log" 2>&1
check "reinstall-keeps-user-config" test "$(sha256sum <"$DEST/etc/mikaka/mikaka.conf")" = "$sum"
check "reinstall-says-kept" grep -q "keeping your .*mikaka.conf" "$WORK/install2.log"
check "reinstall-adds-no-asterisk-files" test "$(ls "$DEST/etc/mikaka")" = mikaka.conf
make -C "$ROOT" -s install DESTDIR="$WORK/dest2" BUILD=build PREFIX=/opt/mk sysconfdir=/opt/mk/etc \
	localstatedir=/opt/mk/var >/dev/null 2>&1
check "prefix-sysconfdir-localstatedir" test -x "$WORK/dest2/opt/mk/sbin/mikakad" -a \
	-f "$WORK/dest2/opt/mk/etc/mikaka/mikaka.conf" -a -d "$WORK/dest2/opt/mk/var/lib/mikaka"
check "unit-follows-paths" grep -q "ExecStart=/opt/mk/sbin/mikakad -C /opt/mk/etc/mikaka .* -d /opt/mk/var/lib/mikaka/mikaka.db" \
	"$WORK/dest2/opt/mk/lib/systemd/system/mikaka.service"

# ---- the unit ---------------------------------------------------------------------------------
UNIT=$DEST/usr/local/lib/systemd/system/mikaka.service
for d in Type=notify WatchdogSec= ExecReload=/usr/local/bin/mikaka\ -s\ /run/mikaka/mikaka.ctl\ reload \
	User=mikaka StateDirectory=mikaka RuntimeDirectory=mikaka ConfigurationDirectory=mikaka \
	ProtectSystem=strict LimitNOFILE=65536 'RestartPreventExitStatus=78' NoNewPrivileges=yes \
	'AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN'; do
	check "unit-has-${d%%=*}" grep -q "^$d" "$UNIT"
done
if command -v systemd-analyze >/dev/null; then
	# verify looks for the programs at their absolute paths: point them into DESTDIR.
	mkdir -p "$WORK/verify"
	sed "s|=/usr/local/|=$DEST/usr/local/|g" "$UNIT" >"$WORK/verify/mikaka.service"
	out=$(systemd-analyze verify --man=no "$WORK/verify/mikaka.service" 2>&1); rc=$?
	check "systemd-analyze-verify" test $rc = 0 -a -z "$out"
	[ -n "$out" ] && echo "$out"
	systemd-analyze security --offline=yes --no-pager "$UNIT" >"$WORK/security.txt" 2>&1
	score=$(sed -n 's/.*Overall exposure level for mikaka.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
	echo "# systemd-analyze security --offline: exposure ${score:-?}"
	check "security-exposure-below-3" awk -v s="${score:-99}" 'BEGIN { exit !(s < 3.0) }'
else
	notok "systemd-analyze-installed"
fi

# ---- sd_notify ---------------------------------------------------------------------------------
cat >"$CONF/sip.conf" <<EOF
[general]
udpbindaddr=$ADDR
bindport=5060
tcpenable=no
realm=mikaka

[phone](!)
type=friend
host=dynamic
context=from_phone
secret=pw
EOF
for i in $(seq 0 $((NPHONES - 1))); do printf '[%d](phone)\n' $((9000 + i)); done >>"$CONF/sip.conf"
printf '[from_phone]\nexten => 100,1,Hangup()\n' >"$CONF/extensions.conf"

NSOCK=$WORK/notify.sock
NLOG=$WORK/notify.log
# listen [PROBE_TARGET]: a fresh listener; waits until it is bound.
listen() {
	[ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	: >"$NLOG"
	python3 "$E2E/notify-listen.py" "$NSOCK" "$NLOG" "$@" &
	LPID=$!
	PIDS+=("$LPID")
	for _ in $(seq 1 50); do grep -q LISTENING "$NLOG" && return 0; sleep 0.1; done
	return 1
}
# wait_for PATTERN [SECONDS]: until the notify log has a line matching PATTERN.
wait_for() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do grep -q "$1" "$NLOG" && return 0; sleep 0.1; done
	return 1
}

listen "$ADDR:5060"
NOTIFY_SOCKET=$NSOCK WATCHDOG_USEC=600000 start_daemon "$CONF" || { notok "daemon-start"; exit 1; }
check "ready-sent" wait_for "READY=1"
check "ready-only-when-sip-answers" wait_for "PROBE 200" 5
check "ready-has-mainpid" grep -q "READY=1.*MAINPID=$DAEMON_PID" "$NLOG"
check "ready-first" test "$(sed -n 2p "$NLOG" | grep -c READY=1)" = 1
sleep 2
n=$(grep -c "WATCHDOG=1" "$NLOG")
echo "# WATCHDOG=1 messages in ~2 s at WATCHDOG_USEC=600000: $n"
check "watchdog-at-half-period" test "$n" -ge 4 -a "$n" -le 12
cli reload >/dev/null
check "reloading-then-ready" wait_for "READY=1" 1
check "reloading-sent" grep -q "RELOADING=1|MONOTONIC_USEC=" "$NLOG"
awk '/RELOADING=1/ { r = NR } /READY=1/ && r && NR > r { ok = 1 } END { exit !ok }' "$NLOG"
check "ready-after-reloading" test $? = 0

# ---- backup under load ------------------------------------------------------------------------
csv=$WORK/phones.csv
{ echo SEQUENTIAL; for i in $(seq 0 $((NPHONES - 1))); do
	u=$((9000 + i)); echo "$u;[authentication username=$u password=pw];600;"; done; } >"$csv"
timeout -k 5 120 sipp "$ADDR:5060" -sf "$E2E/sipp/reg-phone.xml" -inf "$csv" -i $NET.2 -p 5070 \
	-m "$NPHONES" -r 100 -l 50 -nostdin -timeout 60s >"$WORK/sipp-reg.log" 2>&1 &
REGP=$!
timeout -k 5 120 sipp "$ADDR:5060" -sf "$E2E/sipp/tf-phone-call.xml" -inf "$csv" -i $NET.3 -p 5071 \
	-s 100 -m "$NCALLS" -r 40 -l 20 -key workdir "$WORK" -nostdin -timeout 60s \
	>"$WORK/sipp-call.log" 2>&1 &
CALLP=$!
PIDS+=("$REGP" "$CALLP")
sleep 1.5
out=$(cli backup "$WORK/during.db" 2>&1)
check "backup-during-load" test $? = 0
echo "# $out" | head -3
cli backup during-rel.db >/dev/null 2>&1 # relative: made absolute by the client
wait "$REGP"; check "sipp-registrations" test $? = 0
wait "$CALLP"
sleep 0.5
out=$(cli backup "$WORK/during.db" 2>&1); rc=$?
check "backup-never-overwrites" test $rc != 0 -a -n "$(grep -i 'exists' <<<"$out")"
check "backup-relative-path" test -f "$PWD/during-rel.db"
rm -f "$PWD/during-rel.db"
out=$(cli backup /nonexistent-dir/x.db 2>&1); rc=$?
check "backup-unwritable-error" test $rc != 0 -a -n "$(grep -i 'cannot create\|No such' <<<"$out")"
check "backup-unwritable-nothing-left" test -z "$(ls /nonexistent-dir 2>/dev/null)"
cli backup "$WORK/after.db" >/dev/null
check "backup-after-load" test -f "$WORK/after.db"

# dbsum FILE: row counts and a checksum of every table's rows.
dbsum() {
	local t
	for t in reg cdr kv; do
		printf '%s %s %s\n' "$t" "$(sqlite3 "$1" "SELECT count(*) FROM $t")" \
			"$(sqlite3 "$1" "SELECT * FROM $t ORDER BY 1, 2" | sha256sum | cut -c1-16)"
	done
	sqlite3 "$1" "PRAGMA user_version; PRAGMA application_id" | tr '\n' ' '
}
regs=$(sqlite3 "$WORK/during.db" "SELECT count(*) FROM reg")
cdrs=$(sqlite3 "$WORK/after.db" "SELECT count(*) FROM cdr")
echo "# backup during load: $regs registrations, $(sqlite3 "$WORK/during.db" "SELECT count(*) FROM cdr") call records; after: $(sqlite3 "$WORK/after.db" "SELECT count(*) FROM reg") / $cdrs"
check "backup-has-registrations" test "$regs" -gt 0
check "backup-has-call-records" test "$cdrs" -gt 0
check "backup-integrity" test "$(sqlite3 "$WORK/during.db" "PRAGMA integrity_check")" = ok
check "backup-single-file" test ! -e "$WORK/during.db-wal" -a "$(sqlite3 "$WORK/during.db" "PRAGMA journal_mode")" = delete

# Restoring over a running daemon is refused and changes nothing.
live=$(dbsum "$WORK/mikaka.db")
"$MIKAKAD" -d "$WORK/mikaka.db" --restore "$WORK/during.db" >"$WORK/r0.log" 2>&1; rc=$?
check "restore-refused-while-running" test $rc = 75
check "restore-refused-says-why" grep -q "in use by a running mikakad" "$WORK/r0.log"
check "restore-refused-db-unchanged" test "$(dbsum "$WORK/mikaka.db")" = "$live"
# A second daemon on the same database is refused too.
"$MIKAKAD" -C "$CONF" -s "$WORK/ctl2.sock" -d "$WORK/mikaka.db" >"$WORK/second.log" 2>&1; rc=$?
check "second-daemon-same-db-refused" grep -q "in use by another mikakad" "$WORK/second.log"

kill -TERM "$DAEMON_PID"
check "stopping-on-sigterm" wait_for "STOPPING=1" 5
DAEMON_PID_SAVED=$DAEMON_PID
for _ in $(seq 1 100); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
wait "$DAEMON_PID"; rc=$?
DAEMON_PID=
check "daemon-exit-0" test $rc = 0
check "no-sanitizer-report" test -z "$(grep -l 'AddressSanitizer\|runtime error:' "$DAEMON_LOG")"
check "backup-after-load-equals-final-db" test "$(dbsum "$WORK/after.db")" = "$(dbsum "$WORK/mikaka.db")"

# The backup taken during the load restores into an identical database.
"$MIKAKAD" -d "$WORK/mikaka.db" --restore "$WORK/during.db" >"$WORK/r1.log" 2>&1
check "restore-ok" test $? = 0
check "restored-identical" test "$(dbsum "$WORK/mikaka.db")" = "$(dbsum "$WORK/during.db")"
check "restore-kept-previous" test "$(dbsum "$WORK/mikaka.db.before-restore")" = "$(dbsum "$WORK/after.db")"
# Restoring into a new path works too, and the daemon starts on the result.
"$MIKAKAD" -d "$WORK/new/sub/mikaka.db" --restore "$WORK/during.db" >/dev/null 2>&1
check "restore-new-path-identical" test "$(dbsum "$WORK/new/sub/mikaka.db")" = "$(dbsum "$WORK/during.db")"
listen "$ADDR:5060"
NOTIFY_SOCKET=$NSOCK start_daemon "$CONF" || notok "daemon-restart-on-restored"
check "restarted-on-restored-db" wait_for "PROBE 200" 5
check "restored-registrations-loaded" grep -q "[1-9][0-9]* stored bindings loaded" "$DAEMON_LOG"
check "daemon-stop" stop_daemon

# ---- bad backups: each refused with a clear reason, nothing overwritten ------------------------
before=$(dbsum "$WORK/mikaka.db")
bad_restore() { # NAME FILE EXPECTED_RC PATTERN
	local out rc
	out=$("$MIKAKAD" -d "$WORK/mikaka.db" --restore "$2" 2>&1); rc=$?
	check "restore-$1-refused" test "$rc" = "$3"
	check "restore-$1-says-why" grep -q "$4" <<<"$out"
	check "restore-$1-db-untouched" test "$(dbsum "$WORK/mikaka.db")" = "$before"
}
head -c 20000 "$WORK/after.db" >"$WORK/trunc.db"
bad_restore truncated "$WORK/trunc.db" 65 "truncated"
printf 'not a database at all, just text\n%.0s' $(seq 1 10) >"$WORK/text.db"
bad_restore not-sqlite "$WORK/text.db" 65 "not an SQLite database"
sqlite3 "$WORK/foreign.db" "CREATE TABLE t (a); INSERT INTO t VALUES (1);"
bad_restore foreign "$WORK/foreign.db" 65 "not mikaka's"
cp "$WORK/after.db" "$WORK/newer.db"
sqlite3 "$WORK/newer.db" "PRAGMA user_version = 99"
bad_restore newer "$WORK/newer.db" 65 "newer than this mikaka"
cp "$WORK/after.db" "$WORK/corrupt.db"
# Damage the b-tree page of the call records (its page-type byte): header and size are intact.
root=$(sqlite3 "$WORK/corrupt.db" "SELECT rootpage FROM sqlite_master WHERE name = 'cdr'")
psize=$(sqlite3 "$WORK/corrupt.db" "PRAGMA page_size")
printf '\377\377\377\377' | dd of="$WORK/corrupt.db" bs=1 seek=$(((root - 1) * psize)) conv=notrunc 2>/dev/null
bad_restore corrupt "$WORK/corrupt.db" 65 "integrity\|malformed\|damaged"
bad_restore missing "$WORK/no-such-file.db" 66 "No such file"

# ---- bad start-up conditions: exit codes systemd understands ----------------------------------
# A database from a newer mikaka: 78, and the file is left exactly as it was.
cp "$WORK/mikaka.db" "$WORK/newer-live.db"
sqlite3 "$WORK/newer-live.db" "PRAGMA user_version = 99"
s1=$(sha256sum <"$WORK/newer-live.db")
"$MIKAKAD" -C "$CONF" -s "$WORK/ctl3.sock" -d "$WORK/newer-live.db" >"$WORK/newer.log" 2>&1; rc=$?
check "newer-db-exit-78" test $rc = 78
check "newer-db-says-why" grep -q "newer than this mikaka" "$WORK/newer.log"
check "newer-db-untouched" test "$(sha256sum <"$WORK/newer-live.db")" = "$s1"
# A missing configuration directory: 78.
"$MIKAKAD" -C "$WORK/no-such-conf" -s "$WORK/ctl3.sock" -d "$WORK/x.db" >"$WORK/noconf.log" 2>&1; rc=$?
check "missing-confdir-exit-78" test $rc = 78
check "missing-confdir-says-why" grep -q "configuration directory .*no-such-conf" "$WORK/noconf.log"
check "missing-confdir-no-db-created" test ! -e "$WORK/x.db"
# A configuration with errors: 78, no READY=1.
mkdir -p "$WORK/badconf"
printf '[general]\nudpbindaddr=not-an-address\n' >"$WORK/badconf/sip.conf"
listen
NOTIFY_SOCKET=$NSOCK "$MIKAKAD" -C "$WORK/badconf" -s "$WORK/ctl3.sock" -d "$WORK/x.db" >/dev/null 2>&1; rc=$?
check "bad-config-exit-78" test $rc = 78
# SIP address already taken: exit 1 (systemd may restart), and no READY=1.
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("'$ADDR'",5060)); time.sleep(5)' &
BLK=$!; PIDS+=("$BLK"); sleep 0.5
NOTIFY_SOCKET=$NSOCK "$MIKAKAD" -C "$CONF" -s "$WORK/ctl3.sock" -d "$WORK/y.db" >/dev/null 2>&1; rc=$?
kill "$BLK" 2>/dev/null; wait "$BLK" 2>/dev/null
check "port-in-use-exit-1" test $rc = 1
check "failed-starts-send-no-ready" test -z "$(grep READY=1 "$NLOG")"
# An unwritable state directory (as an unprivileged user): 73.
mkdir -p "$WORK/ro"; chmod 0555 "$WORK/ro"; chmod o+rx "$WORK" "$CONF"; chmod o+r "$CONF"/*
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MIKAKAD" -C "$CONF" -s "$WORK/ro/ctl" \
		-d "$WORK/ro/state/mikaka.db" >"$WORK/ro.log" 2>&1; rc=$?
	check "unwritable-state-exit-73" test $rc = 73
	check "unwritable-state-says-why" grep -q "Permission denied" "$WORK/ro.log"
else
	echo "# not root: the unwritable-state check needs setpriv as root"
fi

# A full disk (a 256 KiB tmpfs in a private mount namespace): the daemon's backup fails cleanly
# and leaves no partial file; a restore that does not fit leaves the database as it was.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	big=$WORK/big.db
	cp "$WORK/after.db" "$big"
	sqlite3 "$big" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
		INSERT INTO cdr (uniqueid, disposition, media) SELECT 'big' || i, 'ANSWERED', hex(randomblob(1000)) FROM n;
		PRAGMA journal_mode = DELETE;" >/dev/null
	mkdir -p "$WORK/full"
	unshare -m bash -c '
		set -u
		mount -t tmpfs -o size=256k tmpfs "$1/full" || exit 9
		cp "$1/mikaka.db" "$1/full/mikaka.db"
		before=$(sha256sum <"$1/full/mikaka.db")
		"$2" -d "$1/full/mikaka.db" --restore "$3" >"$1/full-restore.log" 2>&1; echo "restore_rc=$?"
		after=$(sha256sum <"$1/full/mikaka.db")
		[ "$before" = "$after" ] && echo db_unchanged=yes
		# The daemon itself on the full disk: its backup of a database that does not fit.
		"$2" -C "$4" -s "$1/full-ctl.sock" -d "$1/full/live.db" >"$1/full-daemon.log" 2>&1 &
		d=$!
		for i in $(seq 1 100); do "$5" -s "$1/full-ctl.sock" core show version >/dev/null 2>&1 && break; sleep 0.1; done
		dd if=/dev/zero of="$1/full/filler" bs=4k 2>/dev/null
		"$5" -s "$1/full-ctl.sock" backup "$1/full/b.db" >"$1/full-backup.log" 2>&1; echo "backup_rc=$?"
		ls "$1/full" | grep -q "^b.db" || echo no_partial=yes
		kill -TERM $d; wait $d
		# A daemon starting on the full disk with a new database.
		"$2" -C "$4" -s "$1/full-ctl2.sock" -d "$1/full/new.db" >"$1/full-start.log" 2>&1; echo "start_rc=$?"
	' _ "$WORK" "$MIKAKAD" "$big" "$CONF" "$MIKAKA" >"$WORK/full.out" 2>&1
	cat "$WORK/full.out" | sed 's/^/# /'
	check "full-disk-restore-fails" grep -q "restore_rc=74" "$WORK/full.out"
	check "full-disk-restore-says-why" grep -qi "full" "$WORK/full-restore.log"
	check "full-disk-restore-db-unchanged" grep -q "db_unchanged=yes" "$WORK/full.out"
	check "full-disk-backup-fails" grep -q "backup_rc=1" "$WORK/full.out"
	check "full-disk-backup-says-why" grep -qi "full" "$WORK/full-backup.log"
	check "full-disk-backup-no-partial-file" grep -q "no_partial=yes" "$WORK/full.out"
	check "full-disk-start-exit-74" grep -q "start_rc=74" "$WORK/full.out"
	check "full-disk-start-says-why" grep -qi "full" "$WORK/full-start.log"
else
	echo "# not root or no mount namespaces: the full-disk checks are skipped"
fi

# ---- journal priorities ------------------------------------------------------------------------
: >"$WORK/journal.log"
js=$(stat -c '%d:%i' "$WORK/journal.log")
JOURNAL_STREAM=$js "$MIKAKAD" -C "$WORK/no-such-conf" -d "$WORK/x.db" 2>>"$WORK/journal.log"
check "journal-error-prefix-3" grep -q "^<3>ERROR svc: configuration directory" "$WORK/journal.log"
: >"$WORK/journal2.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/journal2.log") "$MIKAKAD" -C "$WORK/badconf" -d "$WORK/x.db" 2>>"$WORK/journal2.log"
check "journal-config-error-prefix-3" grep -q "^<3>.*sip.conf:2: error:" "$WORK/journal2.log"
JOURNAL_STREAM=1:1 "$MIKAKAD" -C "$WORK/no-such-conf" -d "$WORK/x.db" 2>"$WORK/nojournal.log"
check "no-prefix-when-stderr-is-not-the-journal" grep -q "^ERROR svc:" "$WORK/nojournal.log"

# ---- container files (no registry here to pull debian:bookworm-slim: checked statically) ------
DF=$ROOT/Dockerfile
CY=$ROOT/compose.yaml
check "dockerfile-instructions-valid" test -z "$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$DF" |
	grep -v '^\s*#' | grep -v '^\s*$' | awk '{print toupper($1)}' |
	grep -vxE 'FROM|ARG|RUN|WORKDIR|COPY|USER|VOLUME|STOPSIGNAL|HEALTHCHECK|ENTRYPOINT|ENV|LABEL|EXPOSE|CMD')"
check "dockerfile-debian12-slim" test "$(grep -c '^FROM debian:bookworm-slim' "$DF")" = 2
check "dockerfile-installs-the-deb" grep -q 'apt-get install .*/tmp/deb/mikaka_\*.deb' "$DF"
check "dockerfile-healthcheck-version" test -n "$(grep -A1 '^HEALTHCHECK' "$DF" | grep '"core", "show", "version"')"
check "dockerfile-entrypoint-paths" test -n "$(grep -A1 '^ENTRYPOINT' "$DF" | tr -d '\n' | grep '"/usr/sbin/mikakad", "-C", "/etc/mikaka", "-s", "/run/mikaka/mikaka.ctl",.*"-d", "/var/lib/mikaka/mikaka.db"')"
# Every Build-Depends of debian/control is installed in the build stage.
for p in $(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$ROOT/debian/control" | sed 's/Build-Depends://; s/([^)]*)//g; s/,/ /g' | grep -v '^[A-Z]'); do
	[ "$p" = debhelper-compat ] && p=debhelper
	check "dockerfile-build-dep-$p" grep -q "\b$p\b" "$DF"
done
if python3 -c 'import yaml' 2>/dev/null; then
	check "compose-parses" python3 - "$CY" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]["mikaka"]
assert s["network_mode"] == "host"
vols = [v.split(":")[1] for v in s["volumes"]]
assert "/etc/mikaka" in vols and "/var/lib/mikaka" in vols, vols
assert s["healthcheck"]["test"][-3:] == ["core", "show", "version"]
assert set(v.split(":")[0] for v in s["volumes"]) <= set(c["volumes"])
PY
fi
check "compose-host-network" grep -q '^    network_mode: host' "$CY"
check "compose-config-volume" grep -q -- '- .*:/etc/mikaka$' "$CY"
check "compose-state-volume" grep -q -- '- .*:/var/lib/mikaka$' "$CY"
check "compose-healthcheck" grep -q 'test: \["CMD", "mikaka", .*"core", "show", "version"\]' "$CY"

# ---- make uninstall ---------------------------------------------------------------------------
make -C "$ROOT" -s uninstall DESTDIR="$DEST" >/dev/null 2>&1
check "uninstall-removes-programs" test ! -e "$DEST/usr/local/sbin/mikakad" -a ! -e "$DEST/usr/local/bin/mikaka" \
	-a ! -e "$DEST/usr/local/lib/systemd/system/mikaka.service" -a ! -e "$DEST/usr/local/share/man/man8/mikakad.8"
check "uninstall-keeps-config-and-state" test -f "$DEST/etc/mikaka/mikaka.conf" -a -d "$DEST/var/lib/mikaka"

finish
