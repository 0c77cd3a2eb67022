#!/usr/bin/env bash
# dpfuncs.sh: Asterisk's loops and string functions in a real call. SIPp plays the NGN
# (127.0.8.62) calling 200 with a caller id; the dialplan walks a ring list with While/SHIFT,
# skips the entries FILTER finds no digits in (ContinueWhile), Dial()s phone 801 (a SIPp phone
# at 127.0.8.63 that answers 486) through Exec(), and keeps what it computed (CUT, FIELDQTY,
# REGEX, SPRINTF, STRREPLACE, TOUPPER, INC) in the database, read back with `mikaka database get`;
# the carrier gets the Busy() the loop ends in. Caller ID matching (exten => 201/0399998888 and
# 202/_0120.): the same caller gets the extension written for its number (486) and not the one
# for another number (503). Macro(): 203 runs macro-busy with an argument, which keeps
# ${ARG1}${MACRO_EXTEN} and answers Busy (486). Dial's S(2): the answered call (a SIPp phone
# that answers) gets a BYE on both sides 2 s after the answer. Dial's g and F(context^exten^prio):
# the phone answers and hangs up after 1.5 s, and the carrier's call goes on in the dialplan (the
# next priority, or F's target) until a Wait and Hangup() end it. `mikakad -t` accepts the file.
. "$(dirname "$0")/lib.sh"

D=127.0.8.61
CAR=127.0.8.62
PH=127.0.8.63
CONF=$WORK/conf

call_sipconf "$CONF" $D 5060 $CAR 5160
sip_phone "$CONF" 801 pw801 $PH:5161
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 200,1,Set(LIST=nobody&801&-)
 same => n,Set(N=${FIELDQTY(LIST,&)})
 same => n,While($[${LEN(${LIST})} > 0])
 same => n,Set(T=${SHIFT(LIST,&)})
 same => n,Set(ROUNDS=${INC(ROUNDS)})
 same => n,ExecIf($[${LEN(${FILTER(0-9,${T})})} = 0]?ContinueWhile())
 same => n,Set(TRIED=${TRIED}${T}/)
 same => n,Exec(Dial(SIP/${T},5))
 same => n,Set(TRIED=${TRIED}${DIALSTATUS}/)
 same => n,EndWhile()
 same => n,Set(DB(e2e/tried)=${TRIED})
 same => n,Set(DB(e2e/counts)=${N}-${ROUNDS})
 same => n,Set(NUM=${CALLERID(num)})
 same => n,Set(DB(e2e/area)=${CUT(NUM,9,1)}|${REGEX("^0[1-9]" ${NUM})}|${SPRINTF(%05d,${CUT(NUM,8,2)})})
 same => n,Set(DB(e2e/text)=${TOUPPER(${STRREPLACE(TRIED,/,-)})})
 same => n,Busy()
exten => 201/0399998888,1,Busy()
exten => 201,1,Congestion()
exten => 202/_0120.,1,Busy()
exten => 202,1,Congestion()
exten => 204,1,Dial(SIP/801,10,S(2))
exten => 205,1,Dial(SIP/801,10,g)
 same => n,Set(DB(e2e/g)=${DIALSTATUS}-${ANSWEREDTIME})
 same => n,Wait(1)
 same => n,Hangup()
exten => 206,1,Dial(SIP/801,10,F(from_line^after^1))
 same => n,Set(DB(e2e/f)=next-priority)
 same => n,Hangup()
exten => after,1,Set(DB(e2e/f)=jumped-${DIALSTATUS})
 same => n,Wait(1)
 same => n,Hangup()
exten => 207,1,Set(GROUP()=out)
 same => n,Set(GROUP(lines)=ngn)
 same => n,Set(DB(e2e/group)=${GROUP_COUNT(out)}-${GROUP()}-${GROUP(lines)}-${GROUP_COUNT(ngn@lines)}-${GROUP_COUNT(none)})
 same => n,Dial(SIP/801,10,S(3))
exten => 208,1,Set(DB(e2e/group2)=${GROUP_COUNT(out)}-${GROUP_COUNT()})
 same => n,Busy()
