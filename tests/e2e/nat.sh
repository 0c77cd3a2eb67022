#!/usr/bin/env bash
# nat.sh: mikaka behind a home router, a phone outside (sip.conf externaddr= and localnet=, as in
# Asterisk). Three network namespaces joined by veth pairs (documentation prefixes only): the
# home LAN 192.168.77.0/24 with mikakad (.10) and phone 802 (.20, Debian's baresip); a router
# (192.168.77.1 inside, 203.0.113.1 outside) that forwards UDP 5060 and the rtp.conf range to
# mikakad and masquerades the rest (iptables, as a home router does); the internet side with
# phone 801 (203.0.113.2, baresip) registering to the router's public address. 801 calls 802:
# the outside phone is told 203.0.113.1 (Contact, SDP) and the inside phone 192.168.77.10, and
# each decodes the other's tone (tools/wavtone). Without externaddr the outside phone would send
# its audio to 192.168.77.10, which it has no route to. `sip show settings` shows both keys;
# `mikakad -t` names file:line for a bad localnet.
. "$(dirname "$0")/lib.sh"

NS_L=mikaka-nat$$l # the home LAN
NS_R=mikaka-nat$$r # the router
NS_W=mikaka-nat$$w # the internet
nat_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS_L" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
	ip netns del "$NS_W" 2>/dev/null
	if [ "${KEEP_WORK:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap nat_cleanup EXIT

if ! have_baresip; then echo "# baresip not installed: skipped"; exit 0; fi
if ! command -v iptables >/dev/null; then notok "nat-needs-iptables"; exit 1; fi
if [ "$(id -u)" != 0 ]; then notok "nat-needs-root"; exit 1; fi
ip netns add "$NS_L" && ip netns add "$NS_R" && ip netns add "$NS_W" &&
	ip link add nl$$ netns "$NS_L" type veth peer name rl$$ netns "$NS_R" &&
	ip link add nw$$ netns "$NS_W" type veth peer name rw$$ netns "$NS_R" &&
	for ns in "$NS_L" "$NS_R" "$NS_W"; do ip -n "$ns" link set lo up || exit 1; done &&
	ip -n "$NS_L" link set nl$$ up && ip -n "$NS_R" link set rl$$ up &&
	ip -n "$NS_R" link set rw$$ up && ip -n "$NS_W" link set nw$$ up &&
	ip -n "$NS_L" addr add 192.168.77.10/24 dev nl$$ &&
	ip -n "$NS_L" addr add 192.168.77.20/24 dev nl$$ &&
	ip -n "$NS_L" route add default via 192.168.77.1 &&
	ip -n "$NS_R" addr add 192.168.77.1/24 dev rl$$ &&
	ip -n "$NS_R" addr add 203.0.113.1/24 dev rw$$ &&
	ip -n "$NS_W" addr add 203.0.113.2/24 dev nw$$ &&
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
check "nat-netns-setup" test $? = 0
# The router's NAT needs the kernel's netfilter NAT; a kernel without it skips the rest.
if ! { ip netns exec "$NS_R" iptables -t nat -A PREROUTING -i rw$$ -p udp --dport 5060 \
	-j DNAT --to-destination 192.168.77.10 &&
	ip netns exec "$NS_R" iptables -t nat -A PREROUTING -i rw$$ -p udp --dport 30000:30099 \
		-j DNAT --to-destination 192.168.77.10 &&
	ip netns exec "$NS_R" iptables -t nat -A POSTROUTING -o rw$$ -j MASQUERADE; }; then
	echo "# iptables NAT not available in this kernel: skipped"
	exit 0
fi

CONF=$WORK/conf
mkdir -p "$CONF"
cat >"$CONF/sip.conf" <<EOF
[general]
udpbindaddr=192.168.77.10
tcpenable=no
context=phones
externaddr=203.0.113.1
localnet=192.168.77.0/255.255.255.0

[phone](!)
type=friend
host=dynamic
context=phones

[801](phone)
secret=pw801
[802](phone)
secret=pw802
EOF
printf '[general]\nrtpstart=30000\nrtpend=30099\n' >"$CONF/rtp.conf"
cat >"$CONF/extensions.conf" <<'EOF'
[phones]
exten => _80X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
EOF

# -t: a bad localnet names file:line.
mkdir -p "$WORK/bad" && cp "$CONF/extensions.conf" "$WORK/bad/" &&
	sed 's#^localnet=.*#localnet=192.168.77.0/33#' "$CONF/sip.conf" >"$WORK/bad/sip.conf"
out=$("$MIKAKAD" -C "$WORK/bad" -t 2>&1)
check "bad-localnet-file-line" grep -q "sip.conf:6: error: .*localnet" <<<"$out"

cat >"$WORK/mikakad-in-lan" <<EOF
#!/bin/sh
exec ip netns exec $NS_L $MIKAKAD "\$@"
EOF
chmod +x "$WORK/mikakad-in-lan"
MIKAKAD=$WORK/mikakad-in-lan
daemon_start "$CONF"
out=$(cli sip show settings)
check "settings-externaddr" grep -q "Externaddr: *203.0.113.1" <<<"$out"
check "settings-localnet" grep -q "Localnet: *192.168.77.0/255.255.255.0" <<<"$out"

wait_for() {
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }
calls_up() { cli core show channels | grep -q "^1 active call"; }
bs_conf() { # DIR IP FREQ ACCOUNT
	baresip_conf "$1" "$2:5062" "$3" "$4" "net_interface $2" "rtp_ports 40100-40198" \
		"module sndfile.so" "snd_path $1" "module menu.so" "ausrc_srate 48000" \
		"ausrc_channels 2"
}
B1=$WORK/baresip801 B2=$WORK/baresip802
bs_conf "$B1" 203.0.113.2 1000 "<sip:801@203.0.113.1>;auth_pass=pw801;regint=300;audio_codecs=PCMU"
bs_conf "$B2" 192.168.77.20 440 \
	"<sip:802@192.168.77.10>;auth_pass=pw802;regint=300;answermode=auto;audio_codecs=PCMU"
timeout -k 5 60 ip netns exec "$NS_L" baresip -f "$B2" -t 40 >"$WORK/baresip802.log" 2>&1 &
PIDS+=($!)
check "inside-phone-registers" wait_for 10 peer_ua 802 baresip
timeout -k 5 30 ip netns exec "$NS_W" baresip -f "$B1" -t 8 -e "/dial 802" \
	>"$WORK/baresip801.log" 2>&1 &
B1_PID=$!
PIDS+=("$B1_PID")
check "outside-phone-registers" wait_for 10 peer_ua 801 baresip
check "outside-binding-public" grep -q "Addr->IP *: 203.0.113.2:5062" <<<"$(cli sip show peer 801)"
check "call-answered" wait_for 10 calls_up
cli core show channels verbose | sed 's/^/# /'
wait "$B1_PID"
check "hangup-ends-call" no_channels
check "outside-media-from-public" grep -q "receiving from 203.0.113.1:300[0-9][0-9]" "$WORK/baresip801.log"
check "inside-media-from-lan" grep -q "receiving from 192.168.77.10:300[0-9][0-9]" "$WORK/baresip802.log"
dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
dec2=$(ls "$B2"/dump-*dec*.wav 2>/dev/null | head -1)
check "outside-phone-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
check "inside-phone-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2/none.wav}" 1000 2000
check "alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
