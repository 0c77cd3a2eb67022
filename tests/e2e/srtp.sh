#!/usr/bin/env bash
# srtp.sh: SRTP with SDES keys (issue 13, part 2). On 127.0.13.x only (the daemon on 127.0.13.1:
# UDP 5060, TLS 5061). Real phones: baresip (Debian's, module srtp) as
#   801 over TLS, encryption=yes in sip.conf, ;mediaenc=srtp-mand (RTP/SAVP with a=crypto),
#   802 over UDP, plain RTP,
#   803 encryption=yes with transport=udp (warned by -t), registered over UDP.
#  1. 801 calls 802 and 802 calls 801: the call is answered, each side hears the other's tone
#     (checked by frequency); a capture of the RTP shows 801's leg encrypted (none of the PCMU
#     payloads 802 sent is found in what the relay sent 801, the packets carry a tag) while
#     802's leg is plain (the payloads are found there).
#     RFC 4733 digits 801 sends (ctrl_tcp sndcode) are recognised by the relay after decryption.
#  2. 801 over TLS offering plain RTP (no mediaenc): 488, the call never rings 802.
#  3. 803 (encryption=yes) over UDP offering SRTP: 488 (SDES keys only over TLS).
#  4. No a=crypto key and no "inline:" ever appears in the daemon's log (run with -v).
#  5. One peer, three devices: 804 registered by two SIPp phones over UDP (two contacts) and by
#     baresip over TLS; `sip show peer 804` lists the bindings (transport, address, user agent,
#     expiry), `sip show peers` says TLS,UDP; a call to 804 rings all three, baresip answers,
#     both SIPp phones get CANCEL with Reason: SIP;cause=200;text="Call completed elsewhere".
#  6. transport= as in Asterisk: 801 (transport=tls) registering over UDP with the right
#     password gets 401 then 403; calling over UDP gets 403.
# The daemon survives it all with no sanitizer report.
. "$(dirname "$0")/lib.sh"

NET=127.0.13
ADDR=$NET.1
CONF=$WORK/conf
mkdir -p "$CONF"

wait_for() { # wait_for SECONDS COMMAND...: polls every 0.2 s until the command succeeds
	local n=$(($1 * 5)); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}

cat >"$CONF/sip.conf" <<EOF
[general]
udpbindaddr=$ADDR
bindport=5060
tcpenable=no
tlsenable=yes
tlsbindaddr=$ADDR
context=phones

[phone](!)
type=friend
host=dynamic
context=phones

[801](phone)
secret=pw801
transport=tls
encryption=yes
[802](phone)
secret=pw802
[803](phone)
secret=pw803
transport=udp
encryption=yes
[804](phone)
secret=pw804
transport=tls,udp
EOF
cat >"$CONF/extensions.conf" <<'EOF'
[phones]
exten => _80X,1,Dial(SIP/${EXTEN},20)
 same => n,Hangup()
EOF

out=$("$MIKAKAD" -C "$CONF" -t 2>&1); rc=$?
check "t-ok" test $rc = 0
# 803 has encryption=yes without transport=tls: warned at its encryption= line.
line=$(grep -n '^encryption=yes' "$CONF/sip.conf" | tail -1 | cut -d: -f1)
check "t-encryption-without-tls-warned" grep -q "sip.conf:$line:.*\[803\] has encryption=yes but its transport= has no tls" <<<"$out"
check "t-encryption-with-tls-quiet" bash -c '! grep -q "\[801\] has encryption" <<<"$1"' _ "$out"
# encryption= takes yes or no, like any boolean; anything else names file:line.
sed 's/^encryption=yes$/encryption=maybe/' "$CONF/sip.conf" >"$WORK/bad.conf"
mkdir -p "$WORK/badconf" && cp "$WORK/bad.conf" "$WORK/badconf/sip.conf" &&
	cp "$CONF/extensions.conf" "$WORK/badconf/"
