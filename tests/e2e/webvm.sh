#!/usr/bin/env bash
# webvm.sh: voicemail in the web console (issue #16 with #14): a SIPp phone (801, 127.0.7.51) calls
# extension 800 = VoiceMail(801@default,u) and tools/rtptone plays a 1 kHz tone: a real message in
# the spool. Then the JSON API (docs/API.md): the list (types, newest first, from the index), the
# WAV as audio/wav, byte for byte, Range answered 206 with the right Content-Range and bytes (and
# 416), 401 without a session, 403 without the CSRF token, traversal and non-numeric ids refused,
# the page in English and Japanese. Then Debian's chromium through selenium (tests/e2e/webvm.py)
# opens the voicemail page: the <audio> loads (loadedmetadata) with a duration that matches the
# WAV; a second message recorded while the page is open appears without a reload (the event
# stream); the browser marks it heard (the files move INBOX -> Old, the index follows, the API
# says heard, the lamp of peer 802 (mailbox=801@default, a SIPp UAS on 127.0.7.53) gets the new
# counts in a NOTIFY) and deletes both messages (files and rows gone, counts 0/0, the last
# NOTIFY 0/0): the same NOTIFYs the CLI's `voicemail delete` makes.
# Loopback 127.0.7.50-53; SIP 15810, HTTP 18810.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.50
SIPPORT=15810
PORT=18810
U=http://$ADDR:$PORT
PY=/usr/bin/python3 # Debian's, with python3-selenium
PW='vm-Pass 7'
RTPTONE=$TOOLS/rtptone
WAVGEN=$TOOLS/wavgen
WAVTONE=$TOOLS/wavtone

for t in curl jq sqlite3 /usr/bin/chromium /usr/bin/chromedriver "$RTPTONE" "$WAVGEN" "$WAVTONE"; do
	command -v "$t" >/dev/null || { notok "$t missing (scripts/deps.sh check, make tools)"; exit 1; }
done
$PY -c 'import selenium' 2>/dev/null || { notok "python3-selenium missing"; exit 1; }

CONF=$WORK/conf
DATA=$WORK/data
SPOOL=$WORK/spool
BOX=$SPOOL/default/801
call_sipconf "$CONF" $ADDR $SIPPORT 127.0.7.52 15812
sip_phone "$CONF" 801 pw801 127.0.7.51:15811 dtmfmode=rfc2833
printf '[802]\ntype=friend\nhost=127.0.7.53\nport=15813\ncontext=from_phone\nmailbox=801@default\n' \
	>>"$CONF/sip.conf"
rtp_conf "$CONF" 53800 53898
mkdir -p "$DATA/sounds/en" "$SPOOL"
"$WAVGEN" "$DATA/sounds/en/vm-isunavail.wav" 500 300
"$WAVGEN" "$DATA/sounds/en/beep.wav" 1000 200
web_conf "$CONF" $ADDR:$PORT
printf '[directories]\nastdatadir=%s\n' "$DATA" >>"$CONF/mikaka.conf"
cat >"$CONF/voicemail.conf" <<EOT
[general]
spooldir=$SPOOL
maxsecs=20
minsecs=1
mailcmd=/bin/true
[default]
801 => 1234,Taro Yamada
EOT
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
[from_phone]
exten => 800,1,VoiceMail(801@default,u)
 same => n,Hangup()
EOT
check "config-check" "$MIKAKAD" -t -C "$CONF"
daemon_start "$CONF"
echo "$PW" | cli web passwd alice >/dev/null
SIPP_TIMEOUT=25

# Peer 802 takes the unsolicited NOTIFYs of every change: 1/0 (message A), 2/0 (message B), 1/1
# (B heard on the page), 1/0 (B deleted on the page), 0/0 (A deleted on the page).
STMO=200 SM=5 sipp_bg peer mwi-peer-uas.xml 127.0.7.53 15813 -key out peer-notify.txt; PEER=$BG

# record MS: phone 801 calls 800 and plays a 1 kHz tone for MS ms, then hangs up.
record() {
	local a p
	rm -f "$WORK/phone.sdp"
	sipp_bg "c$1" lm-phone-call.xml 127.0.7.51 15811 $ADDR:$SIPPORT -mp 41820 -s 800 \
		-d $(($1 + 1500)) -key rtpaddr 127.0.7.51 -key rtpport 42820
	local ph=$BG
	for _ in $(seq 50); do [ -s "$WORK/phone.sdp" ] && break; sleep 0.1; done
	read -r a p _ <"$WORK/phone.sdp" 2>/dev/null
	timeout 30 "$RTPTONE" 127.0.7.51:42820 "${a:-$ADDR}:${p:-9}" tone "$1" >"$WORK/rt$1.out" 2>&1
	wait "$ph"
}
logged() { grep -q "$1" "$DAEMON_LOG"; }
wait_log() { for _ in $(seq 80); do logged "$1" && return 0; sleep 0.1; done; return 1; }
notifies() { tr '\n' ' ' <"$WORK/peer-notify.txt" 2>/dev/null; }
wait_notifies() { for _ in $(seq 50); do [ "$(notifies)" = "$1" ] && return 0; sleep 0.1; done; echo "  NOTIFYs: $(notifies)"; return 1; }

