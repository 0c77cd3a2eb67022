#!/usr/bin/env bash
# screening.sh: nuisance-call protection end to end. SIPp plays the NGN (127.0.8.2) and phone 801
# (127.0.8.3); mikakad listens on 127.0.8.1 with mikaka.conf [screening] and [notify]; a python3
# http.server receives the notifications on 127.0.8.5 while 127.0.8.6 accepts connections and
# never answers (a dead webhook). Checks: `mikakad -t` on bad [screening]/[notify] lines
# (file:line); each of the four NGN display names of anonymous@anonymous.invalid, with and
# without Privacy: id, meets its rule (withheld and payphone refused 433/603 and voicemail sent to
# its context, while phone 801's SIPp sees no INVITE; interaction rings); a blocklisted number
# (CLI entry, configured prefix) refused before any phone rings; a withheld caller ringing on an
# additional number whose own rule allows it ([screening:NUMBER]); an allow-listed one inside a
# blocked prefix rings; the phonebook name (CSV import, +81 number) in the From display name
# toward the phone and in `cdr show`; CALLERPRES()/SCREEN()/BLACKLIST() in the dialplan; 144 then
# 4/3/2 from phone 801 after a missed call (the last caller blocked, its next call refused); the
# block and phonebook commands; the block list across a restart; one POST per event (ringing,
# answered, missed) with the right JSON; the dead webhook delays no call; [notify] added by a
# reload starts sending.
. "$(dirname "$0")/lib.sh"

D=127.0.8.1
CAR=127.0.8.2
PH=127.0.8.3
HOOK=127.0.8.5
DEAD=127.0.8.6
CONF=$WORK/conf
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone
for t in "$RTPTONE" "$WAVGEN" "$WAVTONE"; do [ -x "$t" ] || { notok "tools-built"; exit 1; }; done

# The announcements' sounds, as tones of known frequencies under the names mikaka plays
# (docs/SCREENING.md): the withheld message in Japanese (600 Hz) and English (800 Hz), the
# refusal in English only (900 Hz: a missing language is skipped), the 144 confirmations.
DATA=$WORK/data
SOUNDS=$DATA/sounds
mkdir -p "$SOUNDS/ja" "$SOUNDS/en/digits"
"$WAVGEN" "$SOUNDS/ja/privacy-unident.wav" 600 500
"$WAVGEN" "$SOUNDS/en/privacy-unident.wav" 800 500
"$WAVGEN" "$SOUNDS/en/cannot-complete-as-dialed.wav" 900 400
for n in privacy-to-blacklist-last-caller num-was-successfully added removed number privacy-incorrect; do
	"$WAVGEN" "$SOUNDS/en/$n.wav" 500 150
done
for d in 0 1 2 3 4 5 6 7 8 9; do "$WAVGEN" "$SOUNDS/en/digits/$d.wav" 1000 80; done

call_sipconf "$CONF" $D 5060 $CAR 5160
sip_phone "$CONF" 801 pw801 $PH:5161
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,GotoIf($["${SCREEN(reason)}" = "interaction"]?fn)
 same => n,Dial(SIP/801,20)
 same => n,Hangup()
 same => n(fn),Set(CALLERID(name)=${CALLERPRES()}/${SCREEN(reason)}/${BLACKLIST()})
 same => n,Dial(SIP/801,20)
 same => n,Hangup()
[screening-voicemail]
exten => _X.,1,Busy()
[from_phone]
exten => _0.,1,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
EOT
cat >"$CONF/mikaka.conf" <<EOT
[directories]
astdatadir=$DATA
[screening]
withheld = reject
payphone = reject
unavailable = voicemail
interaction = allow
block = 0120*
allow = 0120-555-555
[screening:0312345679]
withheld = allow
[notify]
url = http://$HOOK:8080/hook
url = http://$DEAD:8080/dead
timeout = 3
retries = 1
EOT

