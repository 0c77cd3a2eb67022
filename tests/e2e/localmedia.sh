#!/usr/bin/env bash
# localmedia.sh: mikaka as the far end of calls (issue #14), on 127.0.14.60-69 only: mikakad on
# 127.0.14.60; a SIPp phone 801 (127.0.14.61) calls extensions answered by the dialplan's media
# applications, tools/rtptone plays and records the phone's media; a SIPp carrier (127.0.14.62)
# for the bridged cases. Test sounds are made by tools/wavgen in a sounds directory of the test
# ([directories] astsoundsdir / astdatadir in mikaka.conf). Checks: Playback of a known WAV heard
# (frequency), CHANNEL(language) choosing ja/, a 16 kHz stereo file converted, a missing file
# continuing with PLAYBACKSTATUS=FAILED, early media after Progress(), Echo returns the tone, Milliwatt's 1004 Hz, Record
# writing the caller's tone with the expected length and RECORD_STATUS (limit, silence, #),
# Background+WaitExten jumping on an RFC 4733 digit and going to `t` without one, Read into a
# variable (RFC 4733 and SIP INFO digits), Authenticate (a wrong then the right password), music on hold heard by the party the phone holds (its mohsuggest= class),
# MixMonitor holding both directions, Dial's m option (music while the callee rings), Dial's D()
# and SendDTMF() (RFC 4733 digits to each side), `core show channels verbose`
# showing the media state.
. "$(dirname "$0")/lib.sh"

PORT=5270
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone
CONF=$WORK/conf
DATA=$WORK/data
SOUNDS=$DATA/sounds
MON=$WORK/monitor
call_sipconf "$CONF" 127.0.14.60 $PORT 127.0.14.62 5262
sip_phone "$CONF" 801 pw801 127.0.14.61:5261 dtmfmode=rfc2833 mohsuggest=suggested
rtp_conf "$CONF" 52200 52298
mkdir -p "$SOUNDS/en" "$SOUNDS/ja" "$SOUNDS/digits" "$DATA/moh" "$DATA/holdtest" "$DATA/sugg" "$MON"
"$WAVGEN" "$SOUNDS/en/lmtest.wav" 800 3000
"$WAVGEN" "$SOUNDS/ja/lmtest.wav" 600 3000
"$WAVGEN" "$SOUNDS/en/lmstereo.wav" 500 3000 16000 2
"$WAVGEN" "$SOUNDS/en/beep.wav" 1000 200
# Authenticate()'s prompts, each its own tone.
"$WAVGEN" "$SOUNDS/en/agent-pass.wav" 300 800
"$WAVGEN" "$SOUNDS/en/auth-incorrect.wav" 500 800
"$WAVGEN" "$SOUNDS/en/auth-thankyou.wav" 1200 800
"$WAVGEN" "$DATA/holdtest/a.wav" 700 1500
"$WAVGEN" "$DATA/holdtest/b.wav" 700 1500
"$WAVGEN" "$DATA/sugg/a.wav" 900 1500
cat >"$CONF/mikaka.conf" <<EOT
[directories]
astdatadir=$DATA
astmonitordir=$MON
EOT
cat >"$CONF/musiconhold.conf" <<'EOT'
[default]
mode=files
directory=holdtest
[suggested]
mode=files
directory=sugg
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 600,1,Playback(lmtest)
 same => n,Log(NOTICE,LM600 PLAYBACKSTATUS=${PLAYBACKSTATUS})
 same => n,Wait(30)
exten => 601,1,Set(CHANNEL(language)=ja)
 same => n,Playback(lmtest)
 same => n,Wait(30)
exten => 602,1,Playback(lmstereo)
 same => n,Wait(30)
exten => 603,1,Answer()
 same => n,Playback(no-such-sound&lmtest)
 same => n,Log(NOTICE,LM603 PLAYBACKSTATUS=${PLAYBACKSTATUS})
 same => n,Playback(no-such-sound)
 same => n,Log(NOTICE,LM603b PLAYBACKSTATUS=${PLAYBACKSTATUS})
 same => n,Wait(30)
