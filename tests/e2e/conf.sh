#!/usr/bin/env bash
# conf.sh: a conference (ConfBridge, as Asterisk's), on 127.0.23.x only. Three SIPp phones call
# extension 900 (ConfBridge(family)); tools/rtptone plays each one's microphone with its own tone
# (500, 900 and 1400 Hz) and records what it hears: each hears the two others mixed and not
# itself. Then Debian's baresip (phone 802, a 700 Hz sine as its microphone) and one SIPp phone
# (500 Hz) meet in the room: each hears the other. `confbridge list` shows the room and its parties, CONFBRIDGE_INFO(parties,family) gives
# 3 to the dialplan, and the room is gone once everyone has hung up. MeetMe(room) is the same.
. "$(dirname "$0")/lib.sh"

D=127.0.23.60
PORT=5060
CONF=$WORK/conf
WAVTONE=$TOOLS/wavtone
RTPTONE=$TOOLS/rtptone
call_sipconf "$CONF" $D $PORT 127.0.23.59 5160
sip_phone "$CONF" 801 pw801 dynamic
sip_phone "$CONF" 802 pw802 dynamic
rtp_conf "$CONF" 52400 52498
cat >"$CONF/extensions.conf" <<'EOT'
[from_phone]
exten => 900,1,ConfBridge(family)
exten => 902,1,MeetMe(family)
[from_line]
exten => 901,1,Set(DB(conf/parties)=${CONFBRIDGE_INFO(parties,family)})
 same => n,Busy()
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT
check "config-check-ok" "$MIKAKAD" -C "$CONF" -t
daemon_start "$CONF"
wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
parties() { cli confbridge list | grep -q "^family  *$1 *$"; }

FREQ=(500 900 1400)
PH=()
for i in 0 1 2; do
	ip=127.0.23.6$((i + 1))
	ext=900
	[ $i = 2 ] && ext=902 # MeetMe joins the same room
	sipp_bg "p$i" lm-phone-call.xml $ip 5261 $D:$PORT -s $ext -d 7000 \
		-key rtpaddr $ip -key rtpport 40220 -key workdir "$WORK/p$i"
	mkdir -p "$WORK/p$i"
	PH+=("$BG")
done
check "three-parties" wait_for 10 parties 3
out=$(cli confbridge list family)
echo "$out" | sed 's/^/# /'
check "room-lists-three" grep -q "^3 active parties" <<<"$out"
# The line (SIPp as the NGN) calls 901, whose dialplan keeps CONFBRIDGE_INFO(parties,family).
sipp_bg info db-carrier-in.xml 127.0.23.59 5160 $D:$PORT -s 901
wait_ok "info-call" "$BG" info
check "confbridge-info-parties" grep -qx "Value: 3" <<<"$(cli database get conf parties)"
R=()
for i in 0 1 2; do
	ip=127.0.23.6$((i + 1))
	RTPTONE_WAV="$WORK/heard$i.wav" timeout 15 "$RTPTONE" $ip:40220 - tone:${FREQ[$i]} 4000 \
		>"$WORK/rt$i.out" 2>&1 &
	R+=($!)
	PIDS+=($!)
done
for p in "${R[@]}"; do wait "$p"; done
cli core show channels verbose | grep 'media state' | sed 's/^/# /'
for i in 0 1 2; do
	own=${FREQ[$i]}
	for j in 0 1 2; do
		[ $i = $j ] && continue
		check "party$i-hears-${FREQ[$j]}" "$WAVTONE" "$WORK/heard$i.wav" "${FREQ[$j]}" 1500 0.25
	done
	check "party$i-not-itself" bash -c '! "$1" "$2" "$3" 300 0.1' _ "$WAVTONE" "$WORK/heard$i.wav" "$own"
done
for i in 0 1 2; do wait_ok "party$i-call" "${PH[$i]}" "p$i"; done
# A real phone in the room: baresip (700 Hz) and a SIPp phone with rtptone (500 Hz).
if have_baresip; then
	BS=$WORK/baresip
	baresip_conf "$BS" 127.0.23.65:5062 700 \
		"<sip:802@$D>;auth_pass=pw802;regint=0;audio_codecs=PCMU" "net_interface 127.0.23.65" \
		"rtp_ports 40300-40398" "module sndfile.so" "snd_path $BS" "module menu.so" \
		"ausrc_srate 48000" "ausrc_channels 2"
	timeout -k 5 30 baresip -f "$BS" -t 10 -e "/dial 900" >"$WORK/baresip.log" 2>&1 &
	BS_PID=$!
	PIDS+=("$BS_PID")
	check "baresip-joins" wait_for 10 parties 1
	sipp_bg p3 lm-phone-call.xml 127.0.23.64 5261 $D:$PORT -s 900 -d 6000 \
		-key rtpaddr 127.0.23.64 -key rtpport 40220 -key workdir "$WORK/p3"
	mkdir -p "$WORK/p3"
	P3=$BG
	check "two-parties" wait_for 10 parties 2
	RTPTONE_WAV="$WORK/heard3.wav" timeout 15 "$RTPTONE" 127.0.23.64:40220 - tone:500 4000 \
		>"$WORK/rt3.out" 2>&1
	check "sipp-hears-baresip" "$WAVTONE" "$WORK/heard3.wav" 700 2000
	wait_ok "p3-call" "$P3" p3
	wait "$BS_PID"
	dec=$(ls "$BS"/dump-*dec*.wav 2>/dev/null | head -1)
	check "baresip-hears-sipp" "$WAVTONE" "${dec:-$BS/none.wav}" 500 2000
	check "baresip-not-itself" bash -c '! "$1" "$2" 700 300 0.1' _ "$WAVTONE" "${dec:-$BS/none.wav}"
else
	echo "# baresip not installed: its part skipped"
fi
check "room-gone" bash -c '! "$1" -s "$2" confbridge list family >/dev/null' _ "$MIKAKA" "$CTL"
check "no-rooms" test "$(cli confbridge list | wc -l)" = 1
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