out=$("$MIKAKAD" -C "$WORK/badconf" -t 2>&1)
line=$(grep -n '^encryption=maybe' "$WORK/badconf/sip.conf" | head -1 | cut -d: -f1)
check "t-bad-encryption-file-line" grep -q "sip.conf:$line:.*encryption" <<<"$out"

if ! have_baresip || [ ! -e /usr/lib/baresip/modules/srtp.so ] || ! command -v tcpdump >/dev/null; then
	echo "# baresip with its srtp module, or tcpdump, not installed: skipped"
	finish
	exit
fi

daemon_start "$CONF" -v
# Every SIP message traced (`sip set debug on`): the keys must stay out of the log all the same.
check "sip-debug-on" grep -q "SIP Debugging enabled" <<<"$(cli sip set debug on)"
# SRTP is our own on OpenSSL's libcrypto: libsrtp2 (and the NSS libraries under it) is never mapped.
check "idle-no-libsrtp" bash -c '! grep -q "libsrtp2\|libnss3" "/proc/$1/maps"' _ "$DAEMON_PID"
CERT=$WORK/tls-cert.pem
check "self-signed-created" test -s "$CERT"

peer_ua() { cli sip show peer "$1" | grep -q "Useragent *: $2"; }
calls_up() { cli core show channels | grep -q "^1 active call"; }
bs_conf() { # bs_conf DIR IP FREQ ACCOUNT [LINE...]
	local d=$1 ip=$2 hz=$3 acc=$4
	shift 4
	baresip_conf "$d" "$ip:5060" "$hz" "$acc" "net_interface $ip" "rtp_ports 40600-40698" \
		"module sndfile.so" "snd_path $d" "module menu.so" "module srtp.so" \
		"ausrc_srate 48000" "ausrc_channels 2" "sip_cafile $CERT" "$@"
	sed -i 's/^sip_transports udp$/sip_transports udp,tls/' "$d/config"
}
TLSACC="<sip:801@$ADDR;transport=tls>;auth_pass=pw801;regint=300;audio_codecs=PCMU"
B1=$WORK/b801 B2=$WORK/b802 B1P=$WORK/b801plain B3=$WORK/b803
bs_conf "$B1" $NET.11 1000 "$TLSACC;mediaenc=srtp-mand;answermode=auto"
bs_conf "$B2" $NET.12 440 "<sip:802@$ADDR>;auth_pass=pw802;regint=300;answermode=auto;audio_codecs=PCMU"
bs_conf "$B1P" $NET.11 1000 "$TLSACC"
bs_conf "$B3" $NET.13 1000 "<sip:803@$ADDR>;auth_pass=pw803;regint=300;audio_codecs=PCMU;mediaenc=srtp-mand"

# RTP and RTCP of both phones (everything but SIP), for the payload checks.
PCAP=$WORK/rtp.pcap
tcpdump -i lo -U -w "$PCAP" "udp and not port 5060" >"$WORK/tcpdump.log" 2>&1 &
TD_PID=$!
PIDS+=("$TD_PID")
wait_for 5 grep -q "listening on" "$WORK/tcpdump.log"

# ---- 1. SRTP (801, TLS) <-> plain RTP (802, UDP), both directions --------------------------------
timeout -k 5 200 baresip -f "$B2" -t 190 >"$WORK/b802.log" 2>&1 &
B2_PID=$!
PIDS+=("$B2_PID")
check "802-registers-udp" wait_for 10 peer_ua 802 baresip

