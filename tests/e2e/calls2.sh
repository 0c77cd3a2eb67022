#!/usr/bin/env bash
# calls2.sh: call-engine cases calls.sh does not cover, on 127.0.0.40-49 only: the daemon on .40,
# the carrier SIPp on .41, registered phones 801 on .42 and 802 on .43. Dial() forking (the loser
# gets CANCEL with Reason: SIP;cause=200), CANCEL from the caller while ringing, a busy phone,
# a Dial timeout continuing the dialplan, PRACK of the carrier's reliable 183, session refreshes
# answered locally, session-timer expiry (about 60 s), and the call record surviving kill -9.
. "$(dirname "$0")/lib.sh"

D=127.0.0.40
CAR=127.0.0.41
P1=127.0.0.42
P2=127.0.0.43
PORT=5240
CONF=$WORK/conf
call_sipconf "$CONF" $D $PORT $CAR 5160
sip_phone "$CONF" 801 pw801 dynamic
sip_phone "$CONF" 802 pw802 dynamic call-limit=1
rtp_conf "$CONF" 52001 52199
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 1001,1,Dial(SIP/801&SIP/802,30)
 same => n,Hangup()
exten => 1002,1,Dial(SIP/801,30)
 same => n,Hangup()
exten => 1003,1,Dial(SIP/801,20)
 same => n,Hangup()
exten => 1005,1,Dial(SIP/801,20)
 same => n,Hangup()
exten => 1006,1,Dial(SIP/802,20)
 same => n,Hangup()
exten => 1004,1,Dial(SIP/801,2)
 same => n,Log(NOTICE,calls2-marker ${DIALSTATUS})
 same => n,Dial(SIP/802,20)
 same => n,Hangup()
[from_phone]
exten => 802,1,Dial(SIP/802,20)
 same => n,Hangup()
exten => _0.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

daemon_start "$CONF"

cdr_last() { cli cdr show 1; }

# 0. Both phones register (digest) so Dial(SIP/801) finds their Contact.
sipp_register 801 pw801 $P1 5161 $D:$PORT
sipp_register 802 pw802 $P2 5161 $D:$PORT
sleep 0.5 # a late 401 retransmission must not reach the phone SIPps below

# 1. Fork: Dial(SIP/801&SIP/802): 801 answers after ringing, 802 gets CANCEL with
# Reason: SIP;cause=200 and ends 487; the call record says ANSWERED.
sipp_bg fork-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sipp_bg fork-802 call2-phone-cancelled.xml $P2 5161 -s 802; p2=$BG
sleep 0.3
sipp_bg fork-carrier call2-carrier-in.xml $CAR 5160 -s 1001 $D:$PORT; car=$BG
wait_ok fork-carrier "$car"
wait_ok fork-801 "$p1"
wait_ok fork-802 "$p2"
check "fork-cancel-reason-cause-200" grep -q "^Reason: SIP;cause=200" "$WORK/sipp-fork-802.msg"
check "fork-no-leaked-channel" no_channels
out=$(cdr_last); echo "$out"
check "fork-cdr-answered" grep -q "ANSWERED" <<<"$out"

# 2. The caller CANCELs while 801 rings: 801 gets CANCEL, the caller 487; the record is not
# ANSWERED.
sipp_bg cancel-801 call2-phone-cancelled.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg cancel-carrier call2-carrier-cancel.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok cancel-carrier "$car"
wait_ok cancel-801 "$p1"
check "cancel-no-leaked-channel" no_channels
out=$(cdr_last); echo "$out"
check "cancel-cdr-no-answer" grep -q "NO ANSWER\|CANCEL" <<<"$out"

# 3a. Busy: 801 answers 486, the caller gets 486; the record says BUSY.
sipp_bg busy-801 call2-phone-busy.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg busy-carrier call2-carrier-fail.xml $CAR 5160 -s 1003 $D:$PORT; car=$BG
wait_ok busy-carrier "$car"
wait_ok busy-801 "$p1"
check "busy-no-leaked-channel" no_channels
out=$(cdr_last); echo "$out"
check "busy-cdr-busy" grep -q "BUSY" <<<"$out"

