#!/usr/bin/env bash
# media.sh: the RTP relay end to end (issue #8), on 127.0.0.50-59 only: mikakad on 127.0.0.50, a
# SIPp phone 801 (127.0.0.51) calls out through the line to a SIPp carrier (127.0.0.52,
# dtmfmode=inband); tools/rtptone plays the media on both sides. Checks: DSCP 32 on the line
# side's RTP, a 1 kHz tone echoed back through the relay, RFC 4733 "123" from the phone heard as
# in-band tones at the carrier, in-band "123" from the carrier received as RFC 4733 events at the
# phone, a NATed phone (source port not the SDP's) latched under nat=comedia and a hijacker from
# another address ignored.
. "$(dirname "$0")/lib.sh"

PORT=5250
RTPTONE=$TOOLS/rtptone
CONF=$WORK/conf
call_sipconf "$CONF" 127.0.0.50 $PORT 127.0.0.52 5252 dtmfmode=inband
sip_phone "$CONF" 801 pw801 127.0.0.51:5251 nat=comedia dtmfmode=rfc2833
sip_phone "$CONF" 802 pw802 127.0.0.54:5254
sip_phone "$CONF" 803 pw803 127.0.0.55:5255
# No mikaka.conf: Debian 12's baresip answers MD5 digest challenges only, the default.
rtp_conf "$CONF" 52000 52098
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[from_phone]
exten => 803,1,Dial(SIP/803,20)
 same => n,Hangup()
exten => _0.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[public]
exten => _X.,1,Hangup()
EOT

[ -x "$RTPTONE" ] || { notok "rtptone-built"; exit 1; }
daemon_start "$CONF"
SIPP_TIMEOUT=25

# start_call NAME: the carrier (media 127.0.0.52:40010) and phone (media 127.0.0.51:40020) SIPps;
# returns once both SDP files exist, with LINE (the daemon's line-side media) and PHONE (its
# phone-side media) set.
start_call() {
	rm -f "$WORK/carrier.sdp" "$WORK/phone.sdp"
	sipp_bg "$1-carrier" media-carrier-uas.xml 127.0.0.52 5252 -mp 41000 \
		-key rtpaddr 127.0.0.52 -key rtpport 40010; CARRIER=$BG
	sleep 0.3
	sipp_bg "$1-phone" "${2:-media-phone-out.xml}" 127.0.0.51 5251 127.0.0.50:$PORT -mp 41100 \
		-key rtpaddr 127.0.0.51 -key rtpport 40020; PHONE=$BG
	local a p
	for _ in $(seq 50); do
		[ -s "$WORK/carrier.sdp" ] && [ -s "$WORK/phone.sdp" ] && break
		sleep 0.1
	done
	sleep 0.2 # the ACK
	read -r a p _ <"$WORK/carrier.sdp" 2>/dev/null; LINE=${a:-127.0.0.50}:${p:-9}
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.0.50}:${p:-9}
	echo "$1: line side $LINE, phone side $PHONE_SIDE"
}
end_call() { # NAME: both SIPps finish (the phone hangs up after 5 s)
	if wait "$PHONE"; then
		ok "$1-call"
	else
		notok "$1-call"; { tail -5 "$WORK/sipp-$1-phone.err"; echo; } 2>/dev/null
	fi
	wait "$CARRIER" || { tail -5 "$WORK/sipp-$1-carrier.err"; echo; } 2>/dev/null
}
tool_bg() { # OUT ARGS...: rtptone in the background, output in $WORK/OUT
	local out=$1; shift
	timeout 10 "$RTPTONE" "$@" >"$WORK/$out" 2>&1 &
	BG=$!
	PIDS+=("$BG")
}
tool_check() { # NAME PID OUT
	if wait "$2"; then ok "$1"; else notok "$1"; fi
	sed 's/^/  /' "$WORK/$3"
}