timeout -k 5 30 baresip -f "$B1" -s -t 8 -e "/dial 802" >"$WORK/b801-out.log" 2>&1 &
B1_PID=$!
PIDS+=("$B1_PID")
check "801-registers-tls" wait_for 10 peer_ua 801 baresip
check "srtp-call-answered" wait_for 10 calls_up
sleep 1
out=$(cli core show channels verbose)
echo "$out" | sed 's/^/# /'
check "show-channels-srtp" grep -q "media .* PCMU SRTP AES_CM_128_HMAC_SHA1_\|media .* PCMU SRTP AEAD_AES" <<<"$out"
check "show-channels-one-srtp-leg" test "$(grep -c ' SRTP ' <<<"$out")" = 1
wait "$B1_PID"
check "srtp-call-ends" no_channels
check "srtp-call-no-libsrtp" bash -c '! grep -q "libsrtp2\|libnss3" "/proc/$1/maps"' _ "$DAEMON_PID"
check "srtp-call-libcrypto" grep -q "libcrypto" "/proc/$DAEMON_PID/maps"
check "srtp-cdr-answered" grep -q "SIP/801-.*SIP/802-.*ANSWERED" <<<"$(cli cdr show 1)"
check "srtp-logged-suite" grep -q "SIP/801-[0-9a-f]*: SRTP AES_CM_128_HMAC_SHA1_\|SIP/801-[0-9a-f]*: SRTP AEAD_AES" "$DAEMON_LOG"
dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
dec2=$(ls "$B2"/dump-*dec*.wav 2>/dev/null | head -1)
check "srtp-801-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
check "srtp-802-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2/none.wav}" 1000 2000
check "baresip-801-used-srtp" grep -qi "srtp" "$WORK/b801-out.log"
rm -f "$B1"/dump-*.wav "$B2"/dump-*.wav

# 802 calls 801: our offer to 801 is RTP/SAVP with our keys, over TLS.
timeout -k 5 30 baresip -f "$B1" -t 14 >"$WORK/b801-in.log" 2>&1 &
B1_PID=$!
PIDS+=("$B1_PID")
check "801-registers-tls-2" wait_for 10 peer_ua 801 baresip
sleep 0.5
# baresip 802 is already running: a second instance for the call, same account, short life.
B2b=$WORK/b802b
bs_conf "$B2b" $NET.14 440 "<sip:802@$ADDR>;auth_pass=pw802;regint=0;audio_codecs=PCMU"
timeout -k 5 30 baresip -f "$B2b" -t 7 -e "/dial 801" >"$WORK/b802-out.log" 2>&1 &
B2b_PID=$!
PIDS+=("$B2b_PID")
check "srtp-call-in-answered" wait_for 10 calls_up
wait "$B2b_PID"
check "srtp-call-in-ends" no_channels
dec1=$(ls "$B1"/dump-*dec*.wav 2>/dev/null | head -1)
dec2=$(ls "$B2b"/dump-*dec*.wav 2>/dev/null | head -1)
check "srtp-in-801-hears-440" "$TOOLS/wavtone" "${dec1:-$B1/none.wav}" 440 2000
check "srtp-in-802-hears-1000" "$TOOLS/wavtone" "${dec2:-$B2b/none.wav}" 1000 2000
kill "$B1_PID" 2>/dev/null
wait "$B1_PID" 2>/dev/null

# ---- the capture: encrypted toward 801, plain toward 802 ------------------------------------------
sleep 0.5
kill "$TD_PID" 2>/dev/null
wait "$TD_PID" 2>/dev/null
# pcap_rtp: for each flow "SRC>DST" the RTP payload bodies, and the verdicts the checks read.
cat >"$WORK/pcap.py" <<'EOF'
import struct, sys
path, daemon, p801, p802 = sys.argv[1:5]
data = open(path, 'rb').read()
le = data[:4] == b'\xd4\xc3\xb2\xa1'
e = '<' if le else '>'
link = struct.unpack(e + 'I', data[20:24])[0]
off, pkts = 24, []
while off + 16 <= len(data):
    incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = frame[14:] if link == 1 else frame[4:] if link == 0 else frame
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
        continue
    ihl = (ip[0] & 15) * 4
    src, dst = '.'.join(map(str, ip[12:16])), '.'.join(map(str, ip[16:20]))
    sport, dport = struct.unpack('>HH', ip[ihl:ihl + 4])
    pl = ip[ihl + 8:]
    # RTP (not RTCP) with PT 0 (PCMU)
    if len(pl) >= 12 + 160 and pl[0] >> 6 == 2 and (pl[1] & 0x7f) == 0:
        pkts.append((src, dst, pl))
