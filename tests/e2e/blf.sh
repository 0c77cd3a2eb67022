#!/usr/bin/env bash
# blf.sh: busy-lamp fields (docs/BLF.md) end to end, on 127.0.21.x only: mikakad on 127.0.21.60
# with hints 801 (SIP/801) and 810 (SIP/801&PJSIP/802) in [from_phone]; SIPp phones: 801
# (127.0.21.61, registers, answers), 802 (127.0.21.63, fixed host, calls 801), 803 (the watcher,
# 127.0.21.64/65), 804 (allowsubscribe=no). Checks: `mikakad -t` warns about a hint of another
# technology with file:line; `core show hints` (Unavailable before 801 registers, Idle after);
# a presence subscription (digest) sees closed/Unavailable, then open/Ready when 801 registers,
# a refresh and the final NOTIFY terminated after Expires: 0; a dialog subscription sees
# terminated (idle), early (802's call rings at 801), confirmed (answered), terminated (BYE),
# with version 0,1,2,3 and state full, then a refresh and the final NOTIFY; 801 holding a call
# to the line shows Hold; `sip show
# subscriptions` lists it with its last state; 489, 406, 404 and 403 for what is refused; a
# reload adds a hint; 801 unregistering turns its lamp Unavailable; Debian's baresip (presence
# module) shows contact 801 Offline, Online, Busy during a call, Online again.
. "$(dirname "$0")/lib.sh"

PORT=5490
CONF=$WORK/conf
call_sipconf "$CONF" 127.0.21.60 $PORT 127.0.21.62 5492
sip_phone "$CONF" 801 pw801 dynamic
sip_phone "$CONF" 802 pw802 127.0.21.63:5493
sip_phone "$CONF" 803 pw803 dynamic subscribecontext=blf
sip_phone "$CONF" 804 pw804 dynamic allowsubscribe=no
rtp_conf "$CONF" 54900 54998
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 801,1,Dial(SIP/801,20)
 same => n,Hangup()
exten => _0X.,1,Set(CALLERID(num)=0312345678)
 same => n,Dial(SIP/line/${EXTEN},20)
 same => n,Hangup()
[blf]
exten => 801,hint,SIP/801
exten => 810,hint,SIP/801&PJSIP/802
EOT
SIPP_TIMEOUT=40

