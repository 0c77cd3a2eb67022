#!/usr/bin/env bash
# voicemail.sh: VoiceMail, its spool, e-mail, message waiting, CLI and VoiceMailMain (issue #14), on 127.0.9.x
# only: mikakad on 127.0.9.60; a SIPp phone 801 (127.0.9.61) calls extension 800 =
# VoiceMail(801@default,u) and tools/rtptone sends a 1 kHz tone for ~6 s before the phone hangs
# up: msg0000.wav (1 kHz, length checked) and msg0000.txt (Asterisk's keys) appear in the spool,
# the index row in SQLite, the mailcmd (a script writing stdin to a file) gets a MIME mail whose
# attachment decodes to the WAV; `voicemail show users/messages` list it; VoiceMailMain reached
# through *97 with RFC 4733 digits logs in (password), 1 plays the message back (1 kHz heard) and
# 7 deletes it; `voicemail delete` deletes a second one; message waiting: phone 803 (mailbox=801) gets a NOTIFY after it
# registers, a SIPp phone SUBSCRIBEd to message-summary follows every change until it
# unsubscribes, peer 802 (fixed, mailbox=801@default) gets them unsolicited; VoiceMailMain's
# options record the unavailable greeting that the next caller hears; the line (SIPp carrier on
# 127.0.9.62) calls the home number, 801 rings unanswered and the Dial timeout leads to VoiceMail. `mikakad -t` reports
# voicemail.conf errors with file:line; MailboxExists() and VM_INFO() (exists, count, fullname,
# email) before VoiceMailMain.
. "$(dirname "$0")/lib.sh"

PORT=5290
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone
CONF=$WORK/conf
DATA=$WORK/data
SOUNDS=$DATA/sounds
SPOOL=$WORK/spool
call_sipconf "$CONF" 127.0.9.60 $PORT 127.0.9.62 5292
sip_phone "$CONF" 801 pw801 127.0.9.61:5291 dtmfmode=rfc2833
printf '[802]\ntype=friend\nhost=127.0.9.63\nport=5293\ncontext=from_phone\nmailbox=801@default\n' \
	>>"$CONF/sip.conf"
sip_phone "$CONF" 803 pw803 dynamic mailbox=801
rtp_conf "$CONF" 52400 52498
mkdir -p "$SOUNDS/en/digits" "$SPOOL"
# Short prompts: the greeting (vm-theperson 8 0 1 vm-isunavail) and the beep.
"$WAVGEN" "$SOUNDS/en/vm-isunavail.wav" 500 300
"$WAVGEN" "$SOUNDS/en/beep.wav" 1000 200
# [notify]: the voicemail event (with the message's seconds) goes to a webhook on 127.0.9.65.
cat >"$CONF/mikaka.conf" <<EOT
[directories]
astdatadir=$DATA
[notify]
url = http://127.0.9.65:8080/hook
events = voicemail
EOT
cat >"$WORK/mail.sh" <<EOT
#!/bin/sh
cat >"$WORK/mail.txt"
EOT
chmod +x "$WORK/mail.sh"
cat >"$CONF/voicemail.conf" <<EOT
[general]
spooldir=$SPOOL
maxsecs=20
minsecs=1
mailcmd=$WORK/mail.sh
emailsubject=New message \${VM_MSGNUM} in \${VM_MAILBOX} from \${VM_CIDNUM}
[default]
801 => 1234,Taro Yamada,taro@example.jp
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Dial(SIP/801,3)
 same => n,VoiceMail(801@default,u)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 800,1,VoiceMail(801@default,u)
 same => n,Log(NOTICE,VM800 VMSTATUS=${VMSTATUS})
 same => n,Hangup()