# 0. -t: bad lines are errors with file:line; the good configuration passes.
mkdir -p "$WORK/bad" "$WORK/bad2"
cp "$CONF"/*.conf "$WORK/bad/"
cp "$CONF"/*.conf "$WORK/bad2/"
cat >>"$WORK/bad/mikaka.conf" <<'EOT'
[screening:0312345680]
withheld = refuse
EOT
out=$("$MIKAKAD" -C "$WORK/bad" -t 2>&1); rc=$?
echo "$out" | grep -i error
check "t-bad-exit-1" [ $rc = 1 ]
check "t-screening-file-line" grep -q "mikaka.conf:18: error: \[screening:0312345680\] withheld: 'refuse'" <<<"$out"
sed -i 's|^url = http://127.0.8.6:8080/dead|url = gopher://127.0.8.6/dead|' "$WORK/bad2/mikaka.conf"
out=$("$MIKAKAD" -C "$WORK/bad2" -t 2>&1); rc=$?
echo "$out" | grep -i warning
check "t-notify-bad-url-not-fatal" [ $rc = 0 ]
check "t-notify-url-file-line" grep -q "mikaka.conf:14: warning: \[notify\] url: 'gopher://" <<<"$out"
check "t-good" "$MIKAKAD" -C "$CONF" -t

timeout -k 5 600 python3 "$E2E/notify-recv.py" $HOOK 8080 "$WORK/hook.txt" ok >"$WORK/hook.log" 2>&1 &
PIDS+=($!)
timeout -k 5 600 python3 "$E2E/notify-recv.py" $DEAD 8080 /dev/null hang >"$WORK/dead.log" 2>&1 &
PIDS+=($!)
daemon_start "$CONF"

out=$(cli block add 0901111111 sales call)
check "cli-block-add" grep -q "blocked 0901111111" <<<"$out"
printf 'name,number\nYamada Taro,090-2222-3333\nbroken line\n"Suzuki, Hanako",+81 3 9999 0000\n' >"$WORK/book.csv"
out=$(cli phonebook import "$WORK/book.csv"); echo "$out"
check "phonebook-import" grep -q "^2 entries imported" <<<"$out"
check "phonebook-import-bad-line" grep -q "book.csv:3: " <<<"$out"

# refused NAME DN USER HOST PRIVACY CODE [vm]: the NGN calls from "DN" <sip:USER@HOST> with
# Privacy: PRIVACY; the call must be refused with CODE, with no 180 before (a call sent to the
# voicemail context gets the line's usual prompt 180 first, as any call the dialplan takes).
refused() {
	local name=$1 dn=$2 user=$3 host=$4 priv=$5 code=$6
	sipp_bg "$name" scr-carrier-refused.xml $CAR 5160 $D:5060 -key dn "$dn" -key user "$user" \
		-key host "$host" -key privacy "$priv"
	wait_ok "$name" "$BG"
	check "$name-$code" grep -q "^SIP/2.0 $code " "$WORK/sipp-$name.msg"
	[ "${7:-}" = vm ] ||
		check "$name-no-ringing" bash -c "! grep -q '^SIP/2.0 180 ' '$WORK/sipp-$name.msg'"
}

# announced NAME DN USER HOST CODE HZ...: a refusal with its announcement: 183 (early media
# from the daemon), the sounds heard by the NGN's media (tools/rtptone records them; each HZ
# found for 300 ms), then CODE.
announced() {
	local name=$1 dn=$2 user=$3 host=$4 code=$5 rt hz
	shift 5
	RTPTONE_WAV=$WORK/$name.wav timeout 20 "$RTPTONE" $CAR:17100 - silence 4000 \
		>"$WORK/$name.rt" 2>&1 &
	rt=$!
	sleep 0.2
	sipp_bg "$name" scr-carrier-announce.xml $CAR 5160 $D:5060 -key dn "$dn" -key user "$user" \
		-key host "$host" -key privacy none -key rtpaddr $CAR -key rtpport 17100
	wait_ok "$name" "$BG"
	wait "$rt"
	check "$name-183-then-$code" awk -v c="^SIP/2.0 $code " \
		'/^SIP\/2.0 183 / && !e { e = NR } $0 ~ c { f = NR } END { exit !(e && f > e) }' \
		"$WORK/sipp-$name.msg"
	check "$name-183-has-sdp" grep -q "^m=audio [0-9]* RTP/AVP 0" "$WORK/sipp-$name.msg"
	for hz in "$@"; do
		check "$name-heard-${hz}hz" "$WAVTONE" "$WORK/$name.wav" "$hz" 300
	done
}

# 1. Refusals: phone 801 is watched by a SIPp that must see no INVITE meanwhile.
timeout -k 5 70 sipp -sf "$E2E/sipp/scr-phone-watch.xml" -i $PH -p 5161 -m 1 -timeout 35s \
	-nostdin -trace_msg -message_file "$WORK/watch.msg" >"$WORK/watch.log" 2>&1 &
WATCH=$!
PIDS+=("$WATCH")
sleep 0.5
check "watch-phone-up" kill -0 "$WATCH"
refused withheld Anonymous anonymous anonymous.invalid none 433
refused withheld-privacy Anonymous anonymous anonymous.invalid id 433
refused payphone "Coin line/payphone" anonymous anonymous.invalid none 603
refused payphone-privacy "Coin line/payphone" anonymous anonymous.invalid id 603
refused unavailable-vm Unavailable anonymous anonymous.invalid none 486 vm
refused unavailable-vm-privacy Unavailable anonymous anonymous.invalid id 486 vm
refused blocked-cli "" 0901111111 ntt-east.ne.jp none 603
refused blocked-prefix "" 0120123456 ntt-east.ne.jp none 603
refused number-privacy-id "" 0312223333 ntt-east.ne.jp id 433
# The announcements: Japanese then English for a withheld caller, English only for the block
# list (no Japanese file: skipped).
announced announce-withheld Anonymous anonymous anonymous.invalid 433 600 800
announced announce-blocked "" 0901111111 ntt-east.ne.jp 603 900
check "announce-blocked-no-ja" bash -c "! '$WAVTONE' '$WORK/announce-blocked.wav' 600 300"
wait "$WATCH"
check "phone-saw-no-invite" bash -c "! grep -q '^INVITE ' '$WORK/watch.msg' 2>/dev/null"
out=$(cli cdr show 20)
check "cdr-refused-with-why" grep -q '"screen":"withheld reject"' <<<"$out"
check "cdr-blocklist-why" grep -q '"screen":"blocklist reject"' <<<"$out"
check "refusal-logged" grep -q "refused by screening (payphone reject): 603" "$DAEMON_LOG"

# answered NAME DN USER HOST PRIVACY PAI: the NGN calls, phone 801 answers; the call must be up
# within 2.5 s (the dead webhook's 3 s timeout must not show). The phone's trace is kept.
answered() {
	local name=$1 dn=$2 user=$3 host=$4 priv=$5 pai=$6 t0 t1 phone
	sipp_bg "phone-$name" call-phone-uas.xml $PH 5161; phone=$BG
	sleep 0.3
	t0=$(date +%s%N)
	sipp_bg "$name" scr-carrier-in.xml $CAR 5160 $D:5060 -key dn "$dn" -key user "$user" \
		-key host "$host" -key privacy "$priv" -key pai "$pai" -key called "${CALLED:-0312345678}"
	wait_ok "$name" "$BG"
	t1=$(date +%s%N)
	wait_ok "phone-$name" "$phone"
	LAST_MS=$(((t1 - t0) / 1000000))
	echo "# $name: $LAST_MS ms"
	check "$name-not-delayed" [ $LAST_MS -lt 2500 ]
}

# 2. Allowed: interaction (both ways), an allow-listed number inside the blocked prefix, a
# phonebook name for a +81 number.
answered interaction "Interaction with other service" anonymous anonymous.invalid none \
	sip:anonymous@anonymous.invalid
check "dialplan-functions-in-from" grep -q '^From: "unavailable/interaction/0" <sip:anonymous@' \
	"$WORK/sipp-phone-interaction.msg"
answered interaction-privacy "Interaction with other service" anonymous anonymous.invalid id \
	sip:anonymous@anonymous.invalid
check "privacy-pres-in-from" grep -q '^From: "prohib_not_screened/interaction/0"' \
	"$WORK/sipp-phone-interaction-privacy.msg"
# An additional number with its own rule: withheld callers ring there.
CALLED=0312345679 answered second-number-withheld Anonymous anonymous anonymous.invalid id \
	sip:anonymous@anonymous.invalid
answered allowlisted "" 0120555555 ntt-east.ne.jp none sip:0120555555@ntt-east.ne.jp
answered phonebook "" +819022223333 ntt-east.ne.jp none "tel:+81-90-2222-3333"
WITH_DEAD_MS=$LAST_MS
check "phonebook-name-in-from" grep -q '^From: "Yamada Taro" <sip:09022223333@' \
	"$WORK/sipp-phone-phonebook.msg"
sleep 0.3
out=$(cli cdr show 1); echo "$out"
check "phonebook-name-in-cdr" grep -q '09022223333 .*"name":"Yamada Taro"' <<<"$out"

# 3. A missed call from 0903333333 (the caller gives up while 801 rings): the last caller.
sipp_bg phone-missed call2-phone-cancelled.xml $PH 5161; phone=$BG
sleep 0.3
sipp_bg missed scr-carrier-cancel.xml $CAR 5160 $D:5060 -key user 0903333333
wait_ok missed "$BG"
wait_ok phone-missed "$phone"

# 4. Feature codes from phone 801: 144 4 (count), 144 2 (block the last caller), 144 3 (undo),
# 144 2 again; then the blocked caller's next call is refused before any phone rings.
code() {
	sipp_bg "code-$1" scr-phone-code.xml $PH 5161 $D:5060 -s "$1"
	wait_ok "code-$1" "$BG"
}
code 1444
check "code-4-count" grep -q "feature code 1444: 4 count 1" "$DAEMON_LOG"
code 1442
out=$(cli block show); echo "$out"
check "code-2-blocked-last" grep -q "^0903333333 .*last caller (feature code)" <<<"$out"
check "code-2-spoken" grep -q "announcing privacy-to-blacklist-last-caller (13 sounds)" "$DAEMON_LOG"
code 1443
check "code-3-undone" bash -c "! '$MIKAKA' -s '$CTL' block show | grep -q '^0903333333'"
code 1442
refused blocked-by-code "" 0903333333 ntt-east.ne.jp none 603

# 5. The commands.
out=$(cli block show)
check "cli-block-show" grep -q "2 blocked numbers; last caller: 0903333333" <<<"$out"
check "cli-block-del" cli block del 0901111111
check "cli-block-del-unknown-fails" bash -c "! '$MIKAKA' -s '$CTL' block del 0901111111"
check "cli-block-add-bad-fails" bash -c "! '$MIKAKA' -s '$CTL' block add 09x1"
check "cli-block-last" bash -c "'$MIKAKA' -s '$CTL' block last | grep -q 'blocked 0903333333, the last caller'"
out=$(cli phonebook show)
check "cli-phonebook-show" grep -q "09022223333 .*Yamada Taro" <<<"$out"
check "cli-phonebook-del" cli phonebook del 0399990000
check "cli-phonebook-after-del" bash -c "! '$MIKAKA' -s '$CTL' phonebook show | grep -q 0399990000"

# 6. Notifications: one POST per event to the live receiver, with the call's fields.
for _ in $(seq 50); do grep -q '"event":"missed"' "$WORK/hook.txt" 2>/dev/null && break; sleep 0.1; done
cat "$WORK/hook.txt"
hook_has() { grep "\"event\":\"$1\"" "$WORK/hook.txt" | grep -q "$2"; }
check "notify-ringing" hook_has ringing '"number":"09022223333","name":"Yamada Taro","reason":"number","called":"0312345678"'
check "notify-answered" hook_has answered '"number":"09022223333","name":"Yamada Taro"'
check "notify-missed" hook_has missed '"number":"0903333333"'
check "notify-second-number" hook_has ringing '"number":"","name":"Anonymous","reason":"withheld","called":"0312345679"'
check "notify-withheld-reason" hook_has ringing '"number":"","name":"unavailable/interaction/0","reason":"interaction"'
check "notify-call-id-time" hook_has ringing '"call_id":"[0-9]*\.[0-9]*","time":"20[0-9-]*T[0-9:]*Z"'
n=$(grep -c '"event":"ringing"' "$WORK/hook.txt")
check "notify-one-post-per-event" [ "$n" = 6 ]
check "notify-none-for-refused" bash -c "! grep -q '0901111111\|0120123456' '$WORK/hook.txt'"
# The dead webhook: each POST given up after its timeout and one retry, logged, counted.
for _ in $(seq 150); do grep -q "to http://$DEAD:8080/dead failed after 2 attempts" "$DAEMON_LOG" && break; sleep 0.1; done
check "notify-dead-logged" grep -q "to http://$DEAD:8080/dead failed after 2 attempts" "$DAEMON_LOG"

# 7. The block list survives a restart, and still refuses. The restart drops [notify]: the same
# call is up as fast as with the dead webhook above.
check "notify-curl-loaded" grep -q libcurl "/proc/$DAEMON_PID/maps"
check "stop" stop_daemon
sed -i '/^\[notify\]/,$d' "$CONF/mikaka.conf"
daemon_start "$CONF"
answered no-webhook "" +819022223333 ntt-east.ne.jp none "tel:+81-90-2222-3333"
echo "# call up: $WITH_DEAD_MS ms with a dead webhook, $LAST_MS ms without [notify]"
check "dead-webhook-same-time" [ $((WITH_DEAD_MS - LAST_MS)) -lt 300 ]
check "no-notify-no-curl" bash -c "! grep -q libcurl /proc/$DAEMON_PID/maps"  # not mapped
# [notify] back by a reload: the sender starts then, and the next call is posted.
printf '[notify]\nurl = http://%s:8080/hook\ntimeout = 3\n' $HOOK >>"$CONF/mikaka.conf"
check "reload-with-notify" cli reload
before=$(grep -c '"event":"ringing"' "$WORK/hook.txt")
answered after-reload "" +819022223333 ntt-east.ne.jp none "tel:+81-90-2222-3333"
for _ in $(seq 30); do [ "$(grep -c '"event":"answered"' "$WORK/hook.txt")" -ge 6 ] && break; sleep 0.1; done
check "reload-notify-posts" [ "$(grep -c '"event":"ringing"' "$WORK/hook.txt")" = $((before + 1)) ]
out=$(cli block show); echo "$out"
check "restart-block-kept" grep -q "^0903333333 " <<<"$out"
check "restart-phonebook-kept" bash -c "'$MIKAKA' -s '$CTL' phonebook show | grep -q 'Yamada Taro'"
refused after-restart "" 0903333333 ntt-east.ne.jp none 603
check "no-leaked-channel" no_channels
check "sigterm-clean-exit" stop_daemon
finish