# The phones' RTP leaves from 127.0.0.1 (baresip binds its RTP socket to any address): what
# comes to the daemon untagged is the plain side's.
plain_from_802 = {pl[12:172] for s, d, pl in pkts if d == daemon and len(pl) == 172}
to_801 = [pl for s, d, pl in pkts if s == daemon and d == p801]
to_802 = [pl for s, d, pl in pkts if s == daemon and d == p802]
from_801 = [pl for s, d, pl in pkts if d == daemon and len(pl) > 172]
found_801 = sum(1 for pl in to_801 if pl[12:172] in plain_from_802)
tagged_801 = sum(1 for pl in to_801 if len(pl) > 172)
plain_sizes_802 = sum(1 for pl in to_802 if len(pl) == 172)
plain_in = sum(1 for s, d, pl in pkts if d == daemon and len(pl) == 172)
print('plain_in=%d plain_from_802=%d to_801=%d found_in_801=%d tagged_801=%d from_801=%d to_802=%d '
      'plain_sized_802=%d' % (plain_in, len(plain_from_802), len(to_801), found_801, tagged_801,
                              len(from_801), len(to_802), plain_sizes_802))
EOF
stats=$(python3 "$WORK/pcap.py" "$PCAP" "$ADDR" "$NET.11" "$NET.12")
echo "# capture: $stats"
val() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$stats"; }
check "capture-has-both-legs" test "$(val to_801)" -gt 100 -a "$(val plain_in)" -gt 100 -a "$(val plain_from_802)" -gt 0
# What 802 sent (plain PCMU) was relayed to 801: not one of its payloads is found there (the
# relay passes a PCMU payload on untouched, so in clear every packet would match).
check "srtp-leg-no-plain-payload" test "$(val found_in_801)" = 0
check "srtp-leg-packets-tagged" test "$(val tagged_801)" = "$(val to_801)"
# 802's leg is plain RTP: every packet the relay sent it is an untagged 160-byte PCMU packet.
check "udp-leg-plain" test "$(val plain_sized_802)" -gt 100 -a "$(val plain_sized_802)" = "$(val to_802)"

# ---- 1b. RFC 4733 DTMF from the SRTP phone: decrypted, then recognised by the relay --------------
B1D=$WORK/b801dtmf
bs_conf "$B1D" $NET.11 1000 "$TLSACC;mediaenc=srtp-mand" "module ctrl_tcp.so" \
	"ctrl_tcp_listen $NET.11:4444"
timeout -k 5 30 baresip -f "$B1D" -t 9 -e "/dial 802" >"$WORK/b801-dtmf.log" 2>&1 &
D_PID=$!
PIDS+=("$D_PID")
check "dtmf-call-up" wait_for 10 calls_up
sleep 1
ctrl() { # one ctrl_tcp command (a netstring of JSON) to baresip 801
	local j="{\"command\":\"$1\",\"params\":\"$2\",\"token\":\"t\"}"
	exec 7<>"/dev/tcp/$NET.11/4444" || return 1
	printf '%d:%s,' "${#j}" "$j" >&7
	timeout 2 head -c 200 <&7 >/dev/null
	exec 7>&-
}
ctrl sndcode 5
sleep 0.5
ctrl sndcode 8
sleep 1
check "dtmf-from-srtp-leg" grep -q "SIP/801-[0-9a-f]*: DTMF '5' (RFC 4733)" "$DAEMON_LOG"
check "dtmf-from-srtp-leg-2" grep -q "SIP/801-[0-9a-f]*: DTMF '8' (RFC 4733)" "$DAEMON_LOG"
wait "$D_PID"
check "dtmf-call-ends" no_channels