exten => *97,1,MailboxExists(${CALLERID(num)}@default)
 same => n,Log(NOTICE,VM97 INFO ${VMBOXEXISTSSTATUS} count=${VM_INFO(${CALLERID(num)}@default,count)} exists=${VM_INFO(801,exists)} name=${VM_INFO(801,fullname)} email=${VM_INFO(801@default,email)} other=${VM_INFO(999,exists)} old=${MAILBOX_EXISTS(801)})
 same => n,VoiceMailMain(${CALLERID(num)}@default)
 same => n,Hangup()
exten => h,1,Log(NOTICE,VMH VMSTATUS=${VMSTATUS})
EOT

for t in "$RTPTONE" "$WAVGEN" "$WAVTONE"; do [ -x "$t" ] || { notok "tools-built"; exit 1; }; done
check "config-check" "$MIKAKAD" -t -C "$CONF"
cp -r "$CONF" "$WORK/badconf"
printf '[general]\nmaxmsg=0\n[default]\n801 => 1,Again\n' >>"$WORK/badconf/voicemail.conf"
printf '[bad]\nexten => s,1,VoiceMail()\n' >>"$WORK/badconf/extensions.conf"
"$MIKAKAD" -t -C "$WORK/badconf" >"$WORK/badconf.out" 2>&1
check "config-maxmsg-error-file-line" grep -q "voicemail.conf:10: error: \[general\] maxmsg" "$WORK/badconf.out"
check "config-duplicate-box-error" grep -q "voicemail.conf:12: error: \[default\] mailbox 801 is defined twice" "$WORK/badconf.out"
cp -r "$CONF" "$WORK/warnconf"
printf '[804]\ntype=friend\nhost=dynamic\nsecret=x\nmailbox=999\n' >>"$WORK/warnconf/sip.conf"
"$MIKAKAD" -t -C "$WORK/warnconf" >"$WORK/warnconf.out" 2>&1
check "config-mailbox-unknown-warned" grep -q "sip.conf:[0-9]*: warning: \[804\] mailbox=999@default is not in voicemail.conf" "$WORK/warnconf.out"
check "config-voicemail-needs-box" grep -q "VoiceMail: needs a mailbox" "$WORK/badconf.out"
daemon_start "$CONF"
SIPP_TIMEOUT=25

call() { # EXT HOLD_MS: the SIPp phone calls EXT and hangs up after HOLD_MS
	rm -f "$WORK/phone.sdp"
	sipp_bg "c$1" lm-phone-call.xml 127.0.9.61 5291 127.0.9.60:$PORT -mp 41500 -s "$1" \
		-d "$2" -key rtpaddr 127.0.9.61 -key rtpport 40420; PHONE=$BG
	local a p
	for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.9.60}:${p:-9}
}
rt() { # OUT WAV ARGS...: rtptone as the phone, output $WORK/OUT
	local out=$1 wav=$2; shift 2
	RTPTONE_WAV=$wav timeout 20 "$RTPTONE" 127.0.9.61:40420 "$PHONE_SIDE" "$@" >"$WORK/$out" 2>&1
}
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq 50); do logged "$1" && return 0; sleep 0.1; done; return 1; }
wav_secs() { "$WAVTONE" "$1" 1 0 2>/dev/null | sed -n 's/.* channel(s), \([0-9.]*\) s,.*/\1/p'; }
BOX=$SPOOL/default/801

# Peer 802 (fixed address, mailbox=801@default) takes the unsolicited NOTIFYs of every change:
# 1/0 (message), 2/0 (second message), 1/0 (CLI delete), 0/1 (heard in VoiceMailMain: to Old),
# 0/0 (VoiceMailMain delete).
STMO=90 SM=5 sipp_bg peer mwi-peer-uas.xml 127.0.9.63 5293 -key out peer-notify.txt; PEER=$BG

timeout -k 5 600 python3 "$E2E/notify-recv.py" 127.0.9.65 8080 "$WORK/hook.txt" ok >"$WORK/hook.log" 2>&1 &
PIDS+=($!)