exten => 604,1,Progress()
 same => n,Playback(lmtest,noanswer)
 same => n,Log(NOTICE,LM604 PLAYBACKSTATUS=${PLAYBACKSTATUS})
 same => n,Answer()
 same => n,Wait(30)
exten => 610,1,Echo()
exten => 611,1,Milliwatt()
exten => 620,1,Record(rec/limit.wav,0,3,q)
 same => n,Log(NOTICE,LM620 RECORD_STATUS=${RECORD_STATUS} RECORDED_FILE=${RECORDED_FILE})
 same => n,Wait(30)
exten => 621,1,Record(rec/silence.wav,2,20)
 same => n,Log(NOTICE,LM621 RECORD_STATUS=${RECORD_STATUS})
 same => n,Wait(30)
exten => 622,1,Record(rec/key.wav,0,20,q)
 same => n,Log(NOTICE,LM622 RECORD_STATUS=${RECORD_STATUS})
 same => n,Wait(30)
exten => 630,1,Set(TIMEOUT(digit)=2)
 same => n,Background(lmtest)
 same => n,WaitExten(5)
exten => 1,1,Log(NOTICE,LM630 jumped to 1 from ${INVALID_EXTEN}x)
 same => n,Wait(30)
exten => t,1,Log(NOTICE,LM-T timeout went to t)
 same => n,Wait(30)
exten => 631,1,Answer()
 same => n,WaitExten(2)
exten => 640,1,Read(DIGITS,lmtest,3)
 same => n,Log(NOTICE,LM640 READ=${DIGITS} READSTATUS=${READSTATUS})
 same => n,Wait(30)
exten => 642,1,ReadExten(RX,lmtest,lmrx)
 same => n,Log(NOTICE,LM642 RX=${RX} READEXTENSTATUS=${READEXTENSTATUS})
 same => n,Wait(30)
exten => 660,1,Authenticate(4321)
 same => n,Log(NOTICE,LM660 authenticated)
 same => n,Wait(30)
exten => 680,1,Answer()
 same => n,Playtones(busy)
 same => n,Log(NOTICE,LM680 playing)
 same => n,Wait(2)
 same => n,StopPlaytones()
 same => n,Log(NOTICE,LM680 stopped)
 same => n,Wait(30)
exten => 650,1,MusicOnHold(default,2)
 same => n,Log(NOTICE,LM650 moh done)
 same => n,Wait(30)
exten => _06.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20,D(123:45))
exten => 670,1,Answer()
 same => n,SendDTMF(7w8,100,120)
 same => n,Log(NOTICE,LM670 sent)
 same => n,Wait(30)
exten => _05.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20,m)
 same => n,Hangup()
exten => _0.,1,Set(CALLERID(num)=0312345678)
 same => n,MixMonitor(mix/call.wav)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[lmrx]
exten => 12,1,NoOp()
exten => 123,1,NoOp()
EOT

for t in "$RTPTONE" "$WAVGEN" "$WAVTONE"; do [ -x "$t" ] || { notok "tools-built"; exit 1; }; done
check "config-check" "$MIKAKAD" -t -C "$CONF"
# mikakad -t reads musiconhold.conf and the media applications' arguments too.
cp -r "$CONF" "$WORK/badconf"
printf '[jazz]\nmode=mp3player\ndirectory=/nonexistent\n' >>"$WORK/badconf/musiconhold.conf"
printf '[bad]\nexten => s,1,Record(x.gsm)\n' >>"$WORK/badconf/extensions.conf"
"$MIKAKAD" -t -C "$WORK/badconf" >"$WORK/badconf.out" 2>&1
check "config-moh-mode-warned" grep -q "musiconhold.conf:8: warning: \[jazz\] mode=mp3player" "$WORK/badconf.out"
check "config-moh-dir-warned" grep -q "directory /nonexistent does not exist" "$WORK/badconf.out"
# A phone's mohsuggest= naming no class is a warning (the one naming [suggested] is not).
cp -r "$CONF" "$WORK/warnconf"
printf '[802]\ntype=friend\nhost=dynamic\nsecret=x\nmohsuggest=nosuch\n' >>"$WORK/warnconf/sip.conf"
"$MIKAKAD" -t -C "$WORK/warnconf" >"$WORK/warnconf.out" 2>&1
check "config-mohsuggest-unknown-warned" grep -q "sip.conf:[0-9]*: warning: \[802\] mohsuggest=nosuch is not a class in musiconhold.conf" "$WORK/warnconf.out"
check "config-mohsuggest-known-not-warned" bash -c "! grep -q 'mohsuggest=suggested' '$WORK/warnconf.out'"
check "config-record-format-error" grep -q "Record: format 'gsm' is not supported" "$WORK/badconf.out"
daemon_start "$CONF"
SIPP_TIMEOUT=25