# ---- 2. encryption=yes, plain offer over TLS: 488 -------------------------------------------------
rings() { grep -c "answering call" "$WORK/b802.log"; }
rings0=$(rings)
check "802-answered-before" test "$rings0" -ge 1 # the marker is real: the calls above had it
timeout -k 5 30 baresip -f "$B1P" -t 6 -e "/dial 802" >"$WORK/b801-plain.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
wait "$P_PID"
check "plain-offer-488" grep -q "488" "$WORK/b801-plain.log"
check "plain-offer-logged" grep -q "encryption=yes: SDES keys required" "$DAEMON_LOG"
check "plain-offer-not-ringing" test "$(rings)" = "$rings0"

# ---- 3. encryption=yes over UDP: no keys in clear, 488 --------------------------------------------
timeout -k 5 30 baresip -f "$B3" -t 6 -e "/dial 802" >"$WORK/b803.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
wait "$P_PID"
check "udp-srtp-488" grep -q "488" "$WORK/b803.log"
check "udp-srtp-logged" grep -q "encryption=yes but the leg is UDP, not TLS" "$DAEMON_LOG"
# ... and a call to 803, registered over UDP only, is not offered (no keys over UDP): it fails.
timeout -k 5 30 baresip -f "$B3" -t 8 >"$WORK/b803-in.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
check "803-registers-udp" wait_for 10 peer_ua 803 baresip
timeout -k 5 30 baresip -f "$B2b" -t 4 -e "/dial 803" >"$WORK/b802-803.log" 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
wait "$C_PID"
check "call-to-udp-encrypted-peer-logged" grep -q "SIP/803-[0-9a-f]*: encryption=yes but the leg is UDP" "$DAEMON_LOG"
check "call-to-udp-encrypted-peer-fails" bash -c '! grep -q "Call established" "$1"' _ "$WORK/b802-803.log"
check "call-to-udp-encrypted-peer-refused" grep -q "SIP Progress: [4-6][0-9][0-9]\|[4-6][0-9][0-9] [A-Z]" "$WORK/b802-803.log"
kill "$P_PID" 2>/dev/null
wait "$P_PID" 2>/dev/null

# ---- 4. keys never logged ---------------------------------------------------------------------------
check "tls-traced" grep -q "sip: <--- SIP read from TLS:" "$DAEMON_LOG"
check "trace-hides-keys" grep -q "sip: a=crypto:[0-9]* [A-Z_0-9]* inline:<hidden>" "$DAEMON_LOG"
check "log-has-no-keys" bash -c '! grep -q "inline:[^<]" "$1"' _ "$DAEMON_LOG"
# baresip's SIP trace (-s) of the first call holds both sides' keys (its offer, our answer over
# TLS): none of them is anywhere in the daemon's log.
keys=$(grep -o 'inline:[A-Za-z0-9+/=]*' "$WORK/b801-out.log" | cut -d: -f2 | sort -u)
echo "# $(wc -w <<<"$keys") SDES keys seen in baresip's trace"
check "trace-has-keys" test "$(wc -w <<<"$keys")" -ge 2
check "trace-answer-savp" grep -q "^m=audio [0-9]* RTP/SAVP" "$WORK/b801-out.log"
check "keys-not-in-log" bash -c 'for k in $2; do grep -qF "$k" "$1" && exit 1; done; exit 0' _ "$DAEMON_LOG" "$keys"

