#!/usr/bin/env bash
# vmbad.sh: voicemail's bad input (issue #14) and Asterisk's greeting exits, on 127.0.15.x only:
# mikakad on 127.0.15.60 and a SIPp phone 801 (127.0.15.61) with tools/rtptone as its audio.
# A mailcmd that fails (exit 1) and one that hangs (killed with its children after
# mailtimeout=2): logged, the message stays in the spool and the index; a mailbox without e-mail:
# stored, no mail attempted; a caller that never hangs up: maxsecs=3 ends the recording and
# mikaka sends the BYE, ~3 s stored; a spool on a full disk (a 32 KiB tmpfs over one context's
# directory, in a private mount namespace: needs root): the call ends with the goodbye prompt,
# VMSTATUS=FAILED, nothing half-made left or indexed, and the daemon keeps serving (a short
# message then fits); a flood of 600 RFC 4733 digits in VoiceMailMain's menu: no crash, the
# message still there and key 1 still plays it; '*' and '0' during VoiceMail's greeting jump to
# extensions a and o, and are ignored in a context without them; VoiceMailMain's options 3
# records the name that the default greeting then says, options 5 changes the password in
# voicemail.conf; a phone's language= picks sounds/LANG/.
if [ "${VMBAD_MNT:-}" != 1 ] && [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	VMBAD_MNT=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

PORT=5310
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone
CONF=$WORK/conf
DATA=$WORK/data
SOUNDS=$DATA/sounds
SPOOL=$WORK/spool
trap 'umount -l "$SPOOL/full" 2>/dev/null; cleanup' EXIT
call_sipconf "$CONF" 127.0.15.60 $PORT 127.0.15.62 5312
sip_phone "$CONF" 801 pw801 127.0.15.61:5311 dtmfmode=rfc2833
rtp_conf "$CONF" 52600 52698
mkdir -p "$SOUNDS/en/digits" "$SPOOL/full"
# The greeting's last word lasts 2 s (time to press a key in it); the beep; the goodbye (700 Hz).
"$WAVGEN" "$SOUNDS/en/vm-isunavail.wav" 500 2000
"$WAVGEN" "$SOUNDS/en/beep.wav" 1000 200
"$WAVGEN" "$SOUNDS/en/vm-goodbye.wav" 700 600
mkdir -p "$SOUNDS/ja"
"$WAVGEN" "$SOUNDS/ja/vm-isunavail.wav" 900 2000
printf '[directories]\nastdatadir=%s\n' "$DATA" >"$CONF/mikaka.conf"
# The mailcmd does what $WORK/mailmode says (ok, fail, hang) and notes every run.
cat >"$WORK/mail.sh" <<EOT
#!/bin/sh
echo run >>"$WORK/mail-runs.txt"
case "\$(cat "$WORK/mailmode")" in
fail) cat >/dev/null; exit 1 ;;
hang) sleep 1000 & echo \$! >"$WORK/sleep.pid"; wait ;;
*) cat >"$WORK/mail.txt" ;;
esac
EOT
chmod +x "$WORK/mail.sh"
cat >"$CONF/voicemail.conf" <<EOT
[general]
spooldir=$SPOOL
maxsecs=3
minsecs=1
maxsilence=0
mailcmd=$WORK/mail.sh
mailtimeout=2
[default]
801 => 1234,Taro Yamada,taro@example.jp
802 => 4321,Hanako
[full]
900 => 9999,Disk Full,full@example.jp
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 800,1,VoiceMail(801@default,u)
 same => n,Log(NOTICE,VM800 VMSTATUS=${VMSTATUS})
 same => n,Hangup()
exten => 802,1,VoiceMail(802@default,u)
 same => n,Hangup()
exten => 900,1,VoiceMail(900@full,s)
 same => n,Log(NOTICE,VM900 VMSTATUS=${VMSTATUS})
 same => n,Hangup()
exten => 820,1,Goto(noexit,s,1)
exten => *97,1,VoiceMailMain(${CALLERID(num)}@default)
 same => n,Hangup()
exten => a,1,Log(NOTICE,VMEXIT a VMSTATUS=${VMSTATUS})
 same => n,Hangup()
