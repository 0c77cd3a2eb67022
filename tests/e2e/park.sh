#!/usr/bin/env bash
# park.sh: call parking as Asterisk does it, on 127.0.10.1-4 only. The carrier (SIPp, .2) calls
# phone 801 (SIPp, .3), which parks the call with a blind transfer to 700 (REFER): the call waits
# in space 701 (`parkedcalls show`, PARKINGSLOT) until phone 802 (SIPp, .4, digest) dials 701
# and is joined to it; the carrier's BYE then reaches 802. A second call parked and not taken
# rings 801 again when its parkingtime (3 s here) is up (comebacktoorigin), and 801 talks to the
# carrier until its BYE. The parking lot comes from features.conf; extensions.conf only
# includes `parkedcalls`. A call to an empty space gets 404.
. "$(dirname "$0")/lib.sh"

D=127.0.10.1
CAR=127.0.10.2
P1=127.0.10.3
P2=127.0.10.4
PORT=5060
CONF=$WORK/conf
call_sipconf "$CONF" $D $PORT $CAR 5160
sip_phone "$CONF" 801 pw801 $P1:5161
sip_phone "$CONF" 802 pw802 $P2:5161
rtp_conf "$CONF" 53001 53199
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 1005,1,Dial(SIP/801,20)
 same => n,Hangup()
[from_phone]
include => parkedcalls
exten => _0.,1,Hangup()
EOT
printf '[general]\nparkext => 700\nparkpos => 701-705\nparkingtime => 3\n' >"$CONF/features.conf"

check "config-check-ok" "$MIKAKAD" -C "$CONF" -t
check "config-check-no-unreachable" bash -c '! "$1" -C "$2" -t 2>&1 | grep -q unreachable' _ "$MIKAKAD" "$CONF"
daemon_start "$CONF"
check "dialplan-shows-parkedcalls" grep -q "'701' =>" <<<"$(cli dialplan show parkedcalls)"

# 1. Parked by 801, taken by 802.
sipp_bg park-801 transfer-801.xml $P1 5161 -key target 700 -key server $D; p1=$BG
sleep 0.3
sipp_bg park-car park-carrier-in.xml $CAR 5160 -s 1005 -d 5000 $D:$PORT; car=$BG
wait_ok "parker-801-transferred" "$p1" park-801
sleep 0.5
out=$(cli parkedcalls show); echo "$out"
check "parked-on-701" grep -q "^701 .*SIP/line-.* 801 " <<<"$out"
check "parked-count" grep -q "^1 parked call$" <<<"$out"
check "parked-logged" grep -q "parked on 701 for 3 s by 801" "$DAEMON_LOG"
sipp_bg take-802 park-phone-take.xml $P2 5161 -s 701 $D:$PORT; p2=$BG
wait_ok "carrier-bye-after-take" "$car" park-car
wait_ok "802-took-it-and-got-bye" "$p2" take-802
check "taken-logged" grep -q "takes SIP/line-.* from parking space 701" "$DAEMON_LOG"
check "no-parked-left" grep -q "^0 parked calls$" <<<"$(cli parking show)"
check "taker-200-has-sdp" grep -q "^m=audio" "$WORK/sipp-take-802.msg"
check "no-leaked-channel" no_channels

# 2. An empty space: 404.
sipp_bg empty-802 park-phone-take.xml $P2 5161 -s 703 $D:$PORT; p2=$BG
wait "$p2" 2>/dev/null
check "empty-space-404" grep -q "^SIP/2.0 404 " "$WORK/sipp-empty-802.msg"

# 3. Not taken: after parkingtime the parker (801) is called back and talks to the carrier.
sipp_bg park2-801 transfer-801.xml $P1 5161 -key target 700 -key server $D; p1=$BG
sleep 0.3
sipp_bg park2-car park-carrier-in.xml $CAR 5160 -s 1005 -d 8000 $D:$PORT; car=$BG
wait_ok "parker-801-transferred-again" "$p1" park2-801
sipp_bg back-801 call2-phone-answer.xml $P1 5161; p1=$BG
wait_ok "801-called-back-and-got-bye" "$p1" back-801
wait_ok "carrier-bye-after-callback" "$car" park2-car
check "timeout-logged" grep -q "parked on 701: time is up; calling back 801" "$DAEMON_LOG"
check "callback-invite-to-801" grep -q "^INVITE sip:801@" "$WORK/sipp-back-801.msg"
check "no-leaked-channel-2" no_channels
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