exten => 209,1,System(echo "${CALLERID(num)}" > ${SYSOUT} \; sleep 1)
 same => n,Set(DB(e2e/sys)=${SYSTEMSTATUS})
 same => n,TrySystem(exit 3)
 same => n,Set(DB(e2e/sys)=${DB(e2e/sys)}-${SYSTEMSTATUS})
 same => n,TrySystem(/nonexistent/command)
 same => n,Set(DB(e2e/sys)=${DB(e2e/sys)}-${SYSTEMSTATUS})
 same => n,System(/nonexistent/command)
 same => n,Set(DB(e2e/sys)=${DB(e2e/sys)}-not-reached)
 same => n,Busy()
exten => h,1,GotoIf($["${EXTEN}" != "h"]?end)
 same => n,ExecIf($[${ISNULL(${SYSOUT})}]?NoOp():System(echo h >> ${SYSOUT}.h))
 same => n(end),NoOp()
exten => 203,1,Macro(busy,x)
 same => n,Congestion()
[macro-busy]
exten => s,1,Set(DB(e2e/macro)=${ARG1}${MACRO_EXTEN})
 same => n,Busy()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

printf '[globals]\nSYSOUT=%s\n' "$WORK/sys.out" >>"$CONF/extensions.conf"
check "config-check-ok" "$MIKAKAD" -C "$CONF" -t
check "config-check-knows-g-and-F" bash -c '! "$1" -C "$2" -t 2>&1 | grep -q "not implemented"' _ "$MIKAKAD" "$CONF"
daemon_start "$CONF"
sipp_bg phone call2-phone-busy.xml $PH 5161
PHONE=$BG
sipp_bg carrier db-carrier-in.xml $CAR 5160 $D:5060 -s 200
wait_ok "carrier-call-done" "$BG" carrier
wait_ok "phone-got-one-invite" "$PHONE" phone
check "carrier-got-busy" grep -q "^SIP/2.0 486 " "$WORK/sipp-carrier.msg"
check "phone-rung-once" test "$(grep -c '^INVITE ' "$WORK/sipp-phone.msg")" = 1
# The caller is 0399998888: cut at the 9s, the prefix test, the field after the 8s padded.
check "loop-tried-only-801" grep -qx "Value: 801/BUSY/" <<<"$(cli database get e2e tried)"
check "loop-counted-three" grep -qx "Value: 3-3" <<<"$(cli database get e2e counts)"
check "cut-regex-sprintf" grep -qx "Value: 03|1|00000" <<<"$(cli database get e2e area)"
check "strreplace-toupper" grep -qx "Value: 801-BUSY-" <<<"$(cli database get e2e text)"
# Caller ID matching: the carrier calls from 0399998888.
sipp_bg cid1 db-carrier-in.xml $CAR 5162 $D:5060 -s 201
wait_ok "cid-call-1" "$BG" cid1
check "cid-match-wins" grep -q "^SIP/2.0 486 " "$WORK/sipp-cid1.msg"
sipp_bg cid2 db-carrier-in.xml $CAR 5163 $D:5060 -s 202
wait_ok "cid-call-2" "$BG" cid2
check "cid-other-number-plain" grep -q "^SIP/2.0 503 " "$WORK/sipp-cid2.msg"
sipp_bg mac db-carrier-in.xml $CAR 5164 $D:5060 -s 203
wait_ok "macro-call" "$BG" mac
check "macro-busy" grep -q "^SIP/2.0 486 " "$WORK/sipp-mac.msg"
check "macro-args" grep -qx "Value: x203" <<<"$(cli database get e2e macro)"
# Dial(SIP/801,10,S(2)): both sides get a BYE about 2 s after the answer.
sipp_bg phone2 call2-phone-answer.xml $PH 5161
PHONE2=$BG
t0=$(date +%s%N)
sipp_bg lim hdr-carrier-in.xml $CAR 5165 $D:5060 -s 204
wait_ok "limit-carrier-bye" "$BG" lim
wait_ok "limit-phone-bye" "$PHONE2" phone2
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# the limited call took $ms ms from the INVITE"
check "limit-about-2s" test "$ms" -ge 2500 -a "$ms" -lt 8000
check "limit-logged" grep -q "Dial's time limit of 2000 ms reached" "$DAEMON_LOG"
# Dial(SIP/801,10,g): the phone hangs up 1.5 s after its answer; the carrier's call goes on
# (DIALSTATUS ANSWER, ANSWEREDTIME 1) and ends a second later with the dialplan's Hangup().
for opt in g f; do
	sipp_bg "ph$opt" xfer-target-uas.xml $PH 5161
	PH_OPT=$BG
	t0=$(date +%s%N)
	sipp_bg "car$opt" hdr-carrier-in.xml $CAR 5166 $D:5060 -s $([ $opt = g ] && echo 205 || echo 206)
	wait_ok "dial-$opt-phone-hung-up" "$PH_OPT" "ph$opt"
	t1=$(date +%s%N)
	wait_ok "dial-$opt-carrier-bye" "$BG" "car$opt"
	ms=$(( ($(date +%s%N) - t1) / 1000000 ))
	echo "# Dial $opt: the carrier's BYE came $ms ms after the phone's BYE was answered"
	check "dial-$opt-caller-went-on" test "$ms" -ge 600
