#!/usr/bin/env bash
# callbad.sh: bad input to the call engine, on 127.0.0.60-69 only: the daemon on .60, the carrier
# SIPp on .61, phone 801 registered from .62, user "many" with 50 contacts registered from .63,
# strangers on .64/.65. Out-of-order CSeq (500), a retransmitted INVITE (one call), a duplicated
# 200 OK (ACKed twice), ACK without INVITE (nothing), BYE for no dialog (481), PRACK with a
# wrong RAck (481), UPDATE while our offer is unanswered (491), 200 OK crossing CANCEL (ACK +
# BYE; the caller 487), 50 forks answering at once (one wins, the rest ACK + BYE), a 64 KB SDP
# (413). After each: no call left, the daemon alive, the call record written where a call was.
. "$(dirname "$0")/lib.sh"

D=127.0.0.60
CAR=127.0.0.61
P1=127.0.0.62
PM=127.0.0.63
X1=127.0.0.64
X2=127.0.0.65
PORT=5260
NFORK=50
CONF=$WORK/conf
call_sipconf "$CONF" $D $PORT $CAR 5160
sip_phone "$CONF" 801 pw801 dynamic qualify=no
sip_phone "$CONF" many pwmany dynamic qualify=no
printf '[registrar]\nmax_contacts = 60\n' >"$CONF/mikaka.conf"
rtp_conf "$CONF" 52400 52798
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 1002,1,Dial(SIP/801,20)
 same => n,Hangup()
exten => 1050,1,Dial(SIP/many,20)
 same => n,Hangup()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

daemon_start "$CONF"
SIPP_TIMEOUT=20

ncdr() { cli cdr show 1000 | grep -c "SIP/"; }
after() { # after NAME CDRS_BEFORE CDRS_EXPECTED_NEW: the checks every case ends with
	check "$1-no-leaked-call" no_channels
	check "$1-daemon-alive" daemon_alive
	local now
	now=$(ncdr)
	check "$1-cdr-written" test "$now" = $(($2 + $3))
}
count() { grep -c "$1" "$2" 2>/dev/null || true; } # count REGEX FILE (0 when none)

# 0. Registrations: 801 (one contact) and "many" (50 contacts, one per call of the scenario).
sipp_register 801 pw801 $P1 5161 $D:$PORT
csv "$WORK/many.csv" many pwmany
SM=$NFORK sipp_bg reg-many bad-reg-many.xml $PM 5171 -inf "$WORK/many.csv" $D:$PORT
wait_ok reg-many "$BG"
sleep 0.5 # a late 401 retransmission must not reach the SIPps below

# 1. Out-of-order CSeq: UPDATE with CSeq 5 after the INVITE's 10 gets 500; the call goes on
# and ends with the BYE; the record is ANSWERED.
n0=$(ncdr)
sipp_bg cseq-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg cseq-carrier bad-carrier-cseq.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok cseq-carrier "$car"
wait_ok cseq-801 "$p1"
check "cseq-500-received" grep -q "^SIP/2.0 500" "$WORK/sipp-cseq-carrier.msg"
check "cseq-update-not-forwarded" test "$(count '^UPDATE sip' "$WORK/sipp-cseq-801.msg")" = 0
after cseq "$n0" 1
check "cseq-cdr-answered" sh -c "'$MIKAKA' -s '$CTL' cdr show 1 | grep -q ANSWERED"

# 2a. A retransmitted INVITE (same branch) is absorbed: the phone sees one INVITE, one call.
n0=$(ncdr)
sipp_bg dup-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg dup-carrier bad-carrier-dup.xml $CAR 5160 -s 1002 -pause_msg_ign $D:$PORT; car=$BG
wait_ok dup-carrier "$car"
wait_ok dup-801 "$p1"
check "dup-invite-sent-twice" test "$(count '^INVITE sip' "$WORK/sipp-dup-carrier.msg")" -ge 2
check "dup-invite-one-callee-invite" test "$(count '^INVITE sip' "$WORK/sipp-dup-801.msg")" = 1
after dup-invite "$n0" 1

# 2b. The callee sends its 200 OK twice: mikaka ACKs both (the second by the stray-2xx path).
n0=$(ncdr)
sipp_bg dup200-801 bad-phone-dup200.xml $P1 5161 -s 801 -nr; p1=$BG
sleep 0.3
sipp_bg dup200-carrier call2-carrier-in.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok dup200-carrier "$car"
wait_ok dup200-801 "$p1"
check "dup200-acked-twice" test "$(count '^ACK sip' "$WORK/sipp-dup200-801.msg")" -ge 2
check "dup200-caller-one-200" test "$(grep -A12 '^SIP/2.0 200' "$WORK/sipp-dup200-carrier.msg" | grep -c '^CSeq: 1 INVITE')" -ge 1
after dup200 "$n0" 1

# 3. ACK without INVITE (no To tag, and an unknown one): silently dropped; BYE for an unknown
# dialog: 481; OPTIONS then answered (the scenario fails on any response to the ACKs).
n0=$(ncdr)
sipp_bg stray bad-stray.xml $X1 5164 -s 1002 $D:$PORT; wait_ok stray "$BG"
check "stray-ack-unanswered" test "$(grep -A12 '^SIP/2.0' "$WORK/sipp-stray.msg" | grep -c '^CSeq: [0-9]* ACK')" = 0
check "stray-bye-481" grep -q "^SIP/2.0 481" "$WORK/sipp-stray.msg"
after stray "$n0" 0

