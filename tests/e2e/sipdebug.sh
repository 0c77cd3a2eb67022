#!/usr/bin/env bash
# sipdebug.sh: Asterisk's `sip set debug` and `core set debug`. SIPp sends OPTIONS from two
# addresses (127.0.8.71 and .72) and registers phone 801 from .73: with `sip set debug ip` only
# the one address's messages are logged (both ways, Asterisk's "<--- SIP read from" and
# "<--- Transmitting to" framing), with `peer 801` only the phone's (found by its registration),
# with `on` everything, with `off` nothing; `sip show settings` says which; an SDES key in a
# body is never written (inline:<hidden>); `core set debug on|off` turns the debug lines on and
# off; `sip reload` and `dialplan reload` reload as `reload` does.
. "$(dirname "$0")/lib.sh"

D=127.0.8.70
A=127.0.8.71
B=127.0.8.72
P=127.0.8.73
CONF=$WORK/conf
write_sipconf "$CONF" $D 5060
sip_phone "$CONF" 801 pw801 dynamic
printf '[from_phone]\nexten => _X.,1,Hangup()\n' >"$CONF/extensions.conf"
daemon_start "$CONF"

opt() { # opt NAME FROM_ADDR [scenario]
	sipp_bg "$1" "${3:-options.xml}" "$2" 5170 $D:5060
	wait_ok "$1" "$BG"
}
# reads: how many messages from ADDR the log shows read, sent: how many to it.
reads() { grep -c "sip: <--- SIP read from UDP:$1:" "$DAEMON_LOG"; }
sent() { grep -c "sip: <--- Transmitting to UDP:$1:" "$DAEMON_LOG"; }

opt options-before $A
check "off-by-default" test "$(reads $A)" = 0

check "debug-ip-reply" grep -qx "SIP Debugging Enabled for IP: $A" <<<"$(cli sip set debug ip $A)"
check "settings-say-ip" grep -q "SIP Debugging: *Enabled for IP $A" <<<"$(cli sip show settings)"
opt options-a $A
opt options-b $B
check "ip-read-logged" test "$(reads $A)" = 1
check "ip-reply-logged" test "$(sent $A)" = 1
check "ip-message-whole" grep -q "sip: OPTIONS sip:$D:5060 SIP/2.0$" "$DAEMON_LOG"
check "ip-message-end" grep -q "sip: <------------->$" "$DAEMON_LOG"
check "ip-other-not-logged" test "$(reads $B)" = 0

check "debug-peer-reply" grep -q "SIP Debugging Enabled for peer 801" <<<"$(cli sip set debug peer 801)"
check "debug-peer-unknown" bash -c '! "$1" -s "$2" sip set debug peer nosuch' _ "$MIKAKA" "$CTL"
# The first REGISTER comes before the peer is anywhere: its refresh is logged.
sipp_register 801 pw801 $P 5171 $D:5060
n=$(reads $P)
sipp_register 801 pw801 $P 5171 $D:5060
check "peer-register-logged" test "$(reads $P)" -ge $((n + 2))
check "peer-401-and-200-logged" test "$(sent $P)" -ge 2
opt options-b2 $B
check "peer-other-not-logged" test "$(reads $B)" = 0

check "debug-on-reply" grep -qx "SIP Debugging enabled" <<<"$(cli sip set debug on)"
opt options-b3 $B
check "on-logs-all" test "$(reads $B)" = 1
opt options-crypto $A dbg-options-crypto.xml
check "crypto-line-logged" grep -q "sip: a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<hidden>|2^20|1:4" "$DAEMON_LOG"
check "key-never-logged" bash -c '! grep -q "c2VjcmV0\|b3RoZXJv" "$1"' _ "$DAEMON_LOG"

check "debug-off-reply" grep -qx "SIP Debugging Disabled" <<<"$(cli sip set debug off)"
check "settings-say-disabled" grep -q "SIP Debugging: *Disabled" <<<"$(cli sip show settings)"
n=$(reads $B)
opt options-b4 $B
check "off-logs-nothing" test "$(reads $B)" = "$n"
check "bad-usage-refused" bash -c '! "$1" -s "$2" sip set debug sideways' _ "$MIKAKA" "$CTL"

check "core-debug-on" grep -q "Core debug is now on" <<<"$(cli core set debug on)"
# A datagram that does not parse is logged at debug level.
junk() { printf 'junk\r\n\r\n' >/dev/udp/$D/5060; sleep 0.5; }
junk
nd=$(grep -c '^DEBUG .*dropped' "$DAEMON_LOG")
check "debug-lines-appear" test "$nd" -gt 0
check "core-debug-off" grep -q "Core debug is now OFF" <<<"$(cli core set debug off)"
junk
check "debug-lines-stop" test "$(grep -c '^DEBUG .*dropped' "$DAEMON_LOG")" = "$nd"

check "sip-reload" grep -qi "reload" <<<"$(cli sip reload 2>&1)"
check "dialplan-reload" grep -qi "reload" <<<"$(cli dialplan reload 2>&1)"
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
