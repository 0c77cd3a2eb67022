#!/usr/bin/env bash
# tollfraud.sh: nothing reaches the carrier unless a phone proved who it is and its context
# allows the number. 127.0.0.70-79 only: the line as discovered (a lease file: our line-side
# address .70, the carrier's server .71, number 0312345678), the daemon's phone side .72, the
# carrier SIPp on .71:5060 (it answers the line's REGISTER and any INVITE; its message trace is
# where INVITEs are counted), callers on .73-.77. Refused: an INVITE without credentials (401),
# a wrong password (403, logged with the source address and reason), an INVITE on the line
# side from an address that is not the server (403), a phone whose context has no way out, and
# the sample dialplan's international (010...) and premium-rate (0990...) prefixes. Then the
# same phone with the right password calling 0312345678 does reach the carrier.
. "$(dirname "$0")/lib.sh"

DL=127.0.0.70 # the daemon, line side (the lease's address)
CAR=127.0.0.71
DP=127.0.0.72 # the daemon, phone side
PH=127.0.0.73
BADPW=127.0.0.74
FAKE=127.0.0.75
P803=127.0.0.76
P801B=127.0.0.77
NUM=0312345678
CONF=$WORK/conf
mkdir -p "$CONF"
cat >"$WORK/line.lease" <<EOT
lease {
  interface "tf0";
  fixed-address $DL;
  option subnet-mask 255.0.0.0;
  option dhcp-lease-time 86400;
  option dhcp-server-identifier $CAR;
  option ip-sip-servers true $CAR;
  option ntt.number "$NUM";
  option ntt.domain "ntt-east.ne.jp.";
  expire 3 2099/02/24 12:00:00;
}
EOT
printf '[line]\ninterface = tf0\nlease_file = %s\n' "$WORK/line.lease" >"$CONF/mikaka.conf"
# sip.conf and extensions.conf as the native form (src/cfg/cfg.c, native_files()) writes them
# for etc/native/mikaka.conf with this line, plus phone 803 whose context has no way out and
# the two addresses to listen on.
cat >"$CONF/sip.conf" <<EOT
[general]
udpbindaddr=$DL
udpbindaddr=$DP
bindport=5060
tcpenable=no
context=from_line
allowguest=no
alwaysauthreject=yes
[phone](!)
type=friend
host=dynamic
context=from_phone
dtmfmode=rfc2833
nat=force_rport,comedia
qualify=no
disallow=all
allow=ulaw,alaw
[801](phone)
secret=pw801
callerid="801" <801>
[802](phone)
secret=pw802
callerid="802" <802>
[803](phone)
secret=pw803
context=internal
[line]
type=peer
host=$CAR
port=5060
context=from_line
insecure=port,invite
qualify=no
dtmfmode=inband
disallow=all
allow=ulaw
directmedia=no
EOT
cat >"$CONF/extensions.conf" <<EOT
[from_phone]
exten => 801,1,Dial(SIP/801,30)
 same => n,Hangup()
exten => 802,1,Dial(SIP/802,30)
 same => n,Hangup()
exten => _010.,1,Log(WARNING,international call to \${EXTEN} refused)
 same => n,Congestion()
exten => _0570.,1,Log(WARNING,premium-rate call to \${EXTEN} refused)
 same => n,Congestion()
exten => _0990.,1,Log(WARNING,premium-rate call to \${EXTEN} refused)
 same => n,Congestion()
exten => _0180.,1,Log(WARNING,premium-rate call to \${EXTEN} refused)
 same => n,Congestion()
exten => _0.,1,Set(CALLERID(num)=$NUM)
 same => n,Dial(SIP/line/\${EXTEN})
 same => n,Hangup()
exten => _1XX,1,Set(CALLERID(num)=$NUM)
 same => n,Dial(SIP/line/\${EXTEN})
 same => n,Hangup()
exten => _18[46]X.,1,Set(CALLERID(num)=$NUM)
 same => n,Dial(SIP/line/\${EXTEN})
 same => n,Hangup()
[from_line]
exten => _X.,1,Dial(SIP/801&SIP/802,60)
 same => n,Hangup()
[internal]
exten => _8XX,1,Dial(SIP/\${EXTEN},20)
 same => n,Hangup()
EOT
rtp_conf "$CONF" 52800 52998

daemon_start "$CONF"

# The carrier: one SIPp for the whole test, stopped by PID at the end.
timeout -k 5 85 sipp -sf "$E2E/sipp/tf-carrier-uas.xml" -i $CAR -p 5060 -nostdin -timeout 80s \
	-trace_msg -message_file "$WORK/carrier.msg" -trace_err -error_file "$WORK/carrier.err" \
	>"$WORK/carrier.log" 2>&1 &