done
check "dial-g-next-priority" grep -qx "Value: ANSWER-1" <<<"$(cli database get e2e g)"
check "dial-f-jumped" grep -qx "Value: jumped-ANSWER" <<<"$(cli database get e2e f)"
# GROUP()/GROUP_COUNT(): 207 puts its call in group "out" (and "ngn" of category "lines") and
# stays up 3 s; a call to 208 meanwhile counts it, and after it ended no more.
sipp_bg phgrp call2-phone-answer.xml $PH 5161
PH_G=$BG
sipp_bg grp1 hdr-carrier-in.xml $CAR 5167 $D:5060 -s 207
G1=$BG
sleep 2
sipp_bg grp2 db-carrier-in.xml $CAR 5168 $D:5060 -s 208
wait_ok "group-count-call" "$BG" grp2
check "group-count-during" grep -qx "Value: 1-0" <<<"$(cli database get e2e group2)"
wait_ok "group-call-ended" "$G1" grp1
wait_ok "group-phone" "$PH_G" phgrp
check "group-read-back" grep -qx "Value: 1-out-ngn-1-0" <<<"$(cli database get e2e group)"
sipp_bg grp3 db-carrier-in.xml $CAR 5169 $D:5060 -s 208
wait_ok "group-count-call-after" "$BG" grp3
check "group-count-after" grep -qx "Value: 0-0" <<<"$(cli database get e2e group2)"
# System()/TrySystem(): the command runs with the caller's number, the call waits for it (1 s)
# while the daemon goes on answering; SYSTEMSTATUS SUCCESS, APPERROR (exit 3), FAILURE (no such
# command: TrySystem goes on, System hangs up); the h extension's System() runs too.
t0=$(date +%s%N)
sipp_bg sys db-carrier-in.xml $CAR 5170 $D:5060 -s 209
SYS=$BG
sleep 0.5
check "system-loop-not-blocked" cli core show version
wait "$SYS" 2>/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# the System() call took $ms ms"
check "system-waited" test "$ms" -ge 1000
check "system-ran-with-cid" grep -qx 0399998888 "$WORK/sys.out"
check "system-statuses" grep -qx "Value: SUCCESS-APPERROR-FAILURE" <<<"$(cli database get e2e sys)"
check "system-failure-hangs-up" bash -c '! grep -q "^SIP/2.0 486 " "$1" && grep -q "^SIP/2.0 [45][0-9][0-9] " "$1"' _ "$WORK/sipp-sys.msg"
for _ in $(seq 20); do [ -s "$WORK/sys.out.h" ] && break; sleep 0.1; done
check "system-in-h" grep -q "^h$" "$WORK/sys.out.h"
check "dial-g-logged" grep -q "goes on in the dialplan (Dial g)" "$DAEMON_LOG"
check "cid-shown" grep -q "'201/0399998888' =>" <<<"$(cli dialplan show from_line)"
check "no-unsupported-function" bash -c '! grep -q "is not supported" "$1"' _ "$DAEMON_LOG"
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
