#!/usr/bin/env bash
# conf.sh: a conference (ConfBridge, as Asterisk's), on 127.0.23.x only. Three SIPp phones call
# extension 900 (ConfBridge(family)); tools/rtptone plays each one's microphone with its own tone
# (500, 900 and 1400 Hz) and records what it hears: each hears the two others mixed and not
# itself. `confbridge list` shows the room and its parties, CONFBRIDGE_INFO(parties,family) gives
# 3 to the dialplan, and the room is gone once everyone has hung up. MeetMe(room) is the same.
. "$(dirname "$0")/lib.sh"

D=127.0.23.60
PORT=5060
CONF=$WORK/conf
WAVTONE=$TOOLS/wavtone
RTPTONE=$TOOLS/rtptone
call_sipconf "$CONF" $D $PORT 127.0.23.59 5160
sip_phone "$CONF" 801 pw801 dynamic
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
check "room-gone" bash -c '! "$1" -s "$2" confbridge list family >/dev/null' _ "$MIKAKA" "$CTL"
check "no-rooms" test "$(cli confbridge list | wc -l)" = 1
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
