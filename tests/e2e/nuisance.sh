#!/usr/bin/env bash
# nuisance.sh: Asterisk's applications against unwanted callers, on 127.0.18.1-9 only: mikakad on
# 127.0.18.1; a SIPp carrier (127.0.18.2) calls the home number from a withheld number (the NGN's
# "Anonymous" <sip:anonymous@anonymous.invalid>) or from a number; tools/rtptone is the caller's
# media (127.0.18.2:40300), keys RFC 4733 digits and records what it hears. Test sounds are tones
# made by tools/wavgen, one frequency each. Checks: PrivacyManager() asks a withheld caller
# (privacy-unident, privacy-prompt), refuses a short number (privacy-incorrect, asked again),
# takes a good one (privacy-thankyou) which becomes CALLERID(num) with CALLERID(name) "Privacy
# Manager" and PRIVACYMGRSTATUS=SUCCESS; two misses with maxretries 2 set FAILED; a caller with a
# number is not asked; Zapateller(answer) plays the special information tone (950, 1400, 1800 Hz);
# SayAlpha() spells with letters/; SayUnixTime() says a time in a zone; DISA() (the household calling in from a mobile): the dial
# tone, a wrong passcode gets the reorder tone and a hang-up, the right one the dial tone again,
# the digits keyed reach the extension with DISA's caller ID; `mikakad -t` takes them all
# without a warning.
. "$(dirname "$0")/lib.sh"

D=127.0.18.1
CAR=127.0.18.2
PORT=5181
CAR_PORT=5182
RTP_ME=$CAR:40300
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone
CONF=$WORK/conf
DATA=$WORK/data
SOUNDS=$DATA/sounds/en
call_sipconf "$CONF" $D $PORT $CAR $CAR_PORT
rtp_conf "$CONF" 58100 58198
mkdir -p "$SOUNDS/letters" "$SOUNDS/digits"
"$WAVGEN" "$SOUNDS/privacy-unident.wav" 300 800
"$WAVGEN" "$SOUNDS/privacy-prompt.wav" 400 800
"$WAVGEN" "$SOUNDS/privacy-incorrect.wav" 500 800
"$WAVGEN" "$SOUNDS/privacy-thankyou.wav" 1200 800
"$WAVGEN" "$SOUNDS/nz-through.wav" 700 1500
"$WAVGEN" "$SOUNDS/nz-goodbye.wav" 900 1000
"$WAVGEN" "$SOUNDS/letters/a.wav" 600 600
"$WAVGEN" "$SOUNDS/letters/b.wav" 1100 600
"$WAVGEN" "$SOUNDS/digits/9.wav" 650 600
"$WAVGEN" "$SOUNDS/digits/oclock.wav" 850 600
cat >"$CONF/mikaka.conf" <<EOT
[directories]
astdatadir=$DATA
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => 0312345678,1,GotoIf($["${CALLERID(num)}" = "09055556666"]?disa)
 same => n,GotoIf($["${CALLERID(num)}" = "0901234567"]?zap)
 same => n,PrivacyManager(2,10)
 same => n,Log(NOTICE,NZ PRIVACYMGRSTATUS=${PRIVACYMGRSTATUS} CID=${CALLERID(num)} NAME=${CALLERID(name)})
 same => n,GotoIf($["${PRIVACYMGRSTATUS}" = "FAILED"]?bye)
 same => n,Playback(nz-through)
 same => n,Hangup()
 same => n(bye),Playback(nz-goodbye)
 same => n,Hangup()
 same => n(zap),Zapateller(answer|nocallerid)
 same => n,Log(NOTICE,NZ zapateller skipped for a number)
 same => n,Zapateller(answer)
 same => n,Log(NOTICE,NZ zapateller played)
 same => n,SayAlpha(ab)
 same => n,SayUnixTime(1796428800,Asia/Tokyo,IM)
 same => n,Hangup()
 same => n(disa),DISA(2468,disa-out,"Home" <0312345678>)
[disa-out]
exten => 117,1,Log(NOTICE,NZ DISA reached ${EXTEN} CID=${CALLERID(num)} NAME=${CALLERID(name)})
 same => n,Playback(nz-through)
 same => n,Hangup()
exten => 1170,1,Hangup()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

"$MIKAKAD" -t -C "$CONF" >"$WORK/t.out" 2>&1
check "config-check-ok" test $? = 0
check "config-no-asterisk-only-warning" bash -c "! grep -q 'does not have' '$WORK/t.out'"
daemon_start "$CONF"
SIPP_TIMEOUT=30