# call EXT HOLD_MS: the SIPp phone calls EXT and hangs up after HOLD_MS; returns once the
# answer's SDP is known (PHONE_SIDE: the daemon's media address for the phone).
call() {
	rm -f "$WORK/phone.sdp"
	sipp_bg "c$1" lm-phone-call.xml 127.0.14.61 5261 127.0.14.60:$PORT -mp 41300 -s "$1" \
		-d "$2" -key rtpaddr 127.0.14.61 -key rtpport 40220; PHONE=$BG
	local a p
	for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.14.60}:${p:-9}
}
end_call() { wait_ok "$1-call" "$PHONE" "c$2"; }
rt() { # OUT WAV ARGS...: rtptone as the phone (127.0.14.61:40220), output $WORK/OUT
	local out=$1 wav=$2; shift 2
	RTPTONE_WAV=$wav timeout 15 "$RTPTONE" 127.0.14.61:40220 "$PHONE_SIDE" "$@" >"$WORK/$out" 2>&1
}
logged() { grep -q "$1" "$DAEMON_LOG"; }
snap() { # FILE DELAY: `core show channels verbose` into FILE after DELAY seconds (background)
	(sleep "$2"; cli core show channels verbose >"$WORK/$1" 2>&1) &
	PIDS+=("$!")
}
wait_log() { # PATTERN: up to 5 s for the daemon to log it
	for _ in $(seq 50); do logged "$1" && return 0; sleep 0.1; done
	return 1
}
wav_secs() { "$WAVTONE" "$1" 1 0 2>/dev/null | sed -n 's/.* channel(s), \([0-9.]*\) s,.*/\1/p'; }

# 1. Playback of a known WAV (800 Hz) is heard by the caller; PLAYBACKSTATUS=SUCCESS.
call 600 4000
snap chan600.txt 1.5
rt p600.out "$WORK/p600.wav" silence 3500
check "playback-800hz-heard" "$WAVTONE" "$WORK/p600.wav" 800 2000
check "playback-status-success" wait_log "LM600 PLAYBACKSTATUS=SUCCESS"
check "channels-verbose-playing" grep -q "media state: playing lmtest" "$WORK/chan600.txt"
end_call playback 600

# 2. CHANNEL(language)=ja finds ja/lmtest.wav (600 Hz) instead of en/.
call 601 4000
rt p601.out "$WORK/p601.wav" silence 3500
check "playback-language-ja" "$WAVTONE" "$WORK/p601.wav" 600 2000
end_call language 601

# 3. A 16 kHz stereo WAV is converted to 8 kHz mono: 500 Hz heard.
call 602 4000
rt p602.out "$WORK/p602.wav" silence 3500
check "playback-16k-stereo-converted" "$WAVTONE" "$WORK/p602.wav" 500 2000
end_call convert 602

# 4. A missing file is skipped with a warning; the next one plays; a list of only missing files
# sets PLAYBACKSTATUS=FAILED and the dialplan goes on.
call 603 5000
rt p603.out "$WORK/p603.wav" silence 4500
check "playback-missing-skipped" "$WAVTONE" "$WORK/p603.wav" 800 2000
check "playback-missing-status-success" wait_log "LM603 PLAYBACKSTATUS=SUCCESS"
check "playback-missing-status-failed" wait_log "LM603b PLAYBACKSTATUS=FAILED"
check "playback-missing-warned" logged "no-such-sound"
end_call missing 603

# 4b. Progress() then Playback(...,noanswer): early media (183 with our address) heard before
# any answer.
call 604 4500
rt p604.out "$WORK/p604.wav" silence 3500
check "playback-noanswer-early-media" "$WAVTONE" "$WORK/p604.wav" 800 2000
check "playback-noanswer-status" wait_log "LM604 PLAYBACKSTATUS=SUCCESS"
end_call early 604