# 3b. Dial(SIP/801,2) times out: 801 gets CANCEL, DIALSTATUS is NOANSWER, the dialplan goes on
# and Dial(SIP/802) answers the carrier.
sipp_bg noans-801 call2-phone-cancelled.xml $P1 5161 -s 801; p1=$BG
sipp_bg noans-802 call2-phone-answer.xml $P2 5161 -s 802; p2=$BG
sleep 0.3
sipp_bg noans-carrier call2-carrier-in.xml $CAR 5160 -s 1004 $D:$PORT; car=$BG
wait_ok noans-carrier "$car"
wait_ok noans-801 "$p1"
wait_ok noans-802 "$p2"
check "noanswer-dialplan-continues" grep -q "calls2-marker NOANSWER" "$DAEMON_LOG"
check "noanswer-no-leaked-channel" no_channels

# 4. Out through the carrier, which sends a reliable 183 (Require: 100rel, RSeq 1): mikaka PRACKs
# it with RAck "1 <INVITE CSeq> INVITE", then the 200 completes.
sipp_bg prack-carrier call2-carrier-uas-prack.xml $CAR 5160; car=$BG
sleep 0.3
sipp_bg prack-801 call2-phone-out.xml $P1 5161 $D:$PORT; p1=$BG
wait_ok prack-801 "$p1"
wait_ok prack-carrier "$car"
check "prack-sent" grep -q "^PRACK sip:" "$WORK/sipp-prack-carrier.msg"
rack_ok() { local a b; read -r a b <"$WORK/prack.rack" && echo "INVITE CSeq $a, RAck 1 $b INVITE" && [ -n "$a" ] && [ "$a" = "$b" ]; }
check "prack-rack-names-the-183" rack_ok
check "prack-no-leaked-channel" no_channels
out=$(cdr_last); echo "$out"
check "prack-cdr-answered" grep -q "0312345678 .*ANSWERED" <<<"$out"

# 4a. Blind transfer: the carrier's call to 1005 is answered by 801, which REFERs it to 802:
# 202, NOTIFY 100 and 200 (sipfrag), BYE to 801; 802 rings and answers; the carrier's BYE
# reaches 802.
sipp_bg xfer-801 transfer-801.xml $P1 5161 -key target 802 -key server $D; p1=$BG
sipp_bg xfer-802 call2-phone-answer.xml $P2 5161 -s 802; p2=$BG
sleep 0.3
sipp_bg xfer-carrier transfer-carrier-in.xml $CAR 5160 -s 1005 $D:$PORT; car=$BG
wait_ok xfer-801 "$p1"
wait_ok xfer-802 "$p2"
wait_ok xfer-carrier "$car"
check "xfer-logged" grep -q "blind transfer of .* to 802@from_phone" "$DAEMON_LOG"
check "xfer-no-leaked-channel" no_channels
out=$(cdr_last); echo "$out"
check "xfer-cdr-answered-to-802" grep -q " 802 .*ANSWERED" <<<"$out"

