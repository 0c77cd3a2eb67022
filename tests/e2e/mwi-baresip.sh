#!/usr/bin/env bash
# mwi-baresip.sh: message waiting with a real phone (issue #14): Debian's baresip with its mwi module
# registers as 805 (digest) and SUBSCRIBEs to message-summary; a SIPp phone leaves a message through
# VoiceMail(805@default) with a 1 kHz tone: baresip is told "Messages-Waiting: yes" and
# "Voice-Message: 1/0"; `mikaka voicemail delete` takes it back to "no" and 0/0. On 127.0.10.x only.
#
# baresip 1.0's mwi module re-subscribes every subscription from a 1 ms timer started when the
# module loads, walking a list that each subscription appends to: if the registration's 200 has
# already arrived by then (on loopback it often has), it loops for ever sending SUBSCRIBEs without
# credentials (a client bug, not ours: see docs/VOICEMAIL.md). The account is therefore created
# half a second after start through baresip's UDP console (cons module, /uanew), when that timer
# has long run; every other step is baresip's default behaviour.
. "$(dirname "$0")/lib.sh"

have_baresip || { ok "skipped-no-baresip"; exit 0; }
[ -e /usr/lib/baresip/modules/mwi.so ] || { ok "skipped-no-baresip-mwi"; exit 0; }

PORT=5390
RTPTONE=$TOOLS/rtptone
CONF=$WORK/conf
SPOOL=$WORK/spool
call_sipconf "$CONF" 127.0.10.60 $PORT 127.0.10.62 5392
sip_phone "$CONF" 805 pw805 dynamic mailbox=805
sip_phone "$CONF" 801 pw801 127.0.10.61:5391
rtp_conf "$CONF" 52600 52698
mkdir -p "$SPOOL"
printf '[general]\nspooldir=%s\nmaxsecs=20\nminsecs=1\n[default]\n805 => 5555,Hanako\n' "$SPOOL" \
	>"$CONF/voicemail.conf"
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 800,1,VoiceMail(805@default,s)
 same => n,Hangup()
EOT
[ -x "$RTPTONE" ] || { notok "tools-built"; exit 1; }
daemon_start "$CONF"

BS=$WORK/baresip
baresip_conf "$BS" 127.0.10.66:5396 440 "" "module_app mwi.so" "module_app menu.so" \
	"module cons.so" "cons_listen 127.0.10.66:5380" "net_interface 127.0.10.66"
: >"$BS/accounts"
baresip_bg "$BS" 40
sleep 0.5
python3 - <<'EOP'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"/uanew <sip:805@127.0.10.60:5390>;auth_pass=pw805;regint=300\n", ("127.0.10.66", 5380))
EOP
BLOG=$WORK/baresip.log
wait_blog() { for _ in $(seq 100); do grep -q "$1" "$BLOG" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq 100); do logged "$1" && return 0; sleep 0.1; done; return 1; }

check "baresip-registered" wait_blog "805@127.0.10.60.*200 OK"
check "baresip-subscribed" wait_log "mwi: 805 subscribed to 805@default"
check "baresip-initial-notify-no" wait_blog "Messages-Waiting: no"
check "baresip-one-subscribe" test "$(grep -c 'mwi: subscribing' "$BLOG")" = 1

# A SIPp phone (801) leaves a message after the greeting (~4 s of speech): 1 kHz.
sipp_bg c800 lm-phone-call.xml 127.0.10.61 5391 127.0.10.60:$PORT -mp 41700 -s 800 -d 12000 \
	-key rtpaddr 127.0.10.61 -key rtpport 40620; PHONE=$BG
for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
read -r a p _ <"$WORK/phone.sdp" 2>/dev/null
timeout 20 "$RTPTONE" 127.0.10.61:40620 "${a:-127.0.10.60}:${p:-9}" tone 11500 >"$WORK/tone.out" 2>&1
wait_ok "vm-call" "$PHONE" c800
check "vm-stored" wait_log "voicemail: message 0 for 805@default"
check "vm-wav-1khz" "$TOOLS/wavtone" "$SPOOL/default/805/INBOX/msg0000.wav" 1000 2000
check "baresip-notify-yes" wait_blog "Messages-Waiting: yes"
check "baresip-notify-1-0" wait_blog "Voice-Message: 1/0"

# The CLI deletes it: baresip hears the lamp go out.
n_no=$(grep -c "Messages-Waiting: no" "$BLOG")
check "cli-delete" cli voicemail delete 805 INBOX 0
for _ in $(seq 100); do [ "$(grep -c "Messages-Waiting: no" "$BLOG")" -gt "$n_no" ] && break; sleep 0.1; done
check "baresip-notify-no-after-delete" test "$(grep -c "Messages-Waiting: no" "$BLOG")" -gt "$n_no"
check "baresip-notify-0-0" bash -c "sed -n '/Messages-Waiting: yes/,\$p' '$BLOG' | grep -q 'Voice-Message: 0/0'"
check "no-subscribe-storm" test "$(grep -c 'refused SUBSCRIBE' "$DAEMON_LOG")" -le 2

kill "$BS_PID" 2>/dev/null
wait "$BS_PID" 2>/dev/null
check "sigterm-clean-exit" stop_daemon
finish