# 1-2. The phone sends a 1 kHz tone, the carrier echoes it: DSCP 32 (TOS 0x80) on what the line
# side receives from the daemon, and the tone is heard back at the phone.
start_call tone
tool_bg carrier.out 127.0.0.52:40010 - echo 3000 tos=128 min=50; c=$BG
tool_bg phone.out 127.0.0.51:40020 "$PHONE_SIDE" tone 2800 tone min=50; p=$BG
tool_check dscp-32-line-side "$c" carrier.out
tool_check tone-1khz-echoed "$p" phone.out
end_call tone

# 3. RFC 4733 "123" from the phone become in-band tones toward the inband carrier.
start_call dtmf-up
tool_bg carrier.out 127.0.0.52:40010 "$LINE" silence 3000 dtmf=123; c=$BG
tool_bg phone.out 127.0.0.51:40020 "$PHONE_SIDE" ev:123 2800; p=$BG
tool_check dtmf-rfc4733-to-inband "$c" carrier.out
wait "$p"
end_call dtmf-up

# 4. In-band "123" from the carrier become RFC 4733 events 1, 2, 3 at the phone.
start_call dtmf-down
tool_bg carrier.out 127.0.0.52:40010 "$LINE" dtmf:123 2800; c=$BG
tool_bg phone.out 127.0.0.51:40020 "$PHONE_SIDE" silence 3000 ev=123; p=$BG
tool_check dtmf-inband-to-rfc4733 "$p" phone.out
wait "$c"
end_call dtmf-down

# 4b. SIP INFO digits (application/dtmf-relay) from the phone become in-band tones toward the
# inband carrier.
start_call dtmf-info media-phone-info.xml
tool_bg carrier.out 127.0.0.52:40010 "$LINE" silence 3500 dtmf=123; c=$BG
tool_bg phone.out 127.0.0.51:40020 "$PHONE_SIDE" silence 3300; p=$BG
tool_check dtmf-info-to-inband "$c" carrier.out
wait "$p"
end_call dtmf-info

# 5. Latching: the phone sends from port 40030 (its SDP says 40020): relayed both ways under
# nat=comedia; a hijacker on 127.0.0.53 (SSRC deadbeef) sending to the phone-side port is not
# relayed to the carrier.
start_call latch
tool_bg carrier.out 127.0.0.52:40010 - echo 3000 nossrc=deadbeef min=50; c=$BG
tool_bg phone.out 127.0.0.51:40030 "$PHONE_SIDE" tone 2800 tone min=50; p=$BG
sleep 0.5
RTPTONE_SSRC=deadbeef tool_bg hijack.out 127.0.0.53:40040 "$PHONE_SIDE" tone 2000; h=$BG
tool_check latch-nat-phone-relayed "$p" phone.out
tool_check latch-hijack-ignored "$c" carrier.out
wait "$h"; sed 's/^/  /' "$WORK/hijack.out"
end_call latch

# 5b. A late offer (the phone's INVITE has no SDP): the carrier gets our offer, the phone's 200
# carries our offer and its ACK the answer; the tone goes through and comes back.
start_call late late-phone-out.xml
tool_bg carrier.out 127.0.0.52:40010 - echo 3000 min=50; c=$BG
tool_bg phone.out 127.0.0.51:40020 "$PHONE_SIDE" tone 2800 tone min=50; p=$BG
tool_check late-offer-tone-echoed "$p" phone.out
wait "$c"
end_call late

# 6. Hold and resume cross the B2BUA: the phone's re-INVITE with a=sendonly is answered recvonly
# and reaches the carrier as our own re-INVITE offering sendonly; the resume (sendrecv) too.
rm -f "$WORK/carrier.sdp" "$WORK/phone.sdp"
sipp_bg hold-carrier hold-carrier-uas.xml 127.0.0.52 5252 -mp 41000 \
	-key rtpaddr 127.0.0.52 -key rtpport 40010; CARRIER=$BG
