#!/usr/bin/env bash
# dptime.sh: time conditions route real calls (docs/DIALPLAN.md, "Time conditions"), on
# 127.0.0.120-122 only: mikakad on .120, the SIPp carrier on .121 calls in, the SIPp phone 801 on
# .122 answers. The time specifications are built from the clock when the test runs (a range
# around now, a range hours away), so the result is known without touching the daemon's clock:
# a time-restricted include that covers now sends 2001 to the phone and one that does not sends
# 2002 to Busy (486); after a reload with the two swapped the same numbers go the other way;
# GotoIfTime, IFTIME() and ExecIfTime likewise, and GotoIfTime with Asia/Tokyo against the same
# range in local time. `mikakad -t` names file:line of a bad time specification; `dialplan show`
# lists the include with its time.
. "$(dirname "$0")/lib.sh"

D=127.0.0.120
CAR=127.0.0.121
PH=127.0.0.122
PORT=5320
CONF=$WORK/conf
call_sipconf "$CONF" $D $PORT $CAR 5321
sip_phone "$CONF" 801 pw801 $PH:5322
rtp_conf "$CONF" 53200 53298

# hhmm [TZ] MINUTES: the wall-clock time MINUTES from now (negative: before), as HH:MM.
hhmm() {
	local tz=${2:-}
	if [ -n "$tz" ]; then TZ=$tz date -d "$1 minutes" +%H:%M; else date -d "$1 minutes" +%H:%M; fi
}
# wday DAYS: the weekday DAYS from today, as Asterisk names it (mon, tue, ...).
wday() { date -d "$1 days" +%a | tr 'A-Z' 'a-z'; }

# A range around now (the test takes well under 15 minutes) and one hours away; weekdays today
# and tomorrow (a run across midnight stays inside) against three days that are neither.
NOW="$(hhmm -2)-$(hhmm 15),$(wday 0)-$(wday 1),*,*"
LATER="$(hhmm 120)-$(hhmm 180),*,*,*"
NOTDAY="*,$(wday 2)-$(wday 4),*,*"
TOKYO_NOW="$(hhmm -2 Asia/Tokyo)-$(hhmm 15 Asia/Tokyo)"
echo "# now $(date '+%a %H:%M %Z'): cover '$NOW', not '$LATER', '$NOTDAY'; Tokyo '$TOKYO_NOW'"

# write_ext ON OFF: extensions.conf with include ON (covers now or not) for 2001, OFF for 2002.
write_ext() {
	cat >"$CONF/extensions.conf" <<EOT
[from_line]
include => day1,$1
include => day2|${2//,/|}
include => night
exten => 3001,1,GotoIfTime($NOW?phone,1:busy,1)
exten => 3002,1,GotoIfTime($LATER?phone,1:busy,1)
exten => 3003,1,GotoIfTime($NOTDAY?phone,1)
 same => n,Goto(busy,1)
exten => 4001,1,GotoIfTime($TOKYO_NOW,*,*,*,Asia/Tokyo?phone,1:busy,1)
exten => 4002,1,GotoIfTime($TOKYO_NOW,*,*,*?phone,1:busy,1)
exten => 5001,1,Goto(\${IFTIME($NOW?phone:busy)},1)
exten => 5002,1,Goto(\${IFTIME($LATER?phone:busy)},1)
exten => 6001,1,ExecIfTime($NOW?Goto(phone,1))
 same => n,Goto(busy,1)
exten => 6002,1,ExecIfTime($LATER?Goto(phone,1))
 same => n,Goto(busy,1)
exten => phone,1,Dial(SIP/801,10)
 same => n,Hangup()
exten => busy,1,Busy()
[day1]
exten => 2001,1,Goto(from_line,phone,1)
[day2]
exten => 2002,1,Goto(from_line,phone,1)
[night]
exten => _200X,1,Goto(from_line,busy,1)
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT
}

# to_phone NAME NUMBER: the carrier calls NUMBER; 801 must ring, answer and get the BYE.
to_phone() {
	local p
	sipp_bg "$1-801" call2-phone-answer.xml $PH 5322; p=$BG
	sleep 0.3
	sipp_bg "$1" call2-carrier-in.xml $CAR 5321 -s "$2" $D:$PORT
	wait_ok "$1" "$BG"
	wait_ok "$1-phone-answered" "$p" "$1-801"
}
# to_busy NAME NUMBER: the carrier calls NUMBER and must get 486 Busy Here (no phone is there:
# a call wrongly sent to 801 would end otherwise).
to_busy() {
	sipp_bg "$1" call2-carrier-fail.xml $CAR 5321 -s "$2" $D:$PORT
	wait_ok "$1" "$BG"
}

write_ext "$NOW" "$LATER"
out=$("$MIKAKAD" -C "$CONF" -t 2>&1)
check "config-check-ok" grep -q "configuration OK" <<<"$out" || echo "$out" | sed 's/^/# /'
daemon_start "$CONF"
out=$(cli dialplan show from_line)
echo "$out" | sed 's/^/# /'
check "show-time-include" grep -qF "Include =>        'day1,$NOW'" <<<"$out"

# Time-restricted includes: the one covering now is searched, the other passed over.
to_phone "include-now-to-phone" 2001
to_busy "include-later-passed-over" 2002
# GotoIfTime (true and false labels), IFTIME(), ExecIfTime.
to_phone "gotoiftime-now" 3001
to_busy "gotoiftime-later" 3002
to_busy "gotoiftime-other-weekdays" 3003
to_phone "iftime-now" 5001
to_busy "iftime-later" 5002
to_phone "execiftime-now" 6001
to_busy "execiftime-later" 6002
# A time zone: Tokyo's clock covers now; the same hours on the local clock do not (unless the
# local zone keeps Tokyo's time).
to_phone "gotoiftime-tokyo" 4001
if [ "$(date +%z)" != "$(TZ=Asia/Tokyo date +%z)" ]; then
	to_busy "gotoiftime-tokyo-hours-local" 4002
fi

# The same numbers after a reload with the two includes' times swapped.
write_ext "$LATER" "$NOW"
check "reload-swapped" cli reload
to_busy "swapped-include-passed-over" 2001
to_phone "swapped-include-to-phone" 2002
check "no-leaked-channel" no_channels

# A bad time specification: mikakad -t names the file and line; a reload refuses it and the
# loaded dialplan goes on answering.
cp "$CONF/extensions.conf" "$WORK/ext.good"
printf '[late]\ninclude => night,08:00-25:00,*,*,*\n' >>"$CONF/extensions.conf"
line=$(wc -l <"$CONF/extensions.conf")
out=$("$MIKAKAD" -C "$CONF" -t 2>&1); rc=$?
echo "$out" | grep -i "time" | sed 's/^/# /'
check "check-bad-spec-exits-1" test $rc = 1
check "check-bad-spec-names-line" grep -q "extensions.conf:$line: .*invalid time range '08:00-25:00'" <<<"$out"
printf 'exten => 7,1,GotoIfTime(*,*,*,*,Mars/Olympus?1)\n' >>"$CONF/extensions.conf"
out=$("$MIKAKAD" -C "$CONF" -t 2>&1)
check "check-unknown-zone-names-line" grep -q "extensions.conf:$((line + 1)): .*unknown time zone 'Mars/Olympus'" <<<"$out"
out=$(cli reload 2>&1)
check "reload-bad-spec-refused" grep -q "extensions.conf:$line" <<<"$out"
to_busy "old-dialplan-still-routes" 2001
cp "$WORK/ext.good" "$CONF/extensions.conf"

check "alive" daemon_alive
check "clean-exit" stop_daemon
finish