# 1. A caller leaves a message: greeting, beep, ~6 s of 1 kHz, hang-up (the message is kept).
call 800 7500
(sleep 3; cli core show channels verbose >"$WORK/chan800.txt" 2>&1) &
PIDS+=("$!")
rt v1.out "$WORK/v1.wav" tone 7000
wait "$PHONE" && ok "vm-call" || notok "vm-call"
check "channels-verbose-voicemail" grep -q "voicemail: recording a message" "$WORK/chan800.txt"
check "vm-greeting-heard" "$WAVTONE" "$WORK/v1.wav" 500 200
check "vm-stored-log" wait_log "voicemail: message 0 for 801@default"
check "vm-wav-in-inbox" test -s "$BOX/INBOX/msg0000.wav"
check "vm-wav-1khz" "$WAVTONE" "$BOX/INBOX/msg0000.wav" 1000 4000
len=$(wav_secs "$BOX/INBOX/msg0000.wav")
echo "  msg0000.wav: ${len:-?} s"
check "vm-wav-length" awk -v l="${len:-0}" 'BEGIN { exit !(l >= 5.0 && l <= 7.5) }'
check "vm-txt-message-section" grep -q "^\[message\]" "$BOX/INBOX/msg0000.txt"
for k in origmailbox=801 context=from_phone exten=800 "callerid=.*801" origtime= duration= callerchan=; do
	check "vm-txt-$k" grep -q "^$k" "$BOX/INBOX/msg0000.txt"