# 4c. Call waiting: 801 (no call-limit) is in a call when a second call for it arrives: it rings
# and answers too. 802 has call-limit=1: the second call for it gets 486 (BUSY), never rings.
sipp_bg cw-801 call2-phone-answer.xml $P1 5161 -s 801 -m 2; p1=$BG
sleep 0.3
sipp_bg cw-carrier1 transfer-carrier-in.xml $CAR 5160 -s 1005 $D:$PORT; car=$BG
sleep 1.5
sipp_bg cw-carrier2 call2-carrier-in.xml $CAR 5170 -s 1005 $D:$PORT; car2=$BG
wait_ok cw-carrier2 "$car2"
wait_ok cw-carrier1 "$car"
wait_ok cw-801 "$p1"
n=$(grep -c "^INVITE sip:801@" "$WORK/sipp-cw-801.msg")
check "call-waiting-801-rang-twice" [ "$n" -eq 2 ]
check "cw-no-leaked-channel" no_channels
sipp_bg cl-802 call2-phone-answer.xml $P2 5161 -s 802 -m 2; p2=$BG
sleep 0.3
sipp_bg cl-carrier1 transfer-carrier-in.xml $CAR 5160 -s 1006 $D:$PORT; car=$BG
sleep 1.5
sipp_bg cl-carrier2 call2-carrier-fail.xml $CAR 5170 -s 1006 $D:$PORT; car2=$BG
wait_ok cl-carrier2 "$car2"
wait_ok cl-carrier1 "$car"
kill "$p2" 2>/dev/null; wait "$p2" 2>/dev/null
n=$(grep -c "^INVITE sip:802@" "$WORK/sipp-cl-802.msg")
check "call-limit-802-rang-once" [ "$n" -eq 1 ]
check "call-limit-busy-486" grep -q "^SIP/2.0 486" "$WORK/sipp-cl-carrier2.msg"
check "cl-no-leaked-channel" no_channels

# 4b. The carrier answers 422 (Min-SE: 3600): the INVITE goes again, same Call-ID and From tag,
# higher CSeq, Session-Expires >= 3600 (RFC 4028 §7.4), and the call completes.
sipp_bg se422-carrier call2-carrier-uas-422.xml $CAR 5160; car=$BG
sleep 0.3
sipp_bg se422-801 call2-phone-out.xml $P1 5161 $D:$PORT; p1=$BG
wait_ok se422-801 "$p1"
wait_ok se422-carrier "$car"
check "se422-no-leaked-channel" no_channels

# 5. Session refresh: the carrier sends an UPDATE, then a re-INVITE with the same SDP, 2 s apart;
# mikaka answers both itself with Session-Expires (checked by the carrier SIPp); the phone sees
# neither (its scenario would fail on any request but ACK and BYE).
sipp_bg refresh-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg refresh-carrier call2-carrier-refresh.xml $CAR 5160 -s 1003 $D:$PORT; car=$BG
wait_ok refresh-carrier "$car"
wait_ok refresh-801 "$p1"
check "refresh-not-forwarded" test "$(grep -c '^\(UPDATE\|INVITE\) sip' "$WORK/sipp-refresh-801.msg")" = 1
check "refresh-no-leaked-channel" no_channels

# 6. Session-timer expiry: the carrier (the refresher, Session-Expires 90, Min-SE 90, which
# mikaka's default min_se accepts) never refreshes; mikaka ends the call with BYE on both legs
# after 90 - 30 s.
STMO=90 sipp_bg expire-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
STMO=90 sipp_bg expire-carrier call2-carrier-expire.xml $CAR 5160 -s 1003 $D:$PORT; car=$BG
wait_ok expire-carrier "$car"
wait_ok expire-801 "$p1"
check "expire-logged" grep -q "session expired" "$DAEMON_LOG"
check "expire-no-leaked-channel" no_channels

# 7. kill -9 right after a call ended: after a restart the record is there.
sipp_bg crash-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg crash-carrier call2-carrier-in.xml $CAR 5160 -s 1003 $D:$PORT; car=$BG
wait_ok crash-carrier "$car"
wait_ok crash-801 "$p1"
before=$("$MIKAKA" -s "$CTL" cdr show 50 | grep -c "ANSWERED")
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
start_daemon "$CONF" || { notok "restart-after-kill9"; exit 1; }
ok "restart-after-kill9"
after=$("$MIKAKA" -s "$CTL" cdr show 50 | grep -c "ANSWERED")
echo "ANSWERED records before kill -9: $before, after: $after"
check "cdr-survives-kill9" test "$before" -ge 6 -a "$after" = "$before"

check "sigterm-clean-exit" stop_daemon
finish