# ---- a real message (A) ----
record 6000
check "message-a-stored" wait_log "voicemail: message 0 for 801@default"
check "message-a-1khz" "$WAVTONE" "$BOX/INBOX/msg0000.wav" 1000 4000
check "mwi-a-notify-1/0" wait_notifies "1/0 "

# ---- the API without a session, without CSRF ----
check "no-session-list-401" test "$(code $U/api/voicemail)" = 401
check "no-session-wav-401" test "$(code $U/api/voicemail/1.wav)" = 401
check "no-session-heard-401" test "$(code -d id=1 $U/api/voicemail/heard)" = 401
check "no-session-delete-401" test "$(code -d id=1 $U/api/voicemail/delete)" = 401
h=$(curl -s -D - -o /dev/null $U/voicemail)
check "no-session-page-303" grep -q '^HTTP/[0-9.]* 303' <<<"$h"
curl -s -c "$WORK/jar" --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login >"$WORK/login.json"
csrf=$(jq -r .csrf "$WORK/login.json")
H=(-b "$WORK/jar" -H "X-CSRF-Token: $csrf")

# ---- the list ----
curl -s -b "$WORK/jar" $U/api/voicemail >"$WORK/vm.json"
jq -c . "$WORK/vm.json"
check "list-one-message" jqt '.messages | length == 1' "$WORK/vm.json"
check "list-types" jqt '.messages[0] | (.id | type) == "number" and .box == "801" and .context == "default" and .folder == "INBOX" and .heard == false and .from == "801" and (.received_ms | type) == "number" and (.duration | type) == "number"' "$WORK/vm.json"
check "list-counts-1/0" jqt '.new == 1 and .old == 0' "$WORK/vm.json"
now=$(($(date +%s) * 1000))
check "list-received-now" jqt --argjson now $now '.messages[0].received_ms > $now - 120000 and .messages[0].received_ms <= $now' "$WORK/vm.json"
dur=$(sed -n 's/^duration=//p' "$BOX/INBOX/msg0000.txt")
check "list-duration-is-the-txt" jqt --argjson d "${dur:-0}" '.messages[0].duration == $d and $d >= 4' "$WORK/vm.json"
IDA=$(jq -r '.messages[0].id' "$WORK/vm.json")
check "list-id-is-the-inode" test "$IDA" = "$(stat -c %i "$BOX/INBOX/msg0000.wav")"
check "status-has-voicemail" bash -c "curl -s -b '$WORK/jar' $U/api/status | jq -e '.voicemail.new == 1 and .voicemail.old == 0' >/dev/null"

# ---- the WAV: whole, Range, 416 ----
size=$(stat -c %s "$BOX/INBOX/msg0000.wav")
h=$(curl -s -D - -o "$WORK/a.wav" -b "$WORK/jar" $U/api/voicemail/$IDA.wav)
check "wav-200" grep -q '^HTTP/[0-9.]* 200' <<<"$h"
check "wav-content-type" grep -qi '^content-type: audio/wav' <<<"$h"
check "wav-accept-ranges" grep -qi '^accept-ranges: bytes' <<<"$h"
check "wav-csp" grep -qi '^content-security-policy:' <<<"$h"
check "wav-same-bytes" cmp -s "$WORK/a.wav" "$BOX/INBOX/msg0000.wav"
h=$(curl -s -D - -o "$WORK/r1" -b "$WORK/jar" -H 'Range: bytes=100-1099' $U/api/voicemail/$IDA.wav)
check "range-206" grep -q '^HTTP/[0-9.]* 206' <<<"$h"
check "range-content-range" grep -qi "^content-range: bytes 100-1099/$size" <<<"$h"
check "range-length" grep -qix $'content-length: 1000\r' <<<"$h"
check "range-bytes" cmp -s "$WORK/r1" <(tail -c +101 "$BOX/INBOX/msg0000.wav" | head -c 1000)
h=$(curl -s -D - -o "$WORK/r2" -b "$WORK/jar" -H 'Range: bytes=-44' $U/api/voicemail/$IDA.wav)
check "range-suffix" bash -c "grep -qi '^content-range: bytes $((size - 44))-$((size - 1))/$size' <<<'$h' && cmp -s '$WORK/r2' <(tail -c 44 '$BOX/INBOX/msg0000.wav')"
h=$(curl -s -D - -o "$WORK/r3" -b "$WORK/jar" -H "Range: bytes=$((size - 10))-" $U/api/voicemail/$IDA.wav)
check "range-open-end" bash -c "grep -qi '^content-range: bytes $((size - 10))-$((size - 1))/$size' <<<'$h' && cmp -s '$WORK/r3' <(tail -c 10 '$BOX/INBOX/msg0000.wav')"
h=$(curl -s -D - -o /dev/null -b "$WORK/jar" -H "Range: bytes=$size-" $U/api/voicemail/$IDA.wav)
check "range-416" bash -c "grep -q '^HTTP/[0-9.]* 416' <<<'$h' && grep -qi '^content-range: bytes \*/$size' <<<'$h'"