CARRIER_PID=$!
PIDS+=("$CARRIER_PID")
sleep 0.5

invites() { grep -c '^INVITE sip' "$WORK/carrier.msg" 2>/dev/null || true; }
# attempt NAME SCENARIO LOCALIP DEST USER PASSWORD NUMBER: one call; prints the final code
attempt() {
	local name=$1 sf=$2 ip=$3 dest=$4 user=$5 pw=$6 num=$7
	csv "$WORK/$name.csv" "$user" "$pw"
	rm -f "$WORK/$num-$user.code"
	timeout -k 5 25 sipp -sf "$E2E/sipp/$sf" -i "$ip" -p 5061 -m 1 -s "$num" -nostdin \
		-timeout 15s -timeout_error -inf "$WORK/$name.csv" -key workdir "$WORK" \
		-trace_msg -message_file "$WORK/sipp-$name.msg" -trace_err \
		-error_file "$WORK/sipp-$name.err" "$dest" >"$WORK/sipp-$name.log" 2>&1
	cat "$WORK/$num-$user.code" 2>/dev/null || echo none
}
# refused NAME EXPECTED_CODES CODE: the attempt got one of the codes and the carrier saw nothing
refused() {
	local name=$1 want=$2 code=$3
	echo "# $name: final response $code, carrier INVITEs so far $(invites)"
	check "$name-refused-$code" grep -qw -- "$code" <<<"$want"
	sleep 0.3
	check "$name-carrier-saw-no-invite" test "$(invites)" = 0
}

# 1. An INVITE to the line's number prefix without credentials: challenged, never routed.
code=$(attempt unauth tf-invite-refused.xml $PH $DP:5060 801 - $NUM)
refused unauth "401 407" "$code"
check "unauth-logged" grep -q "refused INVITE from $PH:5061 (801 -> $NUM): no credentials" "$DAEMON_LOG"

# 2. The right user with a wrong password: 403 after the challenge, logged with source and reason.
code=$(attempt wrongpw tf-phone-call.xml $BADPW $DP:5060 801 not-the-password $NUM)
refused wrong-password "403" "$code"
check "wrong-password-logged" grep -q "refused INVITE from $BADPW:5061 (801 -> $NUM): wrong user or password" "$DAEMON_LOG"

# 3. An INVITE on the line-side address from an address that is not the line's server: 403.
code=$(attempt fakeline tf-invite-refused.xml $FAKE $DL:5060 0901234567 - $NUM)
refused line-side-not-server "403" "$code"
check "line-side-not-server-logged" grep -q "refused INVITE from $FAKE:5061 .*line side from a non-server address" "$DAEMON_LOG"

# 4. Phone 803 authenticates, but its context has no route out: refused locally.
code=$(attempt ctx803 tf-phone-call.xml $P803 $DP:5060 803 pw803 $NUM)
refused context-without-line "403 404 480 484 503 603" "$code"
check "context-without-line-logged" grep -q "refused call from $P803:5061 (803 -> $NUM@" "$DAEMON_LOG"

# 5. The sample dialplan refuses international and premium-rate prefixes (Congestion).
code=$(attempt intl tf-phone-call.xml $P801B $DP:5060 801 pw801 0101234567890)
refused international-010 "403 404 480 486 503 603" "$code"
check "international-logged" grep -q "international call to 0101234567890 refused" "$DAEMON_LOG"
code=$(attempt premium tf-phone-call.xml $P801B $DP:5060 801 pw801 0990123456)
refused premium-0990 "403 404 480 486 503 603" "$code"
check "premium-logged" grep -q "premium-rate call to 0990123456 refused" "$DAEMON_LOG"
check "premium-logged-with-source" grep -q "refused call from $P801B:5061 (.* -> 0990123456@" "$DAEMON_LOG"

# 6. Positive control: the same phone with its password calling 0312345678 reaches the carrier
# (so the carrier would have seen any of the above), with the line's number in From.
code=$(attempt good tf-phone-call.xml $PH $DP:5060 801 pw801 $NUM)
echo "# good: final response $code, carrier INVITEs $(invites)"
check "right-password-answered" test "$code" = 200
sleep 0.3
check "right-password-reaches-carrier" test "$(invites)" = 1
check "carrier-request-uri" grep -q "^INVITE sip:$NUM@$CAR:5060 SIP/2.0" "$WORK/carrier.msg"
check "carrier-from-line-number" grep -q "^From: <sip:$NUM@ntt-east.ne.jp>" "$WORK/carrier.msg"
check "no-leaked-call" no_channels
kill "$CARRIER_PID" 2>/dev/null; wait "$CARRIER_PID" 2>/dev/null
check "sigterm-clean-exit" stop_daemon
finish