# ---- 5. three bindings of one peer over UDP and TLS -------------------------------------------------
sipp_register 804 pw804 $NET.20 5161 "$ADDR:5060"
sipp_bg reg-804b reg-phone.xml $NET.24 5161 -inf "$WORK/804.csv" "$ADDR:5060"
wait_ok "reg-804b" "$BG"
B4=$WORK/b804
bs_conf "$B4" $NET.21 700 "<sip:804@$ADDR;transport=tls>;auth_pass=pw804;regint=300;answermode=auto;audio_codecs=PCMU"
timeout -k 5 40 baresip -f "$B4" -t 30 >"$WORK/b804.log" 2>&1 &
B4_PID=$!
PIDS+=("$B4_PID")
three_bindings() { cli sip show peer 804 | grep -q "Bindings *: 3"; }
check "804-three-bindings" wait_for 10 three_bindings
out=$(cli sip show peer 804)
echo "$out" | sed 's/^/# /'
check "show-peer-binding-tls" grep -q "^    Transport  : TLS" <<<"$out"
check "show-peer-binding-udp" grep -q "^    Transport  : UDP" <<<"$out"
check "show-peer-binding-ua" grep -q "^    Useragent  : baresip" <<<"$out"
check "show-peer-binding-addr" grep -q "^    Addr->IP   : $NET.20:5161" <<<"$out"
check "show-peer-binding-addr2" grep -q "^    Addr->IP   : $NET.24:5161" <<<"$out"
check "show-peer-binding-expiry" grep -q "^    Expires in : [1-9][0-9]* s" <<<"$out"
check "show-peer-addr-set" bash -c '! grep -q "Addr->IP *: (Unspecified)" <<<"$1"' _ "$out"
out=$(cli sip show peers)
echo "$out" | sed 's/^/# /'
check "show-peers-both-transports" grep -q "^804/804 .* TLS,UDP *$" <<<"$out"
sipp_bg fork-804 call2-phone-cancelled.xml $NET.20 5161 -s 804
F_PID=$BG
sipp_bg fork-804b call2-phone-cancelled.xml $NET.24 5161 -s 804
F2_PID=$BG
sleep 0.3
timeout -k 5 30 baresip -f "$B2b" -t 6 -e "/dial 804" >"$WORK/b802-804.log" 2>&1 &
C_PID=$!
PIDS+=("$C_PID")
check "fork-tls-answers" wait_for 10 calls_up
wait_ok "fork-udp-cancelled" "$F_PID"
check "fork-cancel-reason" grep -q '^Reason: SIP;cause=200;text="Call completed elsewhere"' "$WORK/sipp-fork-804.msg"
wait_ok "fork-udp2-cancelled" "$F2_PID" fork-804b
check "fork-cancel-reason2" grep -q '^Reason: SIP;cause=200;text="Call completed elsewhere"' "$WORK/sipp-fork-804b.msg"
check "fork-tls-rang" grep -q "answering call" "$WORK/b804.log"
wait "$C_PID"
check "fork-call-ends" no_channels
kill "$B4_PID" 2>/dev/null
wait "$B4_PID" 2>/dev/null

# ---- 6. transport= refuses other transports ---------------------------------------------------------
csv "$WORK/801udp.csv" 801 pw801
sipp_bg reg-801-udp reg-fail.xml $NET.22 5161 -inf "$WORK/801udp.csv" "$ADDR:5060"
wait_ok "register-over-udp-403" "$BG"
check "register-over-udp-logged" grep -q "801: REGISTER over UDP refused: not in its transport=" "$DAEMON_LOG"
B1U=$WORK/b801udp
bs_conf "$B1U" $NET.23 1000 "<sip:801@$ADDR>;auth_pass=pw801;regint=0;audio_codecs=PCMU"
timeout -k 5 30 baresip -f "$B1U" -t 5 -e "/dial 802" >"$WORK/b801-udp.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
wait "$P_PID"
check "invite-over-udp-403" grep -q "403" "$WORK/b801-udp.log"
check "invite-over-udp-logged" grep -q "transport not allowed by the peer's transport=" "$DAEMON_LOG"

kill "$B2_PID" 2>/dev/null
wait "$B2_PID" 2>/dev/null
check "daemon-alive" daemon_alive
check "daemon-stops-clean" stop_daemon
finish
