#!/usr/bin/env bash
# pickup.sh: call pickup end to end (docs/CALLS.md, Call pickup), on 127.0.0.90-95 only: mikakad
# on 127.0.0.90, the SIPp carrier (127.0.0.92) calls in and phone 801 (127.0.0.91, callgroup=1,
# namedcallgroup=kitchen) rings; another SIPp phone takes the call: 802 (127.0.0.93,
# pickupgroup=1,3-4) and 804 (127.0.0.95, namedpickupgroup=hall,kitchen) by *8, 803 (127.0.0.94,
# pickupgroup=2) by the dialplan's PickupChan()/Pickup(); 802 by an INVITE with Replaces naming
# 801's early dialog. Checks: the carrier is connected to the picker (tools/rtptone: a 1 kHz tone
# from the picker heard at the carrier and echoed back), 801 gets CANCEL with Reason cause=200
# "Call completed elsewhere", the call record says ANSWERED by the picker; *8 with no call ringing
# in the picker's groups, or a Replaces from a phone outside them, gets 403; a PickupChan() with
# nothing to take lets the dialplan go on; Pickup() by extension@context and by PICKUPMARK;
# baresip (a real phone, 1 kHz both ways checked by frequency) picking up with *8; a busy lamp
# (notifycid=yes): 802 watching 801 gets the ringing dialog and the caller in the early NOTIFY and
# takes the call with an INVITE with Replaces built from it.
. "$(dirname "$0")/lib.sh"

PORT=5290
RTPTONE=$TOOLS/rtptone
CONF=$WORK/conf
call_sipconf "$CONF" 127.0.0.90 $PORT 127.0.0.92 5292
sed -i 's/^\[general\]$/[general]\nnotifycid=yes/' "$CONF/sip.conf"
sip_phone "$CONF" 801 pw801 127.0.0.91:5291 callgroup=1 namedcallgroup=kitchen
sip_phone "$CONF" 802 pw802 127.0.0.93:5293 pickupgroup=1,3-4
sip_phone "$CONF" 803 pw803 127.0.0.94:5294 pickupgroup=2
sip_phone "$CONF" 804 pw804 127.0.0.95:5295 namedpickupgroup=hall,kitchen
rtp_conf "$CONF" 52100 52198
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Set(PICKUPMARK=home)
 same => n,Dial(SIP/801,30)
 same => n,Hangup()
[from_phone]
exten => 801,hint,SIP/801
exten => _**X.,1,PickupChan(SIP/${EXTEN:2},p)
 same => n,Hangup(21)
exten => 70,1,Pickup(0312345678@from_line)
 same => n,Hangup(21)
exten => 71,1,Pickup(elsewhere@PICKUPMARK&home@PICKUPMARK)
 same => n,Hangup(21)
[public]
exten => _X.,1,Hangup()
EOT

[ -x "$RTPTONE" ] || { notok "rtptone-built"; exit 1; }
out=$("$MIKAKAD" -t -C "$CONF" 2>&1)
check "config-groups-accepted" test -z "$(grep -i 'group' <<<"$out")"
daemon_start "$CONF"
check "show-peer-pickupgroup" sh -c "'$MIKAKA' -s '$CTL' sip show peer 802 | grep -q '^  Pickupgroup  : 1,3,4$'"
check "show-peer-named-callgroup" sh -c "'$MIKAKA' -s '$CTL' sip show peer 801 | grep -q '^  Named Callgr : kitchen$'"
SIPP_TIMEOUT=25
REASON='Reason: SIP;cause=200;text="Call completed elsewhere"'