sleep 0.3
sipp_bg hold-phone hold-phone-out.xml 127.0.0.51 5251 127.0.0.50:$PORT -mp 41100 \
	-key rtpaddr 127.0.0.51 -key rtpport 40020; PHONE=$BG
if wait "$PHONE"; then ok "hold-resume-phone"; else notok "hold-resume-phone"; tail -5 "$WORK/sipp-hold-phone.err"; fi
if wait "$CARRIER"; then ok "hold-resume-reaches-carrier"; else notok "hold-resume-reaches-carrier"; tail -5 "$WORK/sipp-hold-carrier.err"; fi
check "hold-logged" grep -q "sendonly passed to" "$DAEMON_LOG"

# 6b. The phone holds the carrier, then transfers it blind to 803 (as softphones do): once 803
# answers, the carrier gets our re-INVITE taking the hold back (sendrecv); 803 hangs up and the
# carrier gets the BYE.
sipp_bg xh-carrier hold-carrier-uas.xml 127.0.0.52 5252 -mp 41000 \
	-key rtpaddr 127.0.0.52 -key rtpport 40010; CARRIER=$BG
sipp_bg xh-803 xfer-target-uas.xml 127.0.0.55 5255 -mp 41200; T803=$BG
sleep 0.3
sipp_bg xh-phone xfer-hold-phone-out.xml 127.0.0.51 5251 127.0.0.50:$PORT -mp 41100 \
	-key rtpaddr 127.0.0.51 -key rtpport 40020 -key target 803; PHONE=$BG
wait_ok xfer-held-phone "$PHONE" xh-phone
wait_ok xfer-held-target "$T803" xh-803
wait_ok xfer-held-carrier-resumed "$CARRIER" xh-carrier

# 7. baresip as phone 802 (ausine 1 kHz) calls the carrier, which echoes: the call is set up
# through the digest challenge and the carrier hears the 1 kHz tone decoded from baresip's PCMU.
if have_baresip; then
	BS=$WORK/baresip
	baresip_conf "$BS" 127.0.0.54:5254 1000 \
		"<sip:802@127.0.0.50:$PORT>;auth_pass=pw802;regint=0;audio_codecs=PCMU" \
		"net_interface 127.0.0.54" "rtp_ports 40100-40198" "module sndfile.so" \
		"snd_path $BS" "module menu.so" "ausrc_srate 48000" "ausrc_channels 2"
	rm -f "$WORK/carrier.sdp"
	sipp_bg baresip-carrier media-carrier-uas.xml 127.0.0.52 5252 -mp 41000 \
		-key rtpaddr 127.0.0.52 -key rtpport 40010; CARRIER=$BG
	sleep 0.3
	baresip_bg "$BS" 20 -t 8 -e "/dial sip:0312345678@127.0.0.50:$PORT"
	for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && break; sleep 0.1; done
	check "baresip-call-reaches-carrier" test -s "$WORK/carrier.sdp"
	tool_bg carrier.out 127.0.0.52:40010 - echo 3000 tone min=50; c=$BG
	tool_check baresip-1khz-at-carrier "$c" carrier.out
	wait "$BS_PID"
	# The carrier echoed the tone: baresip's decoded audio (sndfile's dump of what it played)
	# must hold 1 kHz too, so the audio crossed the relay both ways.
	dec=$(ls "$BS"/dump-*dec*.wav 2>/dev/null | head -1)
	check "baresip-hears-1khz-back" "$TOOLS/wavtone" "${dec:-$BS/none.wav}" 1000 1000
	wait "$CARRIER" || { tail -5 "$WORK/sipp-baresip-carrier.err"; echo; } 2>/dev/null
	sleep 0.5
else
	echo "# baresip not installed: skipped"
fi

out=$("$MIKAKA" -s "$CTL" core show channels)
check "no-leaked-channel" grep -q "^0 active channels" <<<"$out"
check "sigterm-clean-exit" stop_daemon
finish