# 4. PRACK with a RAck that names nothing of ours: 481; the call goes on.
n0=$(ncdr)
sipp_bg prack-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg prack-carrier bad-carrier-prack.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok prack-carrier "$car"
wait_ok prack-801 "$p1"
after prack "$n0" 1

# 5. UPDATE with an offer while mikaka's offer (in the 200 to a re-INVITE without SDP) waits
# for its answer in the ACK: 491.
n0=$(ncdr)
sipp_bg u491-801 call2-phone-answer.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg u491-carrier bad-carrier-update491.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok u491-carrier "$car"
wait_ok u491-801 "$p1"
check "update-491-received" grep -q "^SIP/2.0 491" "$WORK/sipp-u491-carrier.msg"
after update-491 "$n0" 1

# 6. The callee's 200 OK crosses the CANCEL: the caller gets 487, the callee ACK then BYE.
n0=$(ncdr)
sipp_bg x200-801 bad-phone-200-after-cancel.xml $P1 5161 -s 801; p1=$BG
sleep 0.3
sipp_bg x200-carrier call2-carrier-cancel.xml $CAR 5160 -s 1002 $D:$PORT; car=$BG
wait_ok x200-carrier "$car"
wait_ok x200-801 "$p1"
check "200-after-cancel-caller-487" grep -q "^SIP/2.0 487" "$WORK/sipp-x200-carrier.msg"
check "200-after-cancel-no-200-to-caller" test "$(grep -A12 '^SIP/2.0 200' "$WORK/sipp-x200-carrier.msg" | grep -c '^CSeq: 1 INVITE')" = 0
after 200-after-cancel "$n0" 1
check "200-after-cancel-cdr-not-answered" sh -c "'$MIKAKA' -s '$CTL' cdr show 1 | grep -v -q ANSWERED"

# 7. 50 forks (one user, 50 contacts) all answer 200 at once: the caller gets exactly one 200;
# every fork gets ACK and BYE (the winner's BYE when the call ends); one record, ANSWERED.
n0=$(ncdr)
moved0=$(grep -c 'answer after the call moved on: ACK and BYE' "$DAEMON_LOG")
STMO=30 SM=$NFORK sipp_bg fork-uas bad-fork-uas.xml $PM 5171; pf=$BG
sleep 0.3
STMO=30 sipp_bg fork-carrier call2-carrier-in.xml $CAR 5160 -s 1050 $D:$PORT; car=$BG
wait_ok fork-carrier "$car"
wait_ok fork-uas "$pf"
# Per Call-ID from the fork SIPp's trace: which forks sent a 200 to the INVITE, and which of
# those got a BYE.
fork_sets() {
	awk '{ sub(/\r$/, "") }
	     /message (sent|received)/ { start = ""; next }
	     start == "" && /^(SIP\/2.0|[A-Z]+ sip:)/ { start = $0; next }
	     /^Call-ID:/ { cid = $2 }
	     /^CSeq:/ { if (start ~ /^SIP\/2.0 200/ && $3 == "INVITE") ok[cid] = 1
			if (start ~ /^INVITE /) inv[cid] = 1
			if (start ~ /^BYE /) bye[cid] = 1 }
	     END { for (c in inv) n++; for (c in ok) { a++; if (c in bye) b++ }
		   printf "%d %d %d\n", n + 0, a + 0, b + 0 }' "$WORK/sipp-fork-uas.msg"
}
read -r invites answered byed < <(fork_sets)
echo "# forks: $invites INVITEs, $answered answered with 200, $byed of those got BYE"
check "fork-50-invites" test "$invites" = $NFORK
check "fork-all-answered" test "$answered" = $NFORK
check "fork-every-answered-fork-byed" test "$byed" = "$answered"
check "fork-49-losers-ack-bye" test "$(grep -c 'answer after the call moved on: ACK and BYE' "$DAEMON_LOG")" = $((moved0 + NFORK - 1))
check "fork-caller-one-200" test "$(grep -A12 '^SIP/2.0 200' "$WORK/sipp-fork-carrier.msg" | grep -c '^CSeq: 1 INVITE')" = 1
after fork "$n0" 1
check "fork-cdr-answered" sh -c "'$MIKAKA' -s '$CTL' cdr show 1 | grep -q ANSWERED"

# 8. An SDP of about 64 KB (940 lines of 68 bytes) in one datagram: a proper error response,
# no call.
n0=$(ncdr)
awk '/^FILLER$/ { for (i = 0; i < 940; i++) printf "a=x-filler:%056d\n", i; next } { print }' \
	"$E2E/sipp/bad-bigsdp.xml" >"$WORK/bad-bigsdp.xml"
sipp_bg bigsdp "$WORK/bad-bigsdp.xml" $X2 5165 -s 1002 $D:$PORT; wait_ok bigsdp "$BG"
check "bigsdp-refused" grep -q "^SIP/2.0 \(413\|400\|488\)" "$WORK/sipp-bigsdp.msg"
after bigsdp "$n0" 0

check "sigterm-clean-exit" stop_daemon
finish
