#!/usr/bin/env bash
# badinput.sh: nothing a peer sends may crash, hang or leak the daemon. Oversized and countless
# headers, NUL bytes, junk and keep-alives over UDP; pipelined, split, oversized, badly framed,
# truncated, stalled and silent TCP streams; a flood of connections that never send. Each case
# must get a 400 with a reason, a close or silence, and after each the daemon must still answer
# a valid OPTIONS over UDP within 2 s; at the end it must exit cleanly with no sanitizer report.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.0.14 PORT=5070
T=$ADDR:$PORT
AB=$TOOLS/sipabuse
CONF=$WORK/conf

# Run the daemon under the usual default soft limit on descriptors (1024), as it would run from
# a shell or most service managers, so that the flood meets its descriptor limit as well as its
# connection cap (BADINPUT_NOFILE overrides). The hard limit stays, so sipabuse can raise its
# own soft limit for the flood.
ulimit -Sn "${BADINPUT_NOFILE:-1024}" 2>/dev/null

write_sipconf "$CONF" "$ADDR" "$PORT" tcp
# Short TCP timeouts (mikaka.conf [sip]) so the idle and incomplete-message closes are seen here.
printf '[sip]\ntcp_idle_timeout=4\ntcp_frame_timeout=6\n' >"$CONF/mikaka.conf"
[ -x "$AB" ] || { notok "sipabuse-built ($AB missing)"; exit 1; }
daemon_start "$CONF"

# The open-file limit at start: soft raised to hard, and a hard limit below 65,536 raised to it
# where the process may (CAP_SYS_RESOURCE), else the log says why and what a deployment needs.
H0=$(ulimit -Hn)
lim=$(awk '/^Max open files/ {print $4 " " $5}' "/proc/$DAEMON_PID/limits")
soft=${lim% *} hard=${lim#* }
check fd-limit-soft-is-hard test "$soft" = "$hard"
if [ "$H0" != unlimited ] && [ "$H0" -lt 65536 ]; then
	if [ "$hard" = 65536 ]; then
		check fd-limit-hard-raised grep -q "hard limit raised from $H0 to 65536" "$DAEMON_LOG"
	else
		check fd-limit-hard-kept test "$hard" = "$H0"
		check fd-limit-hard-refusal-logged grep -q \
			"hard limit $H0 could not be raised to 65536 (needs CAP_SYS_RESOURCE" "$DAEMON_LOG"
	fi
fi

alive() { # alive NAME: the liveness probe that follows every case
	check "$1-then-udp-alive" "$AB" probe "$T" udp
}
case_() { # case_ NAME SUBCOMMAND ARGS...: one case and its liveness probe
	local name=$1; shift
	check "$name" "$AB" "$@"
	alive "$name"
}

check "baseline-udp" "$AB" probe "$T" udp
check "baseline-tcp" "$AB" probe "$T" tcp

# Half a message on a connection that then stays silent must be dropped by the daemon's
# incomplete-message timer (tcp_frame_timeout, 6 s here); it runs alongside the other cases.
"$AB" tcp-stall "$T" 20 >"$WORK/stall.out" 2>&1 &
STALL_PID=$!
PIDS+=("$STALL_PID")

# UDP
case_ udp-bigheader udp bigheader "$T"
case_ udp-10000-headers udp manyheaders "$T"
case_ udp-nul-startline udp nul-startline "$T"
case_ udp-nul-header-name udp nul-hdrname "$T"
case_ udp-nul-header-value udp nul-value "$T"
case_ udp-binary-junk udp junk "$T"
case_ udp-empty-datagram udp empty "$T"
case_ udp-crlf-keepalive udp crlf "$T"

# TCP
case_ tcp-5-in-one-write tcp-pipeline "$T" 5
case_ tcp-split-writes tcp-split "$T"
case_ tcp-header-over-64k-closed tcp-bighdr "$T"
case_ tcp-bad-content-length-400-closed tcp-badclen "$T"
case_ tcp-content-length-over-64k-closed tcp-hugeclen "$T"
case_ tcp-binary-junk-closed tcp-junk "$T"
case_ tcp-nul-header-name tcp-nul "$T"
case_ tcp-truncated-streams tcp-truncated "$T"
# A silent connection does not stop the daemon from answering others, and is closed by the
# idle timeout (tcp_idle_timeout, 4 s here).
"$AB" tcp-idle "$T" 7 >"$WORK/idle.out" 2>&1; rc=$?
cat "$WORK/idle.out"
check "tcp-silent-peer-others-answered" test $rc = 0
check "tcp-silent-peer-closed-by-idle-timeout" grep -q "closed by the server" "$WORK/idle.out"
alive "tcp-silent-peer"

# 2,000 connections that never send, from one process. Held open, UDP must still be answered
# and a new TCP client must get 200 or be refused at once (a connection cap); one left waiting
# in the listen backlog is a hang. Once they close, TCP must work again. The log must not run
# away meanwhile.
lines_before=$(wc -l <"$DAEMON_LOG")
"$AB" flood "$T" 2000 >"$WORK/flood.out" 2>&1
sed 's/^flood-result/# flood-result/' "$WORK/flood.out"
res=$(grep '^flood-result ' "$WORK/flood.out")
flood_part() { grep -q " $1=$2\b" <<<"$res"; }
flood_tcp_not_hung() { [ -n "$res" ] && ! flood_part tcp-during hang; }
check "tcp-flood-2000-established" flood_part established ok
check "tcp-flood-udp-answered" flood_part udp-during ok
check "tcp-flood-new-tcp-answered-or-refused" flood_tcp_not_hung
grep -q ' tcp-during=refused' <<<"$res" && echo "# note: new TCP connections refused during the flood"
check "tcp-flood-tcp-answered-after" flood_part tcp-after ok
check "tcp-flood-udp-answered-after" flood_part udp-after ok
lines_after=$(wc -l <"$DAEMON_LOG")
echo "# daemon log grew by $((lines_after - lines_before)) lines during the flood"
check "tcp-flood-no-log-storm" test $((lines_after - lines_before)) -lt 2000
alive "tcp-flood"

# The stalled connection's verdict.
wait "$STALL_PID"; rc=$?
cat "$WORK/stall.out"
check "tcp-stalled-half-message-closed" test "$rc" = 0
alive "tcp-stalled-half-message-closed"

check "daemon-alive-at-end" daemon_alive
check "sigterm-clean-exit" stop_daemon
finish
