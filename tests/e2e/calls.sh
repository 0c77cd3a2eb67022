#!/usr/bin/env bash
# calls.sh: calls through the B2BUA with the line and the phone on different loopback addresses:
# SIPp plays the carrier (127.0.0.32) and a phone (127.0.0.33); mikakad listens on every address.
# Checks the carrier's rules on the answer (NGN-NOTES §2.5), a call out to the line, refused
# attempts, the CLI and the call records; the media relay: every side's SDP carries the daemon's
# address facing it and an even port of rtp.conf's range (PCMU only, ptime 20 toward the carrier),
# and RTP sent by tools/rtpsend from the phone side comes back through the relay from a SIPp
# -rtp_echo on the carrier side.
. "$(dirname "$0")/lib.sh"

PORT=5180
CONF=$WORK/conf
call_sipconf "$CONF" 0.0.0.0 $PORT 127.0.0.32 5160
sip_phone "$CONF" 801 pw801 127.0.0.33:5161
sip_phone "$CONF" 802 pw802 dynamic
rtp_conf "$CONF" 50001 50199
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Dial(SIP/801,20)
 same => n,Hangup()
[from_phone]
exten => _0.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

# the web console's /metrics: the RTP counters after the media call (docs/WEB.md, Metrics)
web_conf "$CONF" 127.0.0.31:18783
daemon_start "$CONF"

# 1. The carrier calls in; phone 801 answers; the carrier hangs up.
sipp_bg phone-answer call-phone-uas.xml 127.0.0.33 5161; phone=$BG
sleep 0.3
sipp_bg carrier-in call-carrier-in.xml 127.0.0.32 5160 127.0.0.1:$PORT; carrier=$BG
wait_ok carrier-in "$carrier"
wait_ok phone-answer "$phone"
sleep 0.3
out=$("$MIKAKA" -s "$CTL" cdr show 5)
check "cdr-after-incoming" grep -q "ANSWERED" <<<"$out"
check "cdr-incoming-src-from-pai" grep -q "0901234567" <<<"$out"
out=$("$MIKAKA" -s "$CTL" core show channels)
check "no-leaked-channel" grep -q "^0 active channels" <<<"$out"