done
dur=$(sed -n 's/^duration=//p' "$BOX/INBOX/msg0000.txt")
check "vm-txt-duration-matches" awk -v d="${dur:-0}" -v l="${len:-0}" 'BEGIN { exit !(d >= l - 1 && d <= l + 1) }'
check "vm-vmstatus-h" wait_log "VMH VMSTATUS=SUCCESS"
for _ in $(seq 50); do grep -q '"event":"voicemail"' "$WORK/hook.txt" 2>/dev/null && break; sleep 0.1; done
check "notify-voicemail" grep -q '"event":"voicemail".*"number":"801"' "$WORK/hook.txt"
check "notify-voicemail-duration" grep -Eq '"event":"voicemail".*"duration":"?[5-8]"?[,}]' "$WORK/hook.txt"
rows=$(sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM vm_msg WHERE context='default' AND mailbox='801' AND folder='INBOX' AND msgnum=0" 2>&1)
check "vm-index-row" test "$rows" = 1

# 2. The e-mail: mailcmd got a MIME message whose attachment decodes to the WAV.
for _ in $(seq 50); do [ -s "$WORK/mail.txt" ] && break; sleep 0.1; done
check "mail-sent" test -s "$WORK/mail.txt"
check "mail-to" grep -q "^To: \"Taro Yamada\" <taro@example.jp>" "$WORK/mail.txt"
check "mail-subject-vars" grep -q "^Subject: New message 1 in 801 from 801" "$WORK/mail.txt"
check "mail-mime" grep -q "^Content-Type: multipart/mixed" "$WORK/mail.txt"
sed -n '/filename="msg0000.wav"/,/^--/p' "$WORK/mail.txt" | tr -d '\r' | sed '1,2d;/^--/d;/^$/d' |
	base64 -d >"$WORK/att.wav" 2>/dev/null
check "mail-attachment-is-the-wav" cmp -s "$WORK/att.wav" "$BOX/INBOX/msg0000.wav"
check "mail-logged" wait_log "voicemail e-mail sent"

# 3. The CLI lists it.
out=$(cli voicemail show users)
check "cli-show-users" grep -q "^default    801   Taro Yamada .* 1$" <<<"$out"
out=$(cli voicemail show messages 801@default)
check "cli-show-messages" grep -q "^INBOX  0000 .* 801" <<<"$out"

# 3a. Phone 803 (dynamic, mailbox=801) registers: the 200 is followed by a NOTIFY with 1/0 to
# its contact. (A SIPp client cannot take a request of another Call-ID: the registering SIPp
# ends and a SIPp server on the same address takes the NOTIFY's retransmission.)
sipp_register 803 pw803 127.0.9.64 5294 127.0.9.60:$PORT
STMO=15 sipp_bg reg803 mwi-peer-uas.xml 127.0.9.64 5294 -key out reg-notify.txt
wait_ok "mwi-on-register" "$BG" reg803
check "mwi-on-register-counts" grep -qx "1/0" "$WORK/reg-notify.txt"

# 3b. Phone 801 SUBSCRIBEs to message-summary (digest, from another port): 200 with Expires,
# an immediate NOTIFY with 1/0; it then follows every change and unsubscribes after four.
STMO=90 sipp_bg sub mwi-subscribe.xml 127.0.9.61 5295 127.0.9.60:$PORT; SUB=$BG
for _ in $(seq 50); do [ -s "$WORK/sub-notify.txt" ] && break; sleep 0.1; done
check "mwi-subscribe-initial-notify" grep -qx "1/0 active" "$WORK/sub-notify.txt"
check "mwi-body-messages-waiting" grep -q "Messages-Waiting: yes" "$WORK/sipp-sub.msg"
check "mwi-body-message-account" grep -q "Message-Account: sip:\*97@127.0.9.60" "$WORK/sipp-sub.msg"
check "mwi-content-type" grep -qi "Content-Type: application/simple-message-summary" "$WORK/sipp-sub.msg"
out=$(cli voicemail show subscriptions)
check "cli-show-subscriptions" grep -q "^801 .*801@default" <<<"$out"

# 4. A second message, deleted from the CLI: the first stays msg0000.
call 800 4500
rt v2.out "" tone 4000
wait "$PHONE"
check "vm-second-message" wait_log "voicemail: message 1 for 801@default"
check "cli-delete" cli voicemail delete 801 INBOX 1
check "cli-delete-removed" test ! -e "$BOX/INBOX/msg0001.wav"
check "cli-delete-kept-first" test -e "$BOX/INBOX/msg0000.wav"
check "cli-delete-bad-folder" bash -c "! '$MIKAKA' -s '$CTL' voicemail delete 801 Junk 0"

# 5. VoiceMailMain by *97 with RFC 4733 digits: password 1234#, 1 plays message 0 (the caller
# hears its 1 kHz back; heard, it goes to Old at hang-up); in a second call the menu is on Old
# and 7 deletes it.
call '*97' 6000
rt m0.out "$WORK/m0.wav" ev:1234#1 5500
wait "$PHONE"
check "vmmain-listen-hears-message" "$WAVTONE" "$WORK/m0.wav" 1000 2000
check "vmmain-listen-logged" wait_log "VoiceMailMain 801@default: playing INBOX message 0"
check "vm-info-and-mailboxexists" \
	wait_log "VM97 INFO SUCCESS count=[1-9][0-9]* exists=1 name=Taro Yamada email=taro@example.jp other=0 old=1"
check "vmmain-heard-to-old" wait_log "VoiceMailMain 801@default: INBOX message 0 heard: saved to Old"
check "vmmain-heard-in-old" test -e "$BOX/Old/msg0000.wav"
call '*97' 6000
rt m1.out "" ev:1234#7 5500
wait "$PHONE"
check "vmmain-login" wait_log "VoiceMailMain: 801@default logged in"
check "vmmain-delete" wait_log "VoiceMailMain 801@default: deleted Old message 0"
check "vmmain-inbox-empty" test ! -e "$BOX/INBOX/msg0000.wav"
check "vmmain-old-empty" test ! -e "$BOX/Old/msg0000.wav"
rows=$(sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM vm_msg WHERE mailbox='801'" 2>&1)
check "vmmain-index-empty" test "$rows" = 0

# 6. The subscriber saw 2/0, 1/0, 0/1 and 0/0 in order, then Expires: 0 ended it (terminated).
wait_ok "mwi-subscriber" "$SUB" sub
check "mwi-subscriber-sequence" test "$(tr '\n' ' ' <"$WORK/sub-notify.txt")" = "1/0 active 2/0 active 1/0 active 0/1 active 0/0 active 0/0 terminated "
cat "$WORK/sub-notify.txt" | sed 's/^/  sub: /'
out=$(cli voicemail show subscriptions)
check "mwi-unsubscribed" grep -q "^0 message-summary subscriptions" <<<"$out"
# 7. The peer with mailbox= got the same changes unsolicited.
wait_ok "mwi-unsolicited-peer" "$PEER" peer
check "mwi-unsolicited-sequence" test "$(tr '\n' ' ' <"$WORK/peer-notify.txt")" = "1/0 2/0 1/0 0/1 0/0 "
cat "$WORK/peer-notify.txt" | sed 's/^/  peer: /'

# 8. Mailbox options: *97, 1234#, 0, 1 (record the unavailable greeting), then the caller's 1 kHz
# until the hang-up: unavail.wav holds it, and the next VoiceMail caller hears it (1 kHz)
# instead of the default greeting (500 Hz vm-isunavail).
call '*97' 6000
timeout 10 "$RTPTONE" 127.0.9.61:40420 "$PHONE_SIDE" ev:1234#01 2000 >"$WORK/g1.out" 2>&1
timeout 10 "$RTPTONE" 127.0.9.61:40420 "$PHONE_SIDE" tone 3500 >"$WORK/g2.out" 2>&1
wait "$PHONE"
check "greeting-recorded" wait_log "VoiceMailMain 801@default: unavail greeting recorded"
check "greeting-file-1khz" "$WAVTONE" "$BOX/unavail.wav" 1000 1500
call 800 4000
rt v3.out "$WORK/v3.wav" silence 3500
wait "$PHONE"
check "greeting-played-to-caller" "$WAVTONE" "$WORK/v3.wav" 1000 1500

# 9. The line calls the home number, 801 rings (a SIPp phone that never answers) and the Dial
# times out after 3 s: VoiceMail(801@default,u) takes a 1 kHz message with the caller's number.
ls "$BOX/INBOX"/msg*.txt 2>/dev/null | sort >"$WORK/inbox-before.txt"
sipp_bg ring801 call2-phone-cancelled.xml 127.0.9.61 5291 -s 801; RING=$BG
rm -f "$WORK/phone.sdp"
sipp_bg carrier vm-carrier-call.xml 127.0.9.62 5292 127.0.9.60:$PORT -s 0312345678 \
	-d 9000 -key rtpaddr 127.0.9.62 -key rtpport 40440; CARRIER=$BG
for _ in $(seq 100); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
read -r a p _ <"$WORK/phone.sdp" 2>/dev/null
timeout 20 "$RTPTONE" 127.0.9.62:40440 "${a:-127.0.9.60}:${p:-9}" tone 7000 >"$WORK/line.out" 2>&1
wait_ok "line-call-to-voicemail" "$CARRIER" carrier
wait_ok "line-call-rang-801-then-cancelled" "$RING" ring801
check "line-vm-stored-log" wait_log "voicemail: message [0-9]* for 801@default"
new_txt=$(ls "$BOX/INBOX"/msg*.txt 2>/dev/null | sort | comm -13 "$WORK/inbox-before.txt" - | head -1)
check "line-vm-new-message" test -n "$new_txt"
check "line-vm-callerid" grep -q "^callerid=.*09011112222" "${new_txt:-/dev/null}"
check "line-vm-wav-1khz" "$WAVTONE" "${new_txt%.txt}.wav" 1000 3000

out=$(cli core show channels)
check "no-leaked-channel" grep -q "^0 active channels" <<<"$out"
check "sigterm-clean-exit" stop_daemon
finish