# 5. Echo returns the caller's 1 kHz tone.
call 610 3500
rt e610.out "" tone 3000 tone min=50
r=$?; if [ $r = 0 ]; then ok "echo-returns-tone"; else notok "echo-returns-tone"; cat "$WORK/e610.out"; fi
end_call echo 610

# 6. Milliwatt: 1004 Hz; `core show channels verbose` names the tone meanwhile.
call 611 3500
RTPTONE_WAV="$WORK/m611.wav" timeout 15 "$RTPTONE" 127.0.14.61:40220 "$PHONE_SIDE" silence 3000 \
	>"$WORK/m611.out" 2>&1 &
RT=$!; PIDS+=("$RT")
sleep 1.5
cli core show channels verbose >"$WORK/chan611.txt" 2>&1
wait "$RT"
check "milliwatt-1004hz" "$WAVTONE" "$WORK/m611.wav" 1004 2000
check "channels-verbose-media-state" grep -q "media state: tone 1004" "$WORK/chan611.txt"
end_call milliwatt 611

# 7. Record with a 3 s limit (no beep): the caller's 1 kHz tone is in rec/limit.wav under the
# monitor directory, about 3 s long, and RECORD_STATUS=TIMEOUT.
call 620 5000
snap chan620.txt 2
rt r620.out "" tone 4500
check "record-status-timeout" wait_log "LM620 RECORD_STATUS=TIMEOUT RECORDED_FILE=rec/limit"
check "channels-verbose-recording" grep -q "media state: recording $MON/rec/limit.wav" "$WORK/chan620.txt"
check "record-file-1khz" "$WAVTONE" "$MON/rec/limit.wav" 1000 2500
len=$(wav_secs "$MON/rec/limit.wav")
echo "  rec/limit.wav: ${len:-?} s"
check "record-length-3s" awk -v l="${len:-0}" 'BEGIN { exit !(l >= 2.8 && l <= 3.1) }'
end_call record 620

# 8. Record ended by 2 s of silence after 1.5 s of tone (with the beep first): RECORD_STATUS
# SILENCE, the trailing silence trimmed.
call 621 7000
rt r621.out "" tone:1000:1500 6500
check "record-status-silence" wait_log "LM621 RECORD_STATUS=SILENCE"
len=$(wav_secs "$MON/rec/silence.wav")
echo "  rec/silence.wav: ${len:-?} s"
check "record-silence-trimmed" awk -v l="${len:-0}" 'BEGIN { exit !(l >= 1.0 && l <= 2.5) }'
end_call record-silence 621

# 8b. Record ended by '#' (an RFC 4733 event): RECORD_STATUS=DTMF, the file in place.
call 622 3500
rt r622.out "" 'ev:#' 3000
check "record-status-dtmf" wait_log "LM622 RECORD_STATUS=DTMF"
check "record-dtmf-file" test -f "$MON/rec/key.wav"
end_call record-key 622

# 9. Background + WaitExten: RFC 4733 "1" while the prompt plays jumps to extension 1.
call 630 5000
rt b630.out "" ev:1 4500
check "background-digit-jumps" wait_log "LM630 jumped to 1"
end_call background 630

# 10. WaitExten without a digit goes to `t`.
call 631 5000
rt b631.out "" silence 4000
check "waitexten-timeout-t" wait_log "LM-T timeout went to t"
end_call waitexten 631

# 11. Read(DIGITS,lmtest,3): "123" as RFC 4733 events.
call 640 5000
rt r640.out "" ev:123 4500
check "read-digits" wait_log "LM640 READ=123 READSTATUS=OK"
end_call read 640

# 11b. The same Read with the digits as SIP INFO (application/dtmf-relay) from the phone.
before=$(grep -c "LM640 READ=123 READSTATUS=OK" "$DAEMON_LOG")
rm -f "$WORK/phone.sdp"
sipp_bg info lm-phone-info.xml 127.0.14.61 5261 127.0.14.60:$PORT -mp 41300 -s 640 \
	-key rtpaddr 127.0.14.61 -key rtpport 40220; PHONE=$BG
