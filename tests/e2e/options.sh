#!/usr/bin/env bash
# options.sh: the daemon starts from sip.conf [general], answers SIPp's OPTIONS over UDP, TCP and
# IPv6, checks configurations with -t, answers the control socket, reloads on SIGHUP, and exits
# cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.11 PORT=5070
CONF=$WORK/conf
write_sipconf "$CONF" "$ADDR" "$PORT" tcp
echo "udpbindaddr=[::1]:$PORT" >>"$CONF/sip.conf"

# -t on a good and a bad configuration.
check "config-check-good" "$MIKAKAD" -C "$CONF" -t
BAD=$WORK/bad
mkdir -p "$BAD"
printf '[general]\nbindport=5060\nudpbindaddr=not-an-address\n' >"$BAD/sip.conf"
out=$("$MIKAKAD" -C "$BAD" -t 2>&1); rc=$?
check "config-check-bad-exits-1" test "$rc" = 1
check "config-check-bad-names-file-line" grep -q "sip.conf:3: error: .*not-an-address" <<<"$out"
printf '[general]\nudpbindaddr=127.0.0.1\n[broken\n' >"$BAD/sip.conf"
out=$("$MIKAKAD" -C "$BAD" -t 2>&1); rc=$?
check "config-check-syntax-error" test "$rc" = 1 -a -n "$(grep 'sip.conf:3' <<<"$out")"
out=$("$MIKAKAD" -C "$BAD" -s "$WORK/x.sock" 2>&1); rc=$?
check "daemon-refuses-bad-config" test "$rc" = 78

daemon_start "$CONF"

sipp_run() { # name transport target [extra]
	local name=$1 tp=$2 target=$3; shift 3
	if timeout -k 5 60 sipp "$target" -sf "$E2E/sipp/options.xml" -t "$tp" -m 50 -r 50 -l 10 \
		-timeout 30s -timeout_error -nostdin -trace_err -error_file "$WORK/sipp-$name.err" \
		"$@" >"$WORK/sipp-$name.log" 2>&1; then
		ok "$name"
	else
		notok "$name"; tail -20 "$WORK/sipp-$name.log" "$WORK/sipp-$name.err" 2>/dev/null
	fi
}
sipp_run options-udp u1 "$ADDR:$PORT" -i 127.0.0.1 -p 15070
sipp_run options-tcp t1 "$ADDR:$PORT" -i 127.0.0.1 -p 15071
sipp_run options-udp-ipv6 u1 "[::1]:$PORT" -i ::1 -p 15072

out=$("$MIKAKA" -s "$CTL" core show version)
check "cli-version" grep -q "^mikaka " <<<"$out"
"$MIKAKA" -s "$CTL" no such command >/dev/null 2>&1
check "cli-unknown-command-fails" test $? != 0
check "cli-help-lists-commands" grep -q "core show uptime" <<<"$("$MIKAKA" -s "$CTL" help)"

kill -HUP "$DAEMON_PID"
sleep 0.5
check "sighup-reload" grep -q "reload" "$DAEMON_LOG"
check "alive-after-sighup" daemon_alive
sipp_run options-after-reload u1 "$ADDR:$PORT" -i 127.0.0.1 -p 15073

check "sigterm-clean-exit" stop_daemon
finish