# ---- bad ids and traversal: refused, nothing from outside the spool ----
for p in '..%2F..%2Fetc%2Fpasswd' '..%2F..%2F..%2F..%2Fetc%2Fpasswd.wav' abc.wav -1.wav 1e3.wav 0x10.wav \
	"$IDA" "$IDA.txt" "$IDA.wav.txt" "%20$IDA.wav" "%2e%2e%2f$IDA.wav" 0.wav 99999999999999999999999.wav; do
	c=$(curl -s -o "$WORK/bad.out" -w '%{http_code}' --path-as-is -b "$WORK/jar" "$U/api/voicemail/$p")
	check "bad-id-refused-[$p]-$c" bash -c "[ '$c' = 400 ] || [ '$c' = 404 ]"
	check "bad-id-no-file-[$p]" bash -c "! grep -q 'root:' '$WORK/bad.out' && ! grep -q RIFF '$WORK/bad.out'"
done
c=$(curl -s -o "$WORK/bad.out" -w '%{http_code}' --path-as-is -b "$WORK/jar" "$U/api/voicemail/../../../../etc/passwd")
check "traversal-dotdot-refused-$c" bash -c "[ '$c' = 400 ] || [ '$c' = 404 ]"
check "traversal-dotdot-no-file" bash -c "! grep -q 'root:' '$WORK/bad.out'"
check "unknown-id-404" test "$(code -b "$WORK/jar" $U/api/voicemail/$((IDA + 1000000)).wav)" = 404
check "wav-post-405" test "$(code "${H[@]}" -X POST $U/api/voicemail/$IDA.wav)" = 405
check "list-post-405" test "$(code "${H[@]}" -X POST $U/api/voicemail)" = 405
check "heard-get-405" test "$(code -b "$WORK/jar" $U/api/voicemail/heard)" = 405
check "heard-no-csrf-403" test "$(code -b "$WORK/jar" -d id=$IDA $U/api/voicemail/heard)" = 403
check "delete-no-csrf-403" test "$(code -b "$WORK/jar" -d id=$IDA $U/api/voicemail/delete)" = 403
check "delete-wrong-csrf-403" test "$(code -b "$WORK/jar" -H "X-CSRF-Token: ${csrf//?/0}" -d id=$IDA $U/api/voicemail/delete)" = 403
check "heard-bad-id-400" test "$(code "${H[@]}" -d id=abc $U/api/voicemail/heard)" = 400
check "delete-traversal-id-400" test "$(code "${H[@]}" --data-urlencode 'id=../../x' $U/api/voicemail/delete)" = 400
check "delete-no-id-400" test "$(code "${H[@]}" -X POST $U/api/voicemail/delete)" = 400
check "delete-unknown-404" test "$(code "${H[@]}" -d id=$((IDA + 1000000)) $U/api/voicemail/delete)" = 404
check "still-there-after-refusals" test -e "$BOX/INBOX/msg0000.wav"
check "mwi-no-notify-on-refusals" wait_notifies "1/0 "

# ---- the page ----
check "page-200" test "$(code -b "$WORK/jar" $U/voicemail)" = 200
check "page-japanese" bash -c "curl -s -b '$WORK/jar' -H 'Accept-Language: ja' $U/voicemail | grep -q '<h2>留守番電話</h2>'"
check "page-english" bash -c "curl -s -b '$WORK/jar' $U/voicemail | grep -q '<h2>Voicemail</h2>'"
check "page-in-nav" bash -c "curl -s -b '$WORK/jar' $U/ | grep -q 'href=\"/voicemail\"'"

# ---- the browser ----
export WEBVM_WORK=$WORK
secs=$("$WAVTONE" "$BOX/INBOX/msg0000.wav" 1 0 2>/dev/null | sed -n 's/.* channel(s), \([0-9.]*\) s,.*/\1/p')
echo "  msg0000.wav: ${secs:-?} s"
timeout 240 $PY "$E2E/webvm.py" "$U" alice "$PW" "$IDA" "${secs:-0}" 2>"$WORK/webvm.err" &
py=$!
PIDS+=("$py")
step() { for _ in $(seq 600); do [ -e "$WORK/$1" ] && return 0; kill -0 $py 2>/dev/null || return 1; sleep 0.2; done; return 1; }
# the page is open: message B arrives and must appear there live
if step page-open; then
	record 4000
	check "message-b-stored" wait_log "voicemail: message 1 for 801@default"
	check "mwi-b-notify-2/0" wait_notifies "1/0 2/0 "
	IDB=$(stat -c %i "$BOX/INBOX/msg0001.wav" 2>/dev/null)
	echo "$IDB" >"$WORK/idb"
fi
# the browser marked B heard
if step heard-done; then
	check "heard-moved-to-old" test -e "$BOX/Old/msg0000.wav" -a -e "$BOX/Old/msg0000.txt"
	check "heard-inbox-has-a-only" bash -c "test -e '$BOX/INBOX/msg0000.wav' -a ! -e '$BOX/INBOX/msg0001.wav'"
	check "heard-same-file" test "$(stat -c %i "$BOX/Old/msg0000.wav")" = "${IDB:-x}"
	check "heard-old-is-b" "$WAVTONE" "$BOX/Old/msg0000.wav" 1000 2500
	rows=$(sqlite3 "$WORK/mikaka.db" "SELECT folder || ':' || msgnum FROM vm_msg WHERE mailbox='801' ORDER BY folder, msgnum" 2>&1 | tr '\n' ' ')
	echo "  index: $rows"
	check "heard-index-follows" test "$rows" = "INBOX:0 Old:0 "
	curl -s -b "$WORK/jar" $U/api/voicemail >"$WORK/vm2.json"
	check "heard-api" jqt --argjson b "${IDB:-0}" --argjson a "$IDA" '.new == 1 and .old == 1 and ([.messages[] | select(.id == $b and .heard == true and .folder == "Old")] | length) == 1 and ([.messages[] | select(.id == $a and .heard == false)] | length) == 1' "$WORK/vm2.json"
	check "heard-newest-first" jqt --argjson b "${IDB:-0}" '.messages[0].id == $b' "$WORK/vm2.json"
	check "mwi-heard-notify-1/1" wait_notifies "1/0 2/0 1/1 "
	out=$(cli voicemail show messages 801@default)
	check "heard-cli-sees-it" grep -q "(1 new, 1 old)" <<<"$out"
	check "heard-logged" grep -q "alice marked heard voicemail message INBOX 1 of 801@default from the web console" "$DAEMON_LOG"
	# heard again: nothing changes (200, still in Old/msg0000, no NOTIFY: the sequence below is exact)
	check "heard-again-200" test "$(code "${H[@]}" -d id=${IDB:-0} $U/api/voicemail/heard)" = 200
	check "heard-again-unchanged" test "$(stat -c %i "$BOX/Old/msg0000.wav")" = "${IDB:-x}"
	touch "$WORK/go-delete"
fi
wait $py
rc=$?
cat "$WORK/webvm.err" | tail -5
[ $rc = 0 ] || notok "webvm.py (exit $rc)"
check "deleted-files-gone" bash -c "! ls '$BOX/INBOX/'msg* '$BOX/Old/'msg* 2>/dev/null | grep -q ."
rows=$(sqlite3 "$WORK/mikaka.db" "SELECT count(*) FROM vm_msg" 2>&1)
check "deleted-rows-gone" test "$rows" = 0
check "deleted-api-0/0" bash -c "curl -s -b '$WORK/jar' $U/api/voicemail | jq -e '.new == 0 and .old == 0 and .messages == []' >/dev/null"
out=$(cli voicemail show messages 801@default)
check "deleted-cli-0/0" grep -q "(0 new, 0 old)" <<<"$out"
check "deleted-logged" grep -q "alice deleted voicemail message" "$DAEMON_LOG"
check "mwi-sequence" wait_notifies "1/0 2/0 1/1 1/0 0/0 "
wait_ok "mwi-peer-took-5-notifies" "$PEER" peer
check "log-no-password" bash -c "! grep -qF 'vm-Pass' '$DAEMON_LOG'"
check "daemon-stops-clean" stop_daemon
finish