cp -r "$CONF" "$WORK/badconf"
printf 'exten => 820,hint,IAX2/820\n' >>"$WORK/badconf/extensions.conf"
"$MIKAKAD" -t -C "$WORK/badconf" >"$WORK/badconf.out" 2>&1
check "config-hint-tech-warning" grep -q "extensions.conf:14: warning: hint device 'IAX2/820'" "$WORK/badconf.out"
out=$("$MIKAKAD" -t -C "$CONF" 2>&1)
check "config-hints-clean" test -z "$(grep -i 'hint' <<<"$out")"
daemon_start "$CONF"
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq 100); do logged "$1" && return 0; sleep 0.1; done; return 1; }
wait_file() { for _ in $(seq 100); do [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }

out=$(cli core show hints)
echo "$out" | sed 's/^/  /'
check "hints-801-unavailable" grep -q "801@blf: SIP/801 .*State:Unavailable .*Watchers  0" <<<"$out"
check "hints-810-listed" grep -q "810@blf: SIP/801&PJSIP/802 .*State:Idle" <<<"$out"
check "hints-count" grep -q "^- 2 hints registered" <<<"$out"
check "dialplan-show-hint" sh -c "'$MIKAKA' -s '$CTL' dialplan show 801@blf | grep -q \"'801' =>  *hint: SIP/801\""

# 1. Refused: an unknown package, a type the package does not have, no hint, allowsubscribe=no.
sipp_bg bad blf-bad.xml 127.0.21.65 5495 127.0.21.60:$PORT
wait_ok "refused-489-406-404-403" "$BG" bad

# 2. Presence before 801 registers: closed/Unavailable; its registration: open/Ready; then
# the subscriber refreshes and unsubscribes by itself.
sipp_bg pres blf-presence.xml 127.0.21.64 5494 127.0.21.60:$PORT; PRES=$BG
check "presence-first-notify" wait_file "$WORK/presence.txt" 1
check "presence-unavailable" grep -qx "closed Unavailable active" "$WORK/presence.txt"
check "presence-content-type" grep -qi "Content-Type: application/pidf+xml" "$WORK/sipp-pres.msg"
sipp_register 801 pw801 127.0.21.61 5491 127.0.21.60:$PORT
wait_ok "presence-subscriber" "$PRES" pres
sed 's/^/  presence: /' "$WORK/presence.txt"
check "presence-sequence" test "$(tr '\n' '|' <"$WORK/presence.txt")" = \
	"closed Unavailable active|open Ready active|open Ready active refresh|open terminated final|"
check "presence-entity-escaped" grep -q 'entity="sip:801@127.0.21.60"' "$WORK/sipp-pres.msg"

out=$(cli core show hints)
check "hints-801-idle" grep -q "801@blf: SIP/801 .*State:Idle " <<<"$out"

# 3. Dialog: idle, then 802 calls 801 (rings 1 s, answered, 1.5 s, BYE).
sipp_bg dlg blf-dialog.xml 127.0.21.64 5496 127.0.21.60:$PORT; DLG=$BG
check "dialog-first-notify" wait_file "$WORK/dialog.txt" 1
check "dialog-content-type" grep -qi "Content-Type: application/dialog-info+xml" "$WORK/sipp-dlg.msg"
check "dialog-state-full" grep -q 'state="full"' "$WORK/sipp-dlg.msg"
check "dialog-200-contact" bash -c "grep -A12 'SIP/2.0 200 OK' '$WORK/sipp-dlg.msg' | grep -q '^Contact: <sip:mikaka@127.0.21.60:$PORT>'"
out=$(cli sip show subscriptions)
echo "$out" | sed 's/^/  /'
check "show-subscriptions" grep -q "^127.0.21.64 *803 .*801@blf *Idle *dialog-info+xml" <<<"$out"
check "hints-watchers" sh -c "'$MIKAKA' -s '$CTL' core show hints | grep -q '801@blf: .*Watchers  1'"
sipp_bg uas801 blf-phone-uas.xml 127.0.21.61 5491; UAS=$BG
sipp_bg call802 blf-call.xml 127.0.21.63 5493 127.0.21.60:$PORT; CALL=$BG
check "hints-801-ringing" bash -c "for _ in \$(seq 20); do '$MIKAKA' -s '$CTL' core show hints | grep -q '801@blf: .*State:Ringing' && exit 0; sleep 0.1; done; exit 1"
wait_ok "call-802-to-801" "$CALL" call802
wait_ok "call-801-answers" "$UAS" uas801
wait_ok "dialog-subscriber" "$DLG" dlg
sed 's/^/  dialog: /' "$WORK/dialog.txt"
check "dialog-sequence" test "$(tr '\n' '|' <"$WORK/dialog.txt")" = \
	"terminated 0 active|early 1 active|confirmed 2 active|terminated 3 active|terminated 4 active refresh|terminated terminated final|"
check "dialog-early-recipient" grep -q 'direction="recipient"' "$WORK/sipp-dlg.msg"
out=$(cli sip show subscriptions)
check "unsubscribed" grep -q "^0 active SIP subscriptions" <<<"$out"
check "no-channels-left" no_channels

# 3b. 801 calls the line and puts it on hold (re-INVITE a=sendonly), resumes, hangs up: its lamp
# goes InUse, Hold, InUse, Idle.
sipp_bg hold-carrier hold-carrier-uas.xml 127.0.21.62 5492 -mp 41500 \
	-key rtpaddr 127.0.21.62 -key rtpport 40510; CARRIER=$BG
sleep 0.3
sipp_bg hold-801 hold-phone-out.xml 127.0.21.61 5491 127.0.21.60:$PORT -mp 41600 \
	-key rtpaddr 127.0.21.61 -key rtpport 40520; PHONE=$BG
hint_state() { # hint_state EXT STATE: core show hints says so within 3 s
	for _ in $(seq 30); do
		cli core show hints | grep -q "$1@blf: .*State:$2 " && return 0
		sleep 0.1
	done
	return 1
}
check "hints-801-inuse-calling" hint_state 801 InUse
check "hints-801-hold" hint_state 801 Hold
check "hints-801-resumed" hint_state 801 InUse
wait_ok "hold-801-call" "$PHONE" hold-801
wait_ok "hold-carrier" "$CARRIER" hold-carrier
check "hints-801-idle-after-hold" hint_state 801 Idle

# 4. A reload adds a hint; 801 unregistering makes it Unavailable.
printf 'exten => 802,hint,SIP/802\n' >>"$CONF/extensions.conf"
cli reload >/dev/null
check "reload-hint-added" sh -c "'$MIKAKA' -s '$CTL' core show hints | grep -q '802@blf: SIP/802 .*State:Idle'"
csv "$WORK/801.csv" 801 pw801
sipp_bg unreg reg-unreg.xml 127.0.21.61 5491 -inf "$WORK/801.csv" 127.0.21.60:$PORT
wait_ok "unregister-801" "$BG" unreg
check "hints-801-unavailable-again" sh -c "'$MIKAKA' -s '$CTL' core show hints | grep -q '801@blf: SIP/801 .*State:Unavailable'"

# 5. A real phone: Debian's baresip (presence module, 803's account) watches contact 801
# (;presence=p2p): Offline while 801 is away, Online once it registers, Busy during 802's call.
if have_baresip && [ -e /usr/lib/baresip/modules/presence.so ]; then
	BS=$WORK/baresip
	baresip_conf "$BS" 127.0.21.66:5497 440 "<sip:803@127.0.21.60:$PORT>;auth_pass=pw803;regint=300" \
		"module_app contact.so" "module_app presence.so" "module cons.so" \
		"cons_listen 127.0.21.66:5380" "net_interface 127.0.21.66"
	echo "\"Ext 801\" <sip:801@127.0.21.60:$PORT>;presence=p2p" >"$BS/contacts"
	baresip_bg "$BS" 40
	# bs_contact WORD: baresip's contact list (its UDP console's /contacts) shows 801 as WORD
	# within 5 s.
	bs_contact() {
		python3 - "$1" <<-'EOP'
		import socket, sys, time
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.settimeout(0.3)
		end = time.time() + 5
		while time.time() < end:
		    s.sendto(b"/contacts\n", ("127.0.21.66", 5380))
		    out = b""
		    try:
		        while True:
		            out += s.recv(4000)
		    except OSError:
		        pass
		    for line in out.decode(errors="replace").splitlines():
		        if "Ext 801" in line and sys.argv[1] in line:
		            print("  baresip:", line.replace("\x1b", "").strip())
		            sys.exit(0)
		    time.sleep(0.2)
		sys.exit(1)
		EOP
	}
	check "baresip-subscribed" wait_log "803 subscribed to 801@blf (presence)"
	check "baresip-shows-offline" bs_contact Offline
	sipp_register 801 pw801 127.0.21.61 5491 127.0.21.60:$PORT
	check "baresip-shows-online" bs_contact Online
	sipp_bg uas801b blf-phone-uas.xml 127.0.21.61 5491; UAS=$BG
	sipp_bg call802b blf-call.xml 127.0.21.63 5493 127.0.21.60:$PORT; CALL=$BG
	check "baresip-shows-busy" bs_contact Busy
	wait_ok "baresip-call-802-to-801" "$CALL" call802b
	wait_ok "baresip-call-801-answers" "$UAS" uas801b
	check "baresip-shows-online-again" bs_contact Online
	kill "$BS_PID" 2>/dev/null; wait "$BS_PID" 2>/dev/null
else
	ok "skipped-no-baresip-presence"
fi

check "sigterm-clean-exit" stop_daemon
finish