# incall NAME CID: the carrier calls from CID ("anonymous" or a number) until the dialplan hangs
# up; returns once the answer's SDP is known (SIDE: the daemon's media address).
incall() {
	local host=ntt-east.ne.jp a p
	[ "$2" = anonymous ] && host=anonymous.invalid
	rm -f "$WORK/nz.sdp"
	sipp_bg "$1" nz-carrier-call.xml $CAR $CAR_PORT $D:$PORT -mp 41800 \
		-key cid "$2" -key cidhost "$host" -key rtpaddr $CAR -key rtpport 40300
	CALLER=$BG
	for _ in $(seq 50); do [ -s "$WORK/nz.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/nz.sdp" 2>/dev/null
	SIDE=${a:-$D}:${p:-9}
}
rt() { # OUT SEND MS: rtptone as the caller, what it hears into $WORK/OUT.wav
	RTPTONE_WAV=$WORK/$1.wav timeout 15 "$RTPTONE" "$RTP_ME" "$SIDE" "$2" "$3" >"$WORK/$1.out" 2>&1
}
heard() { "$WAVTONE" "$WORK/$1.wav" "$2" "$3"; } # heard NAME HZ MIN_MS
wait_log() { # PATTERN: up to 5 s for the daemon to log it
	for _ in $(seq 50); do grep -q "$1" "$DAEMON_LOG" && return 0; sleep 0.1; done
	return 1
}

# 1. A withheld caller is asked; "123#" is too short (asked again), "0312345678#" is taken.
incall priv-ok anonymous
rt p1a silence 1800
check "privacy-unident-heard" heard p1a 300 400
check "privacy-prompt-heard" heard p1a 400 400
rt p1b ev:123# 2500
check "privacy-short-number-incorrect" heard p1b 500 400
rt p1c ev:0312345678# 4500
check "privacy-thankyou-heard" heard p1c 1200 400
check "privacy-then-dialplan-goes-on" heard p1c 700 400
check "privacy-number-becomes-callerid" \
	wait_log "NZ PRIVACYMGRSTATUS=SUCCESS CID=0312345678 NAME=Privacy Manager"
wait_ok privacy-call-ok "$CALLER" priv-ok

# 2. Two misses with maxretries 2: FAILED, the caller ID stays, the dialplan decides (goodbye).
incall priv-fail anonymous
rt p2a silence 1800
rt p2b ev:1# 2200
check "privacy-first-miss-incorrect" heard p2b 500 400
rt p2c ev:2# 3000
check "privacy-failed-goodbye" heard p2c 900 400
check "privacy-failed-status" wait_log "NZ PRIVACYMGRSTATUS=FAILED CID=anonymous NAME="
wait_ok privacy-call-fail "$CALLER" priv-fail

# 3. A caller with a number is not asked: straight through, nothing set.
incall priv-skip 0801111111
rt p3 silence 2500
check "privacy-number-not-asked" heard p3 700 1000
check "privacy-number-no-prompt" bash -c "! '$WAVTONE' '$WORK/p3.wav' 300 200"
check "privacy-number-nothing-set" wait_log "NZ PRIVACYMGRSTATUS= CID=0801111111 NAME="
wait_ok privacy-call-skip "$CALLER" priv-skip

# 4. Zapateller: skipped for a number with nocallerid, then played: 950, 1400, 1800 Hz; then
# SayAlpha(ab) spells a (600 Hz), b (1100 Hz); SayUnixTime(09:00 in Tokyo,Asia/Tokyo,IM) says
# "nine" (650 Hz) "o'clock" (850 Hz).
incall zap 0901234567
rt p4 silence 5500
check "zapateller-nocallerid-skips" wait_log "NZ zapateller skipped for a number"
check "zapateller-950hz" heard p4 950 200
check "zapateller-1400hz" heard p4 1400 200
check "zapateller-1800hz" heard p4 1800 200
check "zapateller-goes-on" wait_log "NZ zapateller played"
check "sayalpha-a" heard p4 600 400
check "sayalpha-b" heard p4 1100 400
check "sayunixtime-nine" heard p4 650 400
check "sayunixtime-oclock" heard p4 850 400
wait_ok zapateller-call "$CALLER" zap

# 5. DISA: a wrong passcode gets the reorder tone (400 Hz, 0.5 s on and off) and a hang-up; the
# right one the dial tone again (400 Hz, steady) until the first digit; 117 then # (1170 could
# follow) reaches disa-out,117 with DISA's caller ID, which plays nz-through (700 Hz).
incall disa-bad 09055556666
rt p5a silence 1500
check "disa-dial-tone" heard p5a 400 1000
rt p5b ev:1111# 3000
check "disa-wrong-reorder" heard p5b 400 600
check "disa-wrong-logged" wait_log "DISA: wrong passcode"
wait_ok disa-bad-call "$CALLER" disa-bad
incall disa-ok 09055556666
rt p6a ev:2468# 2500
check "disa-dial-tone-again" heard p6a 400 600
rt p6b ev:117# 3000
check "disa-reached-extension" wait_log "NZ DISA reached 117 CID=0312345678 NAME=Home"
check "disa-call-goes-on" heard p6b 700 400
wait_ok disa-ok-call "$CALLER" disa-ok

check "no-leaked-channel" no_channels
check "daemon-stop" stop_daemon
finish
