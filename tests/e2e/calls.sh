#!/usr/bin/env bash
# calls.sh: calls through the B2BUA with the line and the phone on different loopback addresses:
# SIPp plays the carrier (127.0.0.32) and a phone (127.0.0.33); mikakad listens on every address.
# Checks the carrier's rules on the answer (NGN-NOTES §2.5), a call out to the line, refused
# attempts, the CLI and the call records.
. "$(dirname "$0")/lib.sh"

PORT=5180
CONF=$WORK/conf
mkdir -p "$CONF"
cat >"$CONF/sip.conf" <<EOT
[general]
udpbindaddr=0.0.0.0
bindport=$PORT
tcpenable=no
allowguest=no
context=public
realm=ntt-east.ne.jp
[line]
type=peer
host=127.0.0.32
port=5160
insecure=port,invite
context=from_line
fromuser=0312345678
fromdomain=ntt-east.ne.jp
qualify=no
[801]
type=friend
host=127.0.0.33
port=5161
context=from_phone
secret=pw801
[802]
type=friend
host=dynamic
context=from_phone
secret=pw802
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Dial(SIP/801,20)
 same => n,Hangup()
[from_phone]
exten => _0.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

start_daemon "$CONF" || { notok "daemon-start"; exit 1; }
ok "daemon-start"

sipp_bg() { # name scenario ip port [extra] : a SIPp in the background
	local name=$1 sf=$2 ip=$3 port=$4; shift 4
	timeout 40 sipp -sf "$E2E/sipp/$sf" -i "$ip" -p "$port" -m 1 -timeout 30s -timeout_error \
		-nostdin -trace_err -trace_msg -message_file "$WORK/sipp-$name.msg" -error_file "$WORK/sipp-$name.err" "$@" \
		>"$WORK/sipp-$name.log" 2>&1 &
	BG=$!
}
wait_ok() { # name pid
	if wait "$2"; then ok "$1"; else notok "$1"; tail -20 "$WORK/sipp-$1.err" 2>/dev/null; fi
}

# 1. The carrier calls in; phone 801 answers; the carrier hangs up.
sipp_bg phone-answer call-phone-uas.xml 127.0.0.33 5161; phone=$BG
sleep 0.3
sipp_bg carrier-in call-carrier-in.xml 127.0.0.32 5160 127.0.0.1:$PORT; carrier=$BG
wait_ok carrier-in "$carrier"
wait_ok phone-answer "$phone"
sleep 0.3
out=$("$MIKAKA" -s "$CTL" cdr show 5)
check "cdr-after-incoming" grep -q "ANSWERED" <<<"$out"
check "cdr-incoming-src-from-pai" grep -q "0901234567" <<<"$out"
out=$("$MIKAKA" -s "$CTL" core show channels)
check "no-leaked-channel" grep -q "^0 active channels" <<<"$out"

# 2. Phone 801 calls 0312345678: digest, then out through the line with the carrier's shape.
sipp_bg carrier-out call-carrier-uas.xml 127.0.0.32 5160; carrier=$BG
sleep 0.3
sipp_bg phone-out call-phone-out.xml 127.0.0.33 5161 127.0.0.1:$PORT; phone=$BG
wait_ok phone-out "$phone"
wait_ok carrier-out "$carrier"
sleep 0.3
out=$("$MIKAKA" -s "$CTL" cdr show 1)
check "cdr-after-outgoing" grep -q "0312345678 .*ANSWERED" <<<"$out"

# 3. An INVITE to the line side from a phone without credentials: challenged, never routed.
check "unauth-invite-challenged" timeout 20 sipp 127.0.0.1:$PORT -sf "$E2E/sipp/call-unauth.xml" \
	-i 127.0.0.34 -p 5062 -m 1 -timeout 10s -timeout_error -nostdin
check "refusal-logged" grep -q "refused INVITE from 127.0.0.34" "$DAEMON_LOG"

"$MIKAKA" -s "$CTL" cdr export --csv >"$WORK/cdr.csv"
check "cdr-export-csv" grep -q '"ANSWERED"' "$WORK/cdr.csv"
check "sigterm-clean-exit" stop_daemon
finish