wait_ok info-call "$PHONE" info
n=$(grep -c "LM640 READ=123 READSTATUS=OK" "$DAEMON_LOG")
check "read-digits-info" test "$n" -gt "$before"

# 11b'. ReadExten(RX,lmtest,lmrx): 1, 2, 3 keyed during the prompt; 12 could grow into 123,
# 123 cannot grow: OK at once (no '#', no pause).
call 642 5000
rt r642.out "" ev:123 2500
check "readexten-extension" wait_log "LM642 RX=123 READEXTENSTATUS=OK"
end_call readexten 642

# 11c. Authenticate(4321): "1111#" is wrong (auth-incorrect, 500 Hz, asks again), "4321#" is
# right (auth-thankyou, 1200 Hz), then the dialplan goes on.
call 660 9000
rt a660a.out "$WORK/a660a.wav" ev:1111# 2600
rt a660b.out "$WORK/a660b.wav" ev:4321# 3000
check "authenticate-prompt" "$WAVTONE" "$WORK/a660a.wav" 300 400
check "authenticate-incorrect" "$WAVTONE" "$WORK/a660a.wav" 500 400
check "authenticate-thankyou" "$WAVTONE" "$WORK/a660b.wav" 1200 400
check "authenticate-goes-on" wait_log "LM660 authenticated"
check "authenticate-once" test "$(grep -c 'LM660 authenticated' "$DAEMON_LOG")" = 1
end_call authenticate 660

# 11d. Playtones(busy): Japan's busy tone (400 Hz, 0.5 s on and off) while the dialplan goes on
# (Wait), then StopPlaytones: silence.
call 680 4500
rt p680.out "$WORK/p680.wav" silence 4000
check "playtones-busy-400hz" "$WAVTONE" "$WORK/p680.wav" 400 700
check "playtones-cadence" bash -c '! "$1" "$2" 400 1800' _ "$WAVTONE" "$WORK/p680.wav"
check "playtones-dialplan-goes-on" wait_log "LM680 playing"
check "stopplaytones" wait_log "LM680 stopped"
end_call playtones 680

# 12. MusicOnHold(default,2): the class's 700 Hz files, then the dialplan goes on.
call 650 4000
rt h650.out "$WORK/h650.wav" silence 3500
check "musiconhold-app-700hz" "$WAVTONE" "$WORK/h650.wav" 700 1500
check "musiconhold-duration" wait_log "LM650 moh done"
end_call moh-app 650

# 13. Hold music: the phone calls the carrier (MixMonitor on), then holds it for 4 s: the carrier
# hears the class of the phone's mohsuggest= (900 Hz), not the default class (700 Hz). MixMonitor's file holds the phone's 1 kHz and the carrier's
# 400 Hz.
rm -f "$WORK/carrier.sdp" "$WORK/phone.sdp"
sipp_bg hold-carrier hold-carrier-uas.xml 127.0.14.62 5262 -mp 41400 \
	-key rtpaddr 127.0.14.62 -key rtpport 40230; CARRIER=$BG
sleep 0.3
sipp_bg hold-phone lm-hold-phone.xml 127.0.14.61 5261 127.0.14.60:$PORT -mp 41300 \
	-key rtpaddr 127.0.14.61 -key rtpport 40220; PHONE=$BG
for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
read -r a p _ <"$WORK/carrier.sdp" 2>/dev/null; LINE=${a:-127.0.14.60}:${p:-9}
read -r a p _ <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.14.60}:${p:-9}
RTPTONE_WAV="$WORK/held.wav" timeout 15 "$RTPTONE" 127.0.14.62:40230 "$LINE" tone:400 6500 \
	>"$WORK/held.out" 2>&1 &
