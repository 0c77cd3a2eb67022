#!/usr/bin/env bash
# vmmail.sh: voicemail e-mail through a real mail client (issue #14): voicemail.conf's mailcmd is
# Debian's msmtp (`msmtp -t`, the sendmail interface mikaka's default `/usr/sbin/sendmail -t`
# speaks to), which delivers over SMTP to a local sink (tests/e2e/smtp-sink.py, our own minimal
# SMTP server: no MTA runs here). A SIPp phone leaves a message with a 1 kHz tone: the sink gets
# one mail for the box's address whose attachment decodes to the spool's msg0000.wav byte for
# byte; with the sink gone, msmtp fails, the failure is logged and the message stays. On
# 127.0.16.x only.
. "$(dirname "$0")/lib.sh"

command -v msmtp >/dev/null || { notok "msmtp-installed"; exit 1; }
PORT=5490
RTPTONE=$TOOLS/rtptone
CONF=$WORK/conf
SPOOL=$WORK/spool
BOX=$SPOOL/default/801
call_sipconf "$CONF" 127.0.16.60 $PORT 127.0.16.62 5492
sip_phone "$CONF" 801 pw801 127.0.16.61:5491
rtp_conf "$CONF" 52700 52798
mkdir -p "$SPOOL"
cat >"$WORK/msmtprc" <<EOT
account default
host 127.0.16.65
port 2525
from voicemail@mikaka.test
auth off
tls off
EOT
chmod 600 "$WORK/msmtprc"
cat >"$CONF/voicemail.conf" <<EOT
[general]
spooldir=$SPOOL
maxsecs=20
minsecs=1
mailtimeout=10
mailcmd=msmtp -t -C $WORK/msmtprc
serveremail=voicemail@mikaka.test
[default]
801 => 1234,Taro Yamada,taro@example.jp
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 800,1,VoiceMail(801@default,s)
 same => n,Hangup()
EOT
[ -x "$RTPTONE" ] || { notok "tools-built"; exit 1; }
daemon_start "$CONF"
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq 150); do logged "$1" && return 0; sleep 0.1; done; return 1; }

timeout -k 5 120 python3 "$E2E/smtp-sink.py" 127.0.16.65 2525 "$WORK/sink.txt" 100 \
	>"$WORK/sink.log" 2>&1 &
SINK=$!
PIDS+=("$SINK")
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.16.65/2525) 2>/dev/null && break; sleep 0.1; done

leave_message() { # N: the SIPp phone leaves message N (greeting ~4 s, then ~4 s of 1 kHz)
	rm -f "$WORK/phone.sdp"
	sipp_bg "c$1" lm-phone-call.xml 127.0.16.61 5491 127.0.16.60:$PORT -mp 41800 -s 800 \
		-d 10000 -key rtpaddr 127.0.16.61 -key rtpport 40720; PHONE=$BG
	for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null
	timeout 20 "$RTPTONE" 127.0.16.61:40720 "${a:-127.0.16.60}:${p:-9}" tone 9500 \
		>"$WORK/tone$1.out" 2>&1
	wait_ok "vm-call-$1" "$PHONE" "c$1"
}

leave_message 1
check "vm-stored" wait_log "voicemail: message 0 for 801@default"
check "vm-wav-1khz" "$TOOLS/wavtone" "$BOX/INBOX/msg0000.wav" 1000 2000
for _ in $(seq 100); do grep -q '^\.$' "$WORK/sink.txt" 2>/dev/null && break; sleep 0.1; done
check "smtp-mail-received" grep -q '^\.$' "$WORK/sink.txt"
check "smtp-one-mail" test "$(grep -c '^X-Envelope-To:' "$WORK/sink.txt" 2>/dev/null)" = 1
check "smtp-envelope-rcpt" grep -q '^X-Envelope-To: <taro@example.jp>' "$WORK/sink.txt"
check "smtp-header-to" grep -q '^To: "Taro Yamada" <taro@example.jp>' "$WORK/sink.txt"
check "smtp-mime" grep -q '^Content-Type: multipart/mixed' "$WORK/sink.txt"
sed -n '/filename="msg0000.wav"/,/^--/p' "$WORK/sink.txt" | tr -d '\r' | sed '1,2d;/^--/d;/^$/d' |
	base64 -d >"$WORK/att.wav" 2>/dev/null
check "smtp-attachment-is-the-wav" cmp -s "$WORK/att.wav" "$BOX/INBOX/msg0000.wav"
check "mail-logged" wait_log "voicemail e-mail sent"

# The sink is gone: msmtp cannot connect and exits non-zero; logged, the message stays.
kill "$SINK" 2>/dev/null
wait "$SINK" 2>/dev/null
leave_message 2
check "vm-second-stored" wait_log "voicemail: message 1 for 801@default"
check "mail-failure-logged" wait_log "voicemail e-mail: .msmtp.* failed"
check "message-kept-after-mail-failure" test -s "$BOX/INBOX/msg0001.wav"
rows=$(sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM vm_msg WHERE mailbox='801'" 2>&1)
check "index-rows-kept" test "$rows" = 2
check "sigterm-clean-exit" stop_daemon
finish