# ring NAME: the carrier calls (media 127.0.0.92:40110) and 801 rings; returns once 801 has the
# INVITE (its early dialog in $WORK/ring.dlg), CARRIER and RING set.
ring() {
	rm -f "$WORK/ring.dlg" "$WORK/carrier.sdp" "$WORK/phone.sdp"
	sipp_bg "$1-801" pk-phone-ring.xml 127.0.0.91 5291; RING=$BG
	sipp_bg "$1-carrier" pk-carrier-in.xml 127.0.0.92 5292 127.0.0.90:$PORT -mp 41300 \
		-key rtpaddr 127.0.0.92 -key rtpport 40110; CARRIER=$BG
	for _ in $(seq 50); do [ -s "$WORK/ring.dlg" ] && break; sleep 0.1; done
	sleep 0.2 # the 180 reaches the carrier
}
# pick NAME USER IP EXTEN [HDR]: phone USER at IP dials EXTEN (extra header HDR) and expects the
# picked-up call; PICK set.
pick() {
	local port=52${3##*.}
	sipp_bg "$1-$2" pk-phone-pick.xml "$3" "$port" 127.0.0.90:$PORT -mp 41400 \
		-au "$2" -ap "pw$2" -key user "$2" -key exten "$4" -key hdr "${5:-Subject: pickup}" \
		-key rtpaddr "$3" -key rtpport 40120; PICK=$BG
}
# refused NAME USER IP EXTEN [HDR]: the same, expecting 403 (waited for: the check NAME).
refused() {
	local port=52${3##*.}
	sipp_bg "$1" pk-phone-refused.xml "$3" "$port" 127.0.0.90:$PORT -mp 41500 \
		-au "$2" -ap "pw$2" -key user "$2" -key exten "$4" -key hdr "${5:-Subject: pickup}" \
		-key rtpaddr "$3" -key rtpport 40130
	wait_ok "$1" "$BG"
}
# done_call NAME USER: the picker, 801 (CANCEL with the Reason) and the carrier (BYE) finish.
done_call() {
	wait_ok "$1-picked-up" "$PICK" "$1-$2"
	wait_ok "$1-801-cancelled" "$RING" "$1-801"
	check "$1-cancel-reason" grep -qF "$REASON" "$WORK/sipp-$1-801.msg"
	wait_ok "$1-carrier-bye" "$CARRIER" "$1-carrier"
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

# 1. *8 from a phone whose pickup groups miss 801's call groups: 403, 801 keeps ringing; then
# 802 (pickupgroup 1) dials *8 and talks to the carrier: the tone crosses both ways.
ring group
refused group-mismatch-403 803 127.0.0.94 '*8'
check "group-still-ringing" sh -c "'$MIKAKA' -s '$CTL' core show channels | grep -q 'SIP/801'"
pick group 802 127.0.0.93 '*8'
for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
read -r a p <"$WORK/carrier.sdp" 2>/dev/null; LINE=${a:-127.0.0.90}:${p:-9}
read -r a p <"$WORK/phone.sdp" 2>/dev/null; PHONE_SIDE=${a:-127.0.0.90}:${p:-9}
echo "# group: line side $LINE, phone side $PHONE_SIDE"
tool_bg carrier.out 127.0.0.92:40110 - echo 3000 tone min=50; c=$BG
tool_bg phone.out 127.0.0.93:40120 "$PHONE_SIDE" tone 2800 tone min=50; p=$BG
tool_check group-tone-picker-to-carrier "$c" carrier.out
tool_check group-tone-back-at-picker "$p" phone.out
done_call group 802
sleep 0.3
rec=$(cli cdr show 1)
echo "$rec" | sed 's/^/  /'
check "group-cdr-dstchannel-802" grep -q "SIP/line-[0-9a-f]* *SIP/802-[0-9a-f]* *ANSWERED" <<<"$rec"
recs=$(cli cdr show 10)
check "group-no-record-of-the-pickup-call" test "$(grep -c '\*8 .*SIP/802-' <<<"$recs")" = 0
check "group-failed-pickup-recorded" grep -q '\*8 .*SIP/803-.*FAILED *[0-9]* *[0-9]* *21 ' <<<"$recs"

# 2. *8 with nothing ringing: 403.
refused nothing-ringing-403 802 127.0.0.93 '*8'

# 3. Named groups: 804 (namedpickupgroup=hall,kitchen) takes 801's call (namedcallgroup=kitchen).
ring named
pick named 804 127.0.0.95 '*8'
done_call named 804

# 4. Directed: 803 dials **801: PickupChan(SIP/801,p) takes it whatever the groups.
ring chan
pick chan 803 127.0.0.94 '**801'
done_call chan 803

# 5. PickupChan() with nothing ringing there: the dialplan goes on (Hangup(21): 403).
refused pickupchan-none-dialplan-goes-on 803 127.0.0.94 '**805'
check "pickupchan-none-logged" grep -q "PickupChan(SIP/805): no call ringing there" "$DAEMON_LOG"

# 6. Pickup(0312345678@from_line): the call dialled at that extension and context.
ring exten
pick exten 803 127.0.0.94 70
done_call exten 803

# 6b. Pickup(elsewhere@PICKUPMARK&home@PICKUPMARK): the call whose PICKUPMARK is home.
ring mark
pick mark 803 127.0.0.94 71
done_call mark 803

# 7. INVITE with Replaces naming 801's early dialog: refused for 803 (pickupgroup 2 misses 801's
# callgroup 1), taken by 802.
ring replaces
dlg=$(cat "$WORK/ring.dlg" 2>/dev/null)
echo "# replaces: $dlg"
refused replaces-outside-groups-403 803 127.0.0.94 801 "Replaces: $dlg"
pick replaces 802 127.0.0.93 801 "Replaces: $dlg"
done_call replaces 802

# 7b. A busy lamp's pickup (notifycid=yes): 802 watches 801; the early NOTIFY names the ringing
# dialog (801's Call-ID, its tag, ours) and the caller; 802's INVITE with Replaces built from it
# takes the call.
rm -f "$WORK/cid.txt"
sipp_bg blf-watch blf-cid-watch.xml 127.0.0.93 5393 127.0.0.90:$PORT; WATCH=$BG
for _ in $(seq 50); do [ -s "$WORK/cid.txt" ] && break; sleep 0.1; done
ring blfcid
# The lamp goes early at our INVITE to 801, and names the dialog once 801's 180 gave its tag.
for _ in $(seq 50); do grep -q "^early [^-]" "$WORK/cid.txt" 2>/dev/null && break; sleep 0.1; done
sed 's/^/# cid: /' "$WORK/cid.txt" 2>/dev/null
read -r st cid lt rt ident < <(grep "^early [^-]" "$WORK/cid.txt" 2>/dev/null | head -n 1)
dlg=$(cat "$WORK/ring.dlg" 2>/dev/null)
check "blf-idle-without-dialog" test "$(sed -n 1p "$WORK/cid.txt" 2>/dev/null)" = "terminated - - - -"
check "blf-early-names-dialog" test "$st" = early -a "$cid;to-tag=$lt;from-tag=$rt" = "$dlg"
check "blf-early-names-caller" test "$ident" = "sip:0901234567@127.0.0.90"
pick blfcid 802 127.0.0.93 801 "Replaces: $cid;to-tag=$lt;from-tag=$rt"
done_call blfcid 802
# The watcher answers NOTIFYs until its SIPP_TIMEOUT ends it (nothing waits for it).

# 8. A real phone: baresip as 802 (ausine 1 kHz, PCMU) dials *8 while 801 rings: the carrier
# hears the tone and echoes it, baresip's decoded audio holds 1 kHz too; 801 gets the CANCEL.
if have_baresip; then
	BS=$WORK/baresip
	baresip_conf "$BS" 127.0.0.93:5293 1000 \
		"<sip:802@127.0.0.90:$PORT>;auth_pass=pw802;regint=0;audio_codecs=PCMU" \
		"net_interface 127.0.0.93" "rtp_ports 40200-40298" "module sndfile.so" \
		"snd_path $BS" "module menu.so" "ausrc_srate 48000" "ausrc_channels 2"
	ring baresip
	baresip_bg "$BS" 20 -t 8 -e "/dial sip:*8@127.0.0.90:$PORT"
	for _ in $(seq 50); do [ -s "$WORK/carrier.sdp" ] && break; sleep 0.1; done
	check "baresip-picks-up" test -s "$WORK/carrier.sdp"
	tool_bg carrier.out 127.0.0.92:40110 - echo 3000 tone min=50; c=$BG
	tool_check baresip-1khz-at-carrier "$c" carrier.out
	wait "$BS_PID"
	dec=$(ls "$BS"/dump-*dec*.wav 2>/dev/null | head -1)
	check "baresip-hears-1khz-back" "$TOOLS/wavtone" "${dec:-$BS/none.wav}" 1000 1000
	wait_ok baresip-801-cancelled "$RING" baresip-801
	check "baresip-cancel-reason" grep -qF "$REASON" "$WORK/sipp-baresip-801.msg"
	wait_ok baresip-carrier-bye "$CARRIER" baresip-carrier
else
	echo "# baresip not installed: skipped"
fi

check "no-leaked-channel" no_channels
check "sigterm-clean-exit" stop_daemon
finish