c=$!; PIDS+=("$c")
timeout 15 "$RTPTONE" 127.0.14.61:40220 "$PHONE_SIDE" tone 6500 >"$WORK/holder.out" 2>&1 &
p=$!; PIDS+=("$p")
snap chanhold.txt 3.5
wait "$p"; wait "$c"
check "hold-music-heard-by-held-party" "$WAVTONE" "$WORK/held.wav" 900 2500
check "hold-music-not-default-class" bash -c "! '$WAVTONE' '$WORK/held.wav' 700 500"
check "before-hold-phone-heard" "$WAVTONE" "$WORK/held.wav" 1000 800
check "channels-verbose-moh" grep -q "media state: moh suggested" "$WORK/chanhold.txt"
check "channels-verbose-relayed-mixmonitor" grep -q "media state: mixmonitor $MON/mix/call.wav, relayed" "$WORK/chanhold.txt"
wait_ok hold-phone "$PHONE" hold-phone
wait_ok hold-carrier "$CARRIER" hold-carrier
sleep 0.5
f=$(ls "$MON"/mix/call.wav 2>/dev/null)
check "mixmonitor-file" test -s "${f:-/nonexistent}"
# Mixed: while both sound each tone has about half of a block's power (share 0.25 asked).
check "mixmonitor-phone-direction" "$WAVTONE" "${f:-/nonexistent}" 1000 1500 0.25
check "mixmonitor-carrier-direction" "$WAVTONE" "${f:-/nonexistent}" 400 1500 0.25

# 14. Dial(...,m): the caller hears the default class (700 Hz) while the carrier rings for 3 s,
# then the carrier's 400 Hz once it answers.
rm -f "$WORK/carrier.sdp"
sipp_bg ring-carrier lm-carrier-ring.xml 127.0.14.62 5262 -mp 41400 \
	-key rtpaddr 127.0.14.62 -key rtpport 40230; CARRIER=$BG
sleep 0.3
call 0512345678 6500
for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && break; sleep 0.1; done
read -r a p _ <"$WORK/carrier.sdp" 2>/dev/null; LINE=${a:-127.0.14.60}:${p:-9}
timeout 15 "$RTPTONE" 127.0.14.62:40230 "$LINE" tone:400 6000 >"$WORK/ring-carrier.out" 2>&1 &
c=$!; PIDS+=("$c")
rt ring-phone.out "$WORK/ring.wav" silence 6000
wait "$c"
check "dial-m-music-while-ringing" "$WAVTONE" "$WORK/ring.wav" 700 2000
check "dial-m-callee-after-answer" "$WAVTONE" "$WORK/ring.wav" 400 1500
end_call dial-m 0512345678
wait_ok ring-carrier "$CARRIER" ring-carrier

# 15. Dial(...,D(123:45)): once the carrier answers, it gets 1, 2, 3 (in-band: its answer has no
# telephone-event) and the phone 4, 5 (RFC 4733).
rm -f "$WORK/carrier.sdp"
sipp_bg dtmf-carrier lm-carrier-ring.xml 127.0.14.62 5262 -mp 41400 \
	-key rtpaddr 127.0.14.62 -key rtpport 40230; CARRIER=$BG
sleep 0.3
call 0612345678 6500
for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && break; sleep 0.1; done
read -r a p _ <"$WORK/carrier.sdp" 2>/dev/null; LINE=${a:-127.0.14.60}:${p:-9}
timeout 15 "$RTPTONE" 127.0.14.62:40230 "$LINE" silence 6000 dtmf=123 >"$WORK/dtmf-carrier.out" 2>&1 &
c=$!; PIDS+=("$c")
rt dtmf-phone.out "" silence 6000 ev=45
check "dial-d-caller-gets-45" test $? = 0
wait "$c"
check "dial-d-callee-gets-123" test $? = 0
sed 's/^/# /' "$WORK/dtmf-carrier.out" "$WORK/dtmf-phone.out" | grep rtptone
end_call dial-d 0612345678
wait_ok dtmf-carrier "$CARRIER" dtmf-carrier

# 16. SendDTMF(7w8,100,120): the phone gets 7, then 8 after a pause; the dialplan goes on.
call 670 4000
rt s670.out "" silence 3500 ev=78
check "senddtmf-phone-gets-78" test $? = 0
check "senddtmf-goes-on" wait_log "LM670 sent"
end_call senddtmf 670

out=$(cli core show channels)
check "no-leaked-channel" grep -q "^0 active channels" <<<"$out"
check "sigterm-clean-exit" stop_daemon
finish
