#!/usr/bin/env bash
# sipheader.sh: SIPAddHeader(), SIPRemoveHeader() and ALERT_INFO (chan_sip's ways of adding
# headers to a Dial()'s INVITE, e.g. auto-answer for an intercom): SIPp plays the NGN
# (127.0.8.52) calling an extension that adds headers and Dial()s phone 801 (a SIPp phone at a
# fixed host, 127.0.8.53, that answers 486); the phone's INVITE carries the added headers once
# each, not the removed one, not the one that would have forged a Via; `mikakad -t` accepts it.
. "$(dirname "$0")/lib.sh"

D=127.0.8.51
CAR=127.0.8.52
PH=127.0.8.53
CONF=$WORK/conf

call_sipconf "$CONF" $D 5060 $CAR 5160
sip_phone "$CONF" 801 pw801 $PH:5161
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 200,1,SIPAddHeader(Call-Info: <sip:127.0.8.51>\;answer-after=0)
 same => n,SIPAddHeader(X-Test: one)
 same => n,SIPAddHeader(X-Gone: two)
 same => n,SIPAddHeader(X-Gone-Too: three)
 same => n,SIPRemoveHeader(X-Gone)
 same => n,SIPAddHeader(Via: SIP/2.0/UDP 192.0.2.66)
 same => n,SIPAddHeader(no colon here)
 same => n,Set(ALERT_INFO=<http://127.0.0.1/ring.wav>\;info=alert-autoanswer)
 same => n,Dial(SIP/801,5)
 same => n,Hangup()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

check "config-check-ok" "$MIKAKAD" -C "$CONF" -t
daemon_start "$CONF"
sipp_bg phone call2-phone-busy.xml $PH 5161
PHONE=$BG
sipp_bg carrier db-carrier-in.xml $CAR 5160 $D:5060 -s 200
wait_ok "carrier-call-done" "$BG" carrier
wait_ok "phone-got-invite" "$PHONE" phone
inv=$(awk '/^INVITE /{p=1} p&&/^$/{exit} p' "$WORK/sipp-phone.msg" | tr -d '\r')
echo "$inv" | sed 's/^/# /'
check "call-info-added" grep -qx "Call-Info: <sip:127.0.8.51>;answer-after=0" <<<"$inv"
check "x-test-added" grep -qx "X-Test: one" <<<"$inv"
check "alert-info-from-variable" grep -qx "Alert-Info: <http://127.0.0.1/ring.wav>;info=alert-autoanswer" <<<"$inv"
check "removed-by-prefix" bash -c '! grep -q "^X-Gone" <<<"$1"' _ "$inv"
check "own-header-refused" test "$(grep -c '^Via:' <<<"$inv")" = 1
check "each-once" test "$(grep -c '^X-Test:' <<<"$inv")" = 1
check "carrier-got-busy" grep -q "^SIP/2.0 486 " "$WORK/sipp-carrier.msg"
check "refusals-logged" grep -q "SIPAddHeader(Via: .*writes that header itself" "$DAEMON_LOG"
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
