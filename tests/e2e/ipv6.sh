#!/usr/bin/env bash
# ipv6.sh: a phone on IPv6 calls a phone on IPv4 (phones anywhere: mobile networks are often
# IPv6 only). mikakad listens on 127.0.1.90:5060 and [::1]:5060; Debian's baresip as 801 on
# [::1]:5062 registers over IPv6, 802 on 127.0.1.92 over IPv4; 801 calls 802, which answers:
# the relay bridges the two families and each side decodes the other's tone (tools/wavtone);
# 801's media comes from an IPv6 address, 802's from an IPv4 one; `sip show peer` shows the IPv6
# binding; 801 hangs up and the record says ANSWERED. Skipped (with a "# ..." line) without
# baresip or without IPv6 on lo.
. "$(dirname "$0")/lib.sh"

NET=127.0.1
ADDR=$NET.90
CONF=$WORK/conf
if ! have_baresip; then
	echo "# baresip not installed: skipped"
	exit 0
fi
if ! ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	echo "# no IPv6 on lo: skipped"
	exit 0
fi
mkdir -p "$CONF"
cat >"$CONF/sip.conf" <<EOF
[general]
udpbindaddr=$ADDR
udpbindaddr=[::1]:5060
tcpenable=no
context=phones

[phone](!)
type=friend
host=dynamic
context=phones

[801](phone)
secret=pw801
[802](phone)
secret=pw802
EOF
cat >"$CONF/extensions.conf" <<'EOF'
[phones]
exten => _80X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
EOF

daemon_start "$CONF"
wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }
calls_up() { cli core show channels | grep -q "^1 active call"; }
# bs_conf DIR LISTEN INTERFACE FREQ ACCOUNT [LINE]: headless baresip (lib.sh's baresip_conf):
# ausine plays FREQ Hz, sndfile dumps what it decoded; never ALSA.
bs_conf() {
	baresip_conf "$1" "$2" "$4" "$5" "net_interface $3" "rtp_ports 40100-40198" \
		"module sndfile.so" "snd_path $1" "module menu.so" "ausrc_srate 48000" \
		"ausrc_channels 2" ${6:+"$6"}
}
B1=$WORK/baresip801 B2=$WORK/baresip802
bs_conf "$B1" "[::1]:5062" ::1 1000 \
	"<sip:801@[::1]>;auth_pass=pw801;regint=300;audio_codecs=PCMU" "prefer_ipv6 yes"
bs_conf "$B2" "$NET.92:5060" $NET.92 440 \
	"<sip:802@$ADDR>;auth_pass=pw802;regint=300;answermode=auto;audio_codecs=PCMU"
timeout -k 5 60 baresip -f "$B2" -t 40 >"$WORK/baresip802.log" 2>&1 &
PIDS+=($!)
check "ipv4-phone-registers" wait_for 10 peer_ua 802 baresip
timeout -k 5 30 baresip -f "$B1" -t 8 -e "/dial 802" >"$WORK/baresip801.log" 2>&1 &
B1_PID=$!
PIDS+=("$B1_PID")
check "ipv6-phone-registers" wait_for 10 peer_ua 801 baresip
check "ipv6-binding-shown" grep -q "Reg. Contact *: sip:801.*@\[::1\]:5062" <<<"$(cli sip show peer 801)"
check "call-answered" wait_for 10 calls_up
wait "$B1_PID"
check "hangup-ends-call" no_channels
check "cdr-answered" grep -q "SIP/801-.*SIP/802-.*ANSWERED" <<<"$(cli cdr show 1)"
check "ipv6-media-from-ipv6" grep -q "receiving from \[::1\]:" "$WORK/baresip801.log"
check "ipv4-media-from-ipv4" grep -q "receiving from $ADDR:" "$WORK/baresip802.log"
dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
dec2=$(ls "$B2"/dump-*dec*.wav 2>/dev/null | head -1)
check "ipv6-phone-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
check "ipv4-phone-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2/none.wav}" 1000 2000
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