exten => o,1,Log(NOTICE,VMEXIT o VMSTATUS=${VMSTATUS})
 same => n,Hangup()
[noexit]
exten => s,1,VoiceMail(801@default,u)
 same => n,Log(NOTICE,VMNOEXIT VMSTATUS=${VMSTATUS})
 same => n,Hangup()
EOT

for t in "$RTPTONE" "$WAVGEN" "$WAVTONE"; do [ -x "$t" ] || { notok "tools-built"; exit 1; }; done
check "config-check" "$MIKAKAD" -t -C "$CONF"
cp -r "$CONF" "$WORK/badconf"
sed -i 's/^mailtimeout=2/mailtimeout=0/' "$WORK/badconf/voicemail.conf"
"$MIKAKAD" -t -C "$WORK/badconf" >"$WORK/badconf.out" 2>&1
check "config-mailtimeout-range" grep -q "voicemail.conf:7: error: .*mailtimeout" "$WORK/badconf.out"
daemon_start "$CONF"
SIPP_TIMEOUT=25

call() { # EXT HOLD_MS [SCENARIO]: the SIPp phone calls EXT and hangs up after HOLD_MS
	rm -f "$WORK/phone.sdp"
	sipp_bg "c$1" "${3:-lm-phone-call.xml}" 127.0.15.61 5311 127.0.15.60:$PORT -mp 41600 -s "$1" \
		-d "$2" -key rtpaddr 127.0.15.61 -key rtpport 40620; PHONE=$BG
	local a p
	for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.15.60}:${p:-9}
}
rt() { # OUT WAV ARGS...: rtptone as the phone, output $WORK/OUT
	local out=$1 wav=$2; shift 2
	RTPTONE_WAV=$wav timeout 70 "$RTPTONE" 127.0.15.61:40620 "$PHONE_SIDE" "$@" >"$WORK/$out" 2>&1
}
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq "${2:-50}"); do logged "$1" && return 0; sleep 0.1; done; return 1; }
wav_secs() { "$WAVTONE" "$1" 1 0 2>/dev/null | sed -n 's/.* channel(s), \([0-9.]*\) s,.*/\1/p'; }
rows() { sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM vm_msg WHERE context='$1' AND mailbox='$2'" 2>&1; }
runs() { wc -l <"$WORK/mail-runs.txt" 2>/dev/null || echo 0; }
BOX=$SPOOL/default/801
: >"$WORK/mail-runs.txt"

# 1. A mailcmd that fails: logged with its exit status; the message stays (files and index).
echo fail >"$WORK/mailmode"
call 800 5000
rt f.out "" tone 4500
wait "$PHONE"
check "mailfail-stored" wait_log "voicemail: message 0 for 801@default"
check "mailfail-logged" wait_log "voicemail e-mail: '$WORK/mail.sh' failed (exit status 1); the message stays"
check "mailfail-wav-stays" test -s "$BOX/INBOX/msg0000.wav"
check "mailfail-txt-stays" test -s "$BOX/INBOX/msg0000.txt"
check "mailfail-index-row" test "$(rows default 801)" = 1

# 2. A mailcmd that hangs (its shell waits on a child sleep 1000): killed with the child after
# mailtimeout=2 s, logged; the message stays.
echo hang >"$WORK/mailmode"
call 800 4000
rt h.out "" tone 3500
wait "$PHONE"
check "mailhang-stored" wait_log "voicemail: message 1 for 801@default"
check "mailhang-killed-logged" wait_log "did not finish in 2 s; killed" 60
spid=$(cat "$WORK/sleep.pid" 2>/dev/null)
# (a zombie waiting for init to reap it counts as killed)
live() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
for _ in $(seq 20); do live "${spid:-0}" || break; sleep 0.1; done
dead() { [ -n "$1" ] && ! live "$1"; }
check "mailhang-child-killed" dead "${spid:-}"
check "mailhang-message-stays" test -s "$BOX/INBOX/msg0001.wav"
check "mailhang-index-rows" test "$(rows default 801)" = 2
check "mailhang-daemon-alive" daemon_alive

# 3. A mailbox without e-mail: stored, no mail attempted.
echo ok >"$WORK/mailmode"
before=$(runs)
call 802 4000
rt n.out "" tone 3500
wait "$PHONE"
check "noemail-stored" wait_log "voicemail: message 0 for 802@default"
check "noemail-index-row" test "$(rows default 802)" = 1
sleep 0.5
check "noemail-no-mailcmd-run" test "$(runs)" = "$before"
check "noemail-nothing-logged" bash -c "! grep -q 'e-mail.*802' '$DAEMON_LOG'"

# 4. A caller that never hangs up: maxsecs=3 ends the recording, mikaka plays the goodbye and
# sends the BYE (the SIPp phone waits for it); the message holds ~3 s.
STMO=20 call 800 0 vm-phone-stay.xml
t0=$(date +%s%N)
rt s.out "$WORK/s.wav" tone 8000
wait_ok "maxsecs-bye-from-mikaka" "$PHONE" c800
t1=$(date -r "$WORK/sipp-c800.msg" +%s%N) # its last message: the 200 to the BYE
secs=$(( (t1 - t0) / 1000000000 ))
echo "  call ended by mikaka after ${secs} s"
check "maxsecs-bounded" test "$secs" -le 10
check "maxsecs-stored" wait_log "voicemail: message 2 for 801@default"
len=$(wav_secs "$BOX/INBOX/msg0002.wav")
echo "  msg0002.wav: ${len:-?} s"
check "maxsecs-length" awk -v l="${len:-0}" 'BEGIN { exit !(l >= 2.5 && l <= 3.5) }'
check "maxsecs-goodbye-heard" "$WAVTONE" "$WORK/s.wav" 700 300
check "maxsecs-vmstatus" wait_log "VM800 VMSTATUS=SUCCESS"

# 5. A spool on a full disk: context full's directory is a 12 KiB tmpfs; the recorder's first
# one-second write (16 KB) does not fit: the write error ends the recording, the caller hears the
# goodbye and the call ends, VMSTATUS=FAILED, no msg file and no tmp file is left, no index row,
# the space is given back (the file closed), and the daemon keeps serving (the next sections).
if [ "${VMBAD_MNT:-}" = 1 ] && mount -t tmpfs -o size=12k,mode=0755 tmpfs "$SPOOL/full" 2>"$WORK/mount.err"; then
	call 900 5000
	rt d.out "$WORK/d.wav" tone 4500
	wait "$PHONE"
	check "diskfull-logged" wait_log "VoiceMail 900@full: recording failed: No space left on device"
	check "diskfull-vmstatus-failed" wait_log "VM900 VMSTATUS=FAILED"
	check "diskfull-goodbye-heard" "$WAVTONE" "$WORK/d.wav" 700 300
	check "diskfull-no-message" bash -c "! ls '$SPOOL/full/900/INBOX/' 2>/dev/null | grep -q msg"
	check "diskfull-no-tmp-left" bash -c "[ -z \"\$(ls -A '$SPOOL/full/900/tmp' 2>/dev/null)\" ]"
	check "diskfull-no-index-row" test "$(rows full 900)" = 0
	used=$(df -k --output=used "$SPOOL/full" | tail -1 | tr -d ' ')
	echo "  tmpfs used after the failure: ${used:-?} KiB"
	check "diskfull-space-released" test "${used:-99}" -lt 4
	check "diskfull-daemon-alive" daemon_alive
else
	notok "diskfull-needs-root-and-a-mount-namespace"
	cat "$WORK/mount.err" 2>/dev/null
fi

# 6. A DTMF flood in VoiceMailMain: login, then 600 RFC 4733 events (keys 1 2 3 4 5 6 8: play,
# previous, repeat, next, invalid) in 1.2 s; the daemon lives, no message was lost, and the menu
# still answers: 1 plays message 0 (1 kHz).
call '*97' 14000
rt m0.out "" ev:1234# 1500
rt m1.out "" evflood:600:1234568 2000
sleep 1
rt m2.out "$WORK/m2.wav" ev:1 4000
wait "$PHONE"
check "flood-daemon-alive" daemon_alive
check "flood-logged-in" wait_log "VoiceMailMain: 801@default logged in"
check "flood-menu-still-plays" "$WAVTONE" "$WORK/m2.wav" 1000 1000
check "flood-messages-kept" test "$(rows default 801)" = 3
n=$(grep -c "VoiceMailMain 801@default: playing" "$DAEMON_LOG")
echo "  $n playbacks started"
check "flood-keys-acted" test "$n" -gt 10

# 7. '*' during the greeting goes to extension a, '0' to o (VMSTATUS=USEREXIT); in a context
# without them the key is ignored and the message recorded.
call 800 3500
rt a.out "" ev:* 3000
wait "$PHONE"
check "greeting-star-to-a" wait_log "VMEXIT a VMSTATUS=USEREXIT"
call 800 3500
rt o.out "" ev:0 3000
wait "$PHONE"
check "greeting-zero-to-o" wait_log "VMEXIT o VMSTATUS=USEREXIT"
cnt=$(ls "$BOX/INBOX"/msg*.wav "$BOX/Old"/msg*.wav 2>/dev/null | wc -l)
call 820 6500
rt x.out "" ev:* 1000
rt x2.out "" tone 5000
wait "$PHONE"
check "greeting-star-ignored-without-a" wait_log "VMNOEXIT VMSTATUS=SUCCESS"
check "greeting-star-ignored-message-left" test "$(ls "$BOX/INBOX"/msg*.wav "$BOX/Old"/msg*.wav 2>/dev/null | wc -l)" = $((cnt + 1))

# 8. Mailbox options 3 records the name (greet.wav): *97, 1234#, 0, 3, then 1.5 kHz until the
# hang-up; the next VoiceMail caller hears the name (1.5 kHz) where the digits were.
call '*97' 6000
timeout 10 "$RTPTONE" 127.0.15.61:40620 "$PHONE_SIDE" ev:1234#03 2000 >"$WORK/g1.out" 2>&1
timeout 10 "$RTPTONE" 127.0.15.61:40620 "$PHONE_SIDE" tone:1500:9000 3500 >"$WORK/g2.out" 2>&1
wait "$PHONE"
check "name-recorded" wait_log "VoiceMailMain 801@default: greet greeting recorded"
check "name-file-1500hz" "$WAVTONE" "$BOX/greet.wav" 1500 1000
call 800 3000
rt v3.out "$WORK/v3.wav" silence 2500
wait "$PHONE"
check "name-played-in-greeting" "$WAVTONE" "$WORK/v3.wav" 1500 1000

# 8a. Mailbox options 5 changes the password (entered twice): voicemail.conf's line for 801 now
# holds 4321, the rest of the line kept; the next login takes 4321 (and not 1234).
call '*97' 6500
rt p.out "" ev:1234#054321#4321# 6000
wait "$PHONE"
check "password-changed-logged" wait_log "VoiceMailMain 801@default: password changed"
check "password-in-voicemail-conf" grep -q "^801 => 4321,Taro Yamada,taro@example.jp$" "$CONF/voicemail.conf"
check "password-conf-still-valid" "$MIKAKAD" -t -C "$CONF"
n0=$(grep -c "801@default logged in" "$DAEMON_LOG")
call '*97' 3000
rt p2.out "" ev:1234# 2500
wait "$PHONE"
check "password-old-refused" wait_log "login to 801@default failed"
call '*97' 3000
rt p3.out "" ev:4321# 2500
wait "$PHONE"
check "password-new-accepted" test "$(grep -c "801@default logged in" "$DAEMON_LOG")" = $((n0 + 1))

# 9. language=ja on phone 801 (sip.conf, applied by a reload): its calls take sounds/ja/, so
# the greeting's last word is the 900 Hz Japanese one, not the 500 Hz English one.
rm -f "$BOX/greet.wav"
echo "language=ja" >>"$CONF/sip.conf"
check "language-reload" cli reload
call 800 3500
rt l.out "$WORK/l.wav" silence 3000
wait "$PHONE"
check "language-ja-greeting-heard" "$WAVTONE" "$WORK/l.wav" 900 1500
check "language-en-greeting-not-heard" bash -c "! '$WAVTONE' '$WORK/l.wav' 500 300"

check "no-leaked-channel" no_channels
check "sigterm-clean-exit" stop_daemon
umount -l "$SPOOL/full" 2>/dev/null
finish