# SDP rewriting: read back what each side was sent ("addr port [ptime] formats").
in_range() { [ "$1" -ge 50002 ] && [ "$1" -le 50198 ] && [ $(($1 % 2)) -eq 0 ]; }
sdp_ok() { # file addr want_ptime(0/20) formats-regexp
	local f=$WORK/$1 a p t fm
	[ -s "$f" ] || { echo "no $f"; return 1; }
	if [ "$3" = 20 ]; then read -r a p t fm <"$f"; else read -r a p fm <"$f"; t=; fi
	echo "$1: c=$a m=$p ptime=$t fmts=$fm"
	[ "$a" = "$2" ] && in_range "$p" && { [ "$3" != 20 ] || [ "$t" = 20 ]; } &&
		[[ "$fm" =~ $4 ]]
}
# 2. Media through the relay: the carrier calls in on 127.0.0.31 (so the line side and the phone
# side of the daemon are different addresses); phone 801 answers with media at 127.0.0.33:17078
# and rtpsend sends 50 packets from there; the carrier echoes them (-rtp_echo). Before the
# phone's own call (3.): a late 401 retransmission to 127.0.0.33:5161 would abort this SIPp.
rm -f "$WORK"/*.sdp "$WORK/rtpsend.out"
sipp_bg phone-media call-phone-uas-media.xml 127.0.0.33 5161; phone=$BG
sleep 0.3
sipp_bg carrier-media call-carrier-in-media.xml 127.0.0.32 5160 127.0.0.31:$PORT -mp 16000 \
	-rtp_echo; carrier=$BG
for _ in $(seq 30); do [ -s "$WORK/phone-in.sdp" ] && break; sleep 0.1; done
sleep 0.3 # the 200 and its ACK
read -r raddr rport _ <"$WORK/phone-in.sdp" 2>/dev/null
timeout 10 "$TOOLS/rtpsend" 127.0.0.33:17078 "${raddr:-127.0.0.1}:${rport:-9}" 50 25 \
	>"$WORK/rtpsend.out" 2>&1
out=$("$MIKAKA" -s "$CTL" core show channels verbose)
echo "$out"
check "channels-verbose-media-stats" grep -q "media 127.0.0.31:[0-9]* <-> 127.0.0.32:16000 PCMU" <<<"$out"
wait_ok carrier-media "$carrier"
wait_ok phone-media "$phone"
check "sdp-to-carrier-answer-on-31" sdp_ok carrier-in.sdp 127.0.0.31 20 '^0( 101)?$'
check "sdp-to-phone-offer-on-1" sdp_ok phone-in.sdp 127.0.0.1 0 '^0'
cat "$WORK/rtpsend.out" 2>/dev/null
check "rtp-echoed-through-relay" grep -q "received \(2[5-9]\|[3-4][0-9]\|50\) " "$WORK/rtpsend.out"
sleep 0.3
out=$("$MIKAKA" -s "$CTL" cdr show 1)
check "cdr-after-media-call" grep -q "ANSWERED" <<<"$out"
curl -s --max-time 5 http://127.0.0.31:18783/metrics >"$WORK/m.txt"
# the carrier echoed 25+ of rtpsend's 50 packets: both legs received and sent them
check "metrics-rtp-rx" bash -c "awk '/^mikaka_rtp_packets_total\\{direction=\"rx\"\\}/ { exit !(\$2 >= 50) }' '$WORK/m.txt'"
check "metrics-rtp-tx" bash -c "awk '/^mikaka_rtp_packets_total\\{direction=\"tx\"\\}/ { exit !(\$2 >= 50) }' '$WORK/m.txt'"
check "metrics-rtp-jitter-legs" grep -qx 'mikaka_rtp_jitter_seconds_count 2' "$WORK/m.txt"
grep '^mikaka_rtp' "$WORK/m.txt"
out=$("$MIKAKA" -s "$CTL" core show channels)
check "no-leaked-channel-after-media" grep -q "^0 active channels" <<<"$out"

# 3. Phone 801 calls 0312345678: digest, then out through the line with the carrier's shape.
sipp_bg carrier-out call-carrier-uas.xml 127.0.0.32 5160; carrier=$BG
sleep 0.3
sipp_bg phone-out call-phone-out.xml 127.0.0.33 5161 127.0.0.1:$PORT; phone=$BG
wait_ok phone-out "$phone"
wait_ok carrier-out "$carrier"
sleep 0.3
out=$("$MIKAKA" -s "$CTL" cdr show 1)
check "cdr-after-outgoing" grep -q "0312345678 .*ANSWERED" <<<"$out"

check "sdp-to-carrier-rewritten-pcmu-ptime20" sdp_ok carrier-out.sdp 127.0.0.1 20 '^0( 101)?$'
check "sdp-to-phone-answer-rewritten" sdp_ok phone-out.sdp 127.0.0.1 0 '^0'

# 4. An INVITE to the line side from a phone without credentials: challenged, never routed.
check "unauth-invite-challenged" timeout -k 5 20 sipp 127.0.0.1:$PORT -sf "$E2E/sipp/call-unauth.xml" \
	-i 127.0.0.34 -p 5062 -m 1 -timeout 10s -timeout_error -nostdin
check "refusal-logged" grep -q "refused INVITE from 127.0.0.34" "$DAEMON_LOG"

"$MIKAKA" -s "$CTL" cdr export --csv >"$WORK/cdr.csv"
check "cdr-export-csv" grep -q '"ANSWERED"' "$WORK/cdr.csv"
# Hang-up cause and both legs' Call-IDs are columns of their own (16: normal clearing).
n=$(sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM cdr WHERE disposition = 'ANSWERED' AND
	hangupcause = 16 AND length(callid) > 0 AND length(dstcallid) > 0 AND callid <> dstcallid")
check "cdr-cause-and-callids" [ "${n:-0}" -ge 1 ]
out=$(cli core show calls)
echo "$out" | sed 's/^/# /'
check "core-show-calls-idle" grep -qx "0 active calls" <<<"$out"
check "core-show-calls-processed" grep -q "^[1-9][0-9]* calls\? processed$" <<<"$out"
check "sigterm-clean-exit" stop_daemon
finish
