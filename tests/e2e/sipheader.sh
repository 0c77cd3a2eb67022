#!/usr/bin/env bash
# sipheader.sh: SIPAddHeader(), SIPRemoveHeader() and ALERT_INFO (chan_sip's ways of adding
# headers to a Dial()'s INVITE, e.g. auto-answer for an intercom): SIPp plays the NGN
# (127.0.8.52) calling an extension that adds headers and Dial()s phone 801 (a SIPp phone at a
# fixed host, 127.0.8.53, that answers 486); the phone's INVITE carries the added headers once
# each, not the removed one, not the one that would have forged a Via; chan_pjsip's
# Set(PJSIP_HEADER(add|update|remove,...)) does the same. A second call answered by the dialplan
# reads the carrier's own headers with SIP_HEADER() and PJSIP_HEADER(read,...) after its ACK, and
# keeps what it read in the database; `mikakad -t` accepts it.
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
 same => n,Set(PJSIP_HEADER(add,X-Pj)=added)
 same => n,Set(PJSIP_HEADER(add,X-Pj-Up)=old)
 same => n,Set(PJSIP_HEADER(update,X-Pj-Up)=new)
 same => n,Set(PJSIP_HEADER(add,X-Pj-Gone)=x)
 same => n,Set(PJSIP_HEADER(remove,X-Pj-Gone)=)
 same => n,Dial(SIP/801,5)
 same => n,Hangup()
exten => 300,1,Answer()
 same => n,Wait(1)
 same => n,Set(DB(hdr/info1)=${SIP_HEADER(X-Ngn-Info)})
 same => n,Set(DB(hdr/info2)=${SIP_HEADER(x-ngn-info,2)})
 same => n,Set(DB(hdr/info3)=[${SIP_HEADER(X-Ngn-Info,3)}])
 same => n,Set(DB(hdr/all)=${PJSIP_HEADER(read,X-Ngn-Info,*)})
 same => n,Set(DB(hdr/pai)=${PJSIP_HEADER(read,P-Asserted-Identity)})
 same => n,Set(DB(hdr/to)=${SIP_HEADER(To)})
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
check "pjsip-add" grep -qx "X-Pj: added" <<<"$inv"
check "pjsip-update" bash -c 'grep -qx "X-Pj-Up: new" <<<"$1" && ! grep -q "X-Pj-Up: old" <<<"$1"' _ "$inv"
check "pjsip-remove" bash -c '! grep -q "^X-Pj-Gone" <<<"$1"' _ "$inv"
check "refusals-logged" grep -q "SIPAddHeader(Via: .*writes that header itself" "$DAEMON_LOG"

# The carrier's headers, read after the call was answered and ACKed.
sipp_bg carrier2 hdr-carrier-in.xml $CAR 5162 $D:5060 -s 300
wait_ok "answered-call-done" "$BG" carrier2
dbv() { cli database get hdr "$1" | sed -n 's/^Value: //p'; }
check "sip-header-first" test "$(dbv info1)" = "first"
check "sip-header-second-any-case" test "$(dbv info2)" = "second, with a comma"
check "sip-header-none-third" test "$(dbv info3)" = "[]"
check "pjsip-header-all" test "$(dbv all)" = "first,second, with a comma"
check "pjsip-header-read" test "$(dbv pai)" = "<tel:0399998888>"
check "sip-header-compact-form" test "$(dbv to)" = "<sip:300@ntt-east.ne.jp>"
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
