# lib.sh: shared helpers for the end-to-end scripts (sourced). Each script starts its own daemon on
# loopback addresses, prints "ok NAME" / "not ok NAME" per check, and stops what it started by PID.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIKAKAD=${MIKAKAD:-$ROOT/build/check/mikakad}
MIKAKA=${MIKAKA:-$ROOT/build/check/mikaka}
TOOLS=${TOOLS:-$ROOT/build/check/tools}
CORPORA=${MIKAKA_CORPORA:-$ROOT/tests/corpora}
E2E=$ROOT/tests/e2e
WORK=$(mktemp -d /tmp/mikaka-e2e.XXXXXX)
DAEMON_PID=
PIDS=()
FAILS=0

ok() { echo "ok $*"; }
notok() { echo "not ok $*"; FAILS=$((FAILS + 1)); }
check() { # check NAME COMMAND...: ok when the command succeeds
	local name=$1; shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	wait 2>/dev/null
	if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# start_daemon CONFDIR [extra args]: starts mikakad, waits until its control socket answers.
start_daemon() {
	local conf=$1; shift
	CTL=$WORK/ctl.sock
	DAEMON_LOG=$WORK/mikakad.log
	"$MIKAKAD" -C "$conf" -s "$CTL" -d "$WORK/mikaka.db" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		if "$MIKAKA" -s "$CTL" core show version >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "daemon did not start; log:"; cat "$DAEMON_LOG"
	return 1
}

# stop_daemon: SIGTERM, wait up to 10 s; fails unless it exits 0 with no sanitizer report.
stop_daemon() {
	local rc i
	[ -n "$DAEMON_PID" ] || return 1
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		echo "daemon did not stop on SIGTERM"; kill -KILL "$DAEMON_PID"; DAEMON_PID=; return 1
	fi
	wait "$DAEMON_PID"; rc=$?
	DAEMON_PID=
	if grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error:' "$DAEMON_LOG"; then
		echo "sanitizer report in $DAEMON_LOG:"; grep -A20 'Sanitizer\|runtime error' "$DAEMON_LOG" | head -60
		return 1
	fi
	[ $rc = 0 ] || { echo "daemon exit status $rc"; tail -20 "$DAEMON_LOG"; }
	return $rc
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# write_sipconf DIR ADDR PORT [tcp]: a minimal sip.conf listening on ADDR:PORT.
write_sipconf() {
	mkdir -p "$1"
	{
		echo "[general]"
		echo "udpbindaddr=$2"
		echo "bindport=$3"
		if [ "${4:-}" = tcp ]; then echo "tcpenable=yes"; echo "tcpbindaddr=$2"; else echo "tcpenable=no"; fi
	} >"$1/sip.conf"
}

finish() {
	[ "$FAILS" = 0 ]
}
