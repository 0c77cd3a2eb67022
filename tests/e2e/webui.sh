#!/usr/bin/env bash
# webui.sh: the console over HTTPS (the self-signed certificate mikakad makes; TLS 1.2 and 1.3
# only, HSTS, the Secure cookie), its JSON API (docs/API.md) and its pages in a real browser: a
# SIPp phone registers; /api/status lists it, /api/history returns call records with the right
# JSON types and filters them (an answered and a busy SIPp call), the CSV, the event stream, bad
# arguments get 400, no session gets 401 (API) or 303 to /login (pages), changes without the CSRF
# token 403; then Debian's chromium, headless through chromedriver and python3-selenium
# (tests/e2e/webui.py), is sent to the login page without a session, is refused a wrong
# password, logs in, sees the phone on the status page, sees a SIPp call appear without a reload
# and ends it with the hang-up button (both SIPp sides wait for mikaka's BYE), filters the history
# and downloads its CSV, sees a broken extensions.conf's file:line on the configuration page and
# reloads once it is mended, with no Content-Security-Policy violation; logs out, is banned after
# repeated failures; the login page is Japanese for a Japanese browser. The block list and
# phonebook API (401, CSRF, add/list/delete, the CLI sees the same list); the browser blocks a
# number on the block list page and a SIPp call from it is refused (603, no ringing); it adds a
# phonebook entry on its page, sees it listed and removes it.
# Loopback 127.0.7.20-23; SIP 15790, HTTPS 18790.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.20
SIPPORT=15790
PORT=18790
U=https://$ADDR:$PORT
PY=/usr/bin/python3 # Debian's, with python3-selenium
PW='browser-Pass 9'

for t in curl jq openssl /usr/bin/chromium /usr/bin/chromedriver; do
	command -v $t >/dev/null || { notok "$t missing (scripts/deps.sh check)"; exit 1; }
done
$PY -c 'import selenium' 2>/dev/null || { notok "python3-selenium missing"; exit 1; }

CONF=$WORK/conf
web_pbx_conf "$CONF" $ADDR $SIPPORT 127.0.7.21 15791 127.0.7.23:15793
# HTTPS with the self-signed certificate mikakad makes in the state directory (no SIP TLS here)
web_conf "$CONF" $ADDR:$PORT ban_failures=3 tls=yes hsts=yes
# screening on (docs/SCREENING.md), so that a number blocked on the block list page is refused
printf '[screening]\ninteraction = allow\n' >>"$CONF/mikaka.conf"
printf '[screening-voicemail]\nexten => _X.,1,Hangup()\n' >>"$CONF/extensions.conf" # its default target
daemon_start "$CONF"
echo "$PW" | cli web passwd alice >/dev/null
sipp_register 802 pw802 127.0.7.22 15792 $ADDR:$SIPPORT
# every curl below (in bash -c too) takes the self-signed certificate
mkdir -p "$WORK/curl" && echo insecure >"$WORK/curl/.curlrc"
export CURL_HOME=$WORK/curl

# ---- HTTPS ----
check "https-self-signed-made" test -s "$WORK/tls-cert.pem"
check "https-log-says-https" grep -q "web console on https://$ADDR:$PORT/" "$DAEMON_LOG"
fp=$(openssl x509 -in "$WORK/tls-cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
check "https-fingerprint-logged" grep -q "web console on https://.*SHA-256 fingerprint $fp" "$DAEMON_LOG"
served=$(echo | timeout 10 openssl s_client -connect $ADDR:$PORT 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
check "https-serves-that-certificate" test "$served" = "$fp"
tls() { echo | timeout 10 openssl s_client -connect $ADDR:$PORT "$@" 2>&1; }
check "https-tls12-accepted" grep -q 'New, TLSv1.2' <<<"$(tls -tls1_2)"
check "https-tls13-accepted" grep -q 'New, TLSv1.3' <<<"$(tls -tls1_3)"
out=$(tls -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
check "https-tls11-refused" bash -c "grep -q 'alert protocol version' <<<'$out' && ! grep -q 'New, TLSv1.1' <<<'$out'"
check "https-http11-only" grep -q 'ALPN protocol: http/1.1' <<<"$(tls -alpn h2,http/1.1)"
check "https-plain-http-refused" test "$(code http://$ADDR:$PORT/login)" != 200
h=$(curl -s -D - -o /dev/null $U/login)
check "https-hsts" grep -qi '^strict-transport-security: max-age=31536000' <<<"$h"
h=$(curl -s -D - -o /dev/null --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login)
check "https-cookie-secure" grep -qi '^set-cookie: mikaka_session=.*; Secure' <<<"$h"

# ---- the API ----
check "api-status-401" test "$(code $U/api/status)" = 401
check "api-history-401" test "$(code $U/api/history)" = 401
h=$(curl -s -D - -o /dev/null $U/)
check "page-no-session-303" grep -q '^HTTP/[0-9.]* 303' <<<"$h"
check "page-no-session-location" grep -qi '^location: /login' <<<"$h"
check "page-303-csp" grep -qi '^content-security-policy:' <<<"$h"
check "login-page-public" test "$(code $U/login)" = 200
check "script-public" test "$(code $U/app.js)" = 200
curl -s -c "$WORK/jar" --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login >/dev/null
curl -s -b "$WORK/jar" $U/api/status >"$WORK/status.json"
check "api-status-json" jqt . "$WORK/status.json"
check "api-status-phone" jqt '.phones[] | select(.peer == "802" and .transport == "UDP" and (.expires | type) == "number")' "$WORK/status.json"
check "api-status-types" jqt '(.line | type) == "array" and (.calls | type) == "array" and (.version | type) == "string"' "$WORK/status.json"
# A call record to read back: the carrier calls in, phone 801 answers, the carrier hangs up.
sipp_bg phone-answer call-phone-uas.xml 127.0.7.23 15793; phone=$BG
sleep 0.3
sipp_bg carrier-in call-carrier-in.xml 127.0.7.21 15791 $ADDR:$SIPPORT
wait_ok carrier-in "$BG"
wait_ok phone-answer "$phone"
sleep 0.5
curl -s -b "$WORK/jar" "$U/api/history?limit=10" >"$WORK/history.json"
check "api-history-array" jqt 'type == "array" and length == 1' "$WORK/history.json"
check "api-history-record" jqt '.[0] | .disposition == "ANSWERED" and (.src | type) == "string" and (.start_ms | type) == "number" and (.duration | type) == "number" and (.id | type) == "number"' "$WORK/history.json"
jq -c '.[0]' "$WORK/history.json"
check "api-history-limit-0-400" test "$(code -b "$WORK/jar" "$U/api/history?limit=0")" = 400
check "api-history-limit-text-400" test "$(code -b "$WORK/jar" "$U/api/history?limit=ten")" = 400
check "api-history-limit-huge-400" test "$(code -b "$WORK/jar" "$U/api/history?limit=99999999999999999999")" = 400
check "login-json-types-400" test "$(code -H 'Content-Type: application/json' -d '{"user":1,"password":[]}' $U/api/login)" = 400
check "login-unicode-name-400" test "$(code --data-urlencode 'user=ユーザー' --data-urlencode 'password=x' $U/api/login)" = 400
check "api-status-post-403-no-csrf" test "$(code -b "$WORK/jar" -X POST $U/api/status)" = 403
check "page-with-session-200" test "$(code -b "$WORK/jar" $U/)" = 200
check "page-english-default" bash -c "curl -s -b '$WORK/jar' $U/ | grep -q 'lang=\"en\"'"
check "page-japanese" bash -c "curl -s -b '$WORK/jar' -H 'Accept-Language: ja,en-US;q=0.8' $U/ | grep -q 'lang=\"ja\"'"
check "page-english-first" bash -c "curl -s -b '$WORK/jar' -H 'Accept-Language: en-US,ja;q=0.5' $U/ | grep -q 'lang=\"en\"'"

# A busy call: a record that is not ANSWERED, for the history's filters.
sipp_bg busy-801 call2-phone-busy.xml 127.0.7.23 15793; phone=$BG
sleep 0.3
sipp_bg busy-carrier call2-carrier-fail.xml 127.0.7.21 15791 -s 0312345678 $ADDR:$SIPPORT
wait_ok busy-carrier "$BG"
wait_ok busy-801 "$phone"

# ---- the new API endpoints: 401 without a session, CSRF on changes, CSP ----
for p in /api/events /api/history.csv /api/config /history /config; do
	c=$(code $U$p)
	check "no-session-$p" test "$c" = 401 -o "$c" = 303
done
check "no-session-hangup-401" test "$(code -X POST -d channel=x $U/api/hangup)" = 401
check "no-session-reload-401" test "$(code -X POST $U/api/config/reload)" = 401
check "hangup-no-csrf-403" test "$(code -b "$WORK/jar" -d channel=x $U/api/hangup)" = 403
check "reload-no-csrf-403" test "$(code -b "$WORK/jar" -X POST $U/api/config/reload)" = 403
csrf=$(curl -s -b "$WORK/jar" $U/api/session | jq -r .csrf)
check "hangup-unknown-404" test "$(code -b "$WORK/jar" -H "X-CSRF-Token: $csrf" -d channel=SIP/nobody-1 $U/api/hangup)" = 404
check "events-get-only" test "$(code -b "$WORK/jar" -H "X-CSRF-Token: $csrf" -X POST $U/api/events)" = 405
check "config-reload-get-405" test "$(code -b "$WORK/jar" $U/api/config/reload)" = 405
h=$(curl -s -D - -o "$WORK/ev.txt" --max-time 2 -b "$WORK/jar" $U/api/events)
check "events-stream" grep -qi '^content-type: text/event-stream' <<<"$h"
check "events-csp" grep -qi '^content-security-policy:' <<<"$h"
check "events-first-status" bash -c "grep -q '^event: status' '$WORK/ev.txt' && sed -n 's/^data: //p' '$WORK/ev.txt' | head -1 | jq -e '.phones[0].peer == \"802\"' >/dev/null"
# an idle stream outlives the request timeout (10 s): still open after 25 s, with a keep-alive
curl -s -N --max-time 25 -b "$WORK/jar" $U/api/events >"$WORK/ev3.txt" &
ev3=$!
PIDS+=("$ev3")
# a stream ends with its session (logout), and at most 16 are open at once
curl -s -c "$WORK/jar2" --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login >"$WORK/login2.json"
curl -s -N -b "$WORK/jar2" $U/api/events >"$WORK/ev2.txt" &
ev2=$!
PIDS+=("$ev2")
sleep 1
curl -s -b "$WORK/jar2" -H "X-CSRF-Token: $(jq -r .csrf "$WORK/login2.json")" -X POST $U/api/logout >/dev/null
for _ in $(seq 40); do kill -0 $ev2 2>/dev/null || break; sleep 0.1; done
check "events-end-on-logout" bash -c "! kill -0 $ev2 2>/dev/null"
streams=()
for i in $(seq 15); do # with the idle one above: 16
	curl -s -N -b "$WORK/jar" $U/api/events >"$WORK/evs$i.txt" &
	streams+=($!)
	PIDS+=($!)
done
for _ in $(seq 100); do
	[ "$(grep -l '^event: status' "$WORK"/evs*.txt 2>/dev/null | wc -l)" = 15 ] && break
	sleep 0.1
done
c17=$(code -b "$WORK/jar" $U/api/events); echo "# 17th stream: $c17"
check "events-17th-503" test "$c17" = 503
check "api-answers-with-16-streams" test "$(code -b "$WORK/jar" $U/api/status)" = 200
kill "${streams[@]}" 2>/dev/null
wait "${streams[@]}" 2>/dev/null
# the daemon notices closed streams within a second or two, not at the next keep-alive
c=
for _ in $(seq 30); do
	c=$(code --max-time 0.5 -b "$WORK/jar" $U/api/events)
	[ "$c" != 503 ] && break
	sleep 0.1
done
check "events-closed-streams-freed" test "$c" != 503
for p in /api/history.csv /api/config /history /config; do
	check "csp-$p" bash -c "curl -s -D - -o /dev/null -b '$WORK/jar' $U$p | grep -qi '^content-security-policy:'"
done
# history: filters, pages, CSV
n() { curl -s -b "$WORK/jar" "$U/api/history?$1" | jq length; }
check "history-all-2" test "$(n limit=10)" = 2
check "history-busy-1" test "$(n disposition=BUSY)" = 1
check "history-answered-1" test "$(n 'disposition=ANSWERED')" = 1
check "history-number" test "$(n number=0901234567)" = 2
check "history-number-none" test "$(n number=555)" = 0
check "history-page-2" test "$(n 'limit=1&offset=1')" = 1
check "history-total-header" bash -c "curl -s -D - -o /dev/null -b '$WORK/jar' '$U/api/history?limit=1' | grep -qi '^x-total-count: 2'"
now=$(($(date +%s) * 1000))
check "history-from-future-0" test "$(n from=$((now + 3600000)))" = 0
check "history-to-past-0" test "$(n to=$((now - 3600000)))" = 0
check "history-range-2" test "$(n "from=$((now - 3600000))&to=$((now + 3600000))")" = 2
check "history-bad-disp-400" test "$(code -b "$WORK/jar" "$U/api/history?disposition=MAYBE")" = 400
check "history-bad-from-400" test "$(code -b "$WORK/jar" "$U/api/history?from=yesterday")" = 400
curl -s -b "$WORK/jar" "$U/api/history.csv?disposition=BUSY" >"$WORK/h.csv"
check "history-csv-rows" test "$(wc -l <"$WORK/h.csv")" = 2
check "history-csv-head" grep -q '^id,start,answer,end,src,dst,clid,disposition' "$WORK/h.csv"
check "history-csv-busy" grep -q ',BUSY,' "$WORK/h.csv"
check "history-format-csv" bash -c "curl -s -b '$WORK/jar' '$U/api/history?format=csv' | grep -c ',ANSWERED,' | grep -qx 1"
# the configuration check: clean now
curl -s -b "$WORK/jar" $U/api/config >"$WORK/cfg.json"
check "config-ok" jqt '.ok == true and .errors == 0 and (.findings | type) == "array"' "$WORK/cfg.json"

# ---- the block list and the phonebook (docs/API.md) ----
for p in /api/blocklist /api/phonebook /blocklist /phonebook; do
	c=$(code $U$p)
	check "no-session-$p" test "$c" = 401 -o "$c" = 303
done
for p in /api/blocklist /api/blocklist/del /api/phonebook /api/phonebook/del; do
	check "no-session-post-$p-401" test "$(code -d number=0311112222 -d name=x $U$p)" = 401
	check "no-csrf-$p-403" test "$(code -b "$WORK/jar" -d number=0311112222 -d name=x $U$p)" = 403
done
H=(-b "$WORK/jar" -H "X-CSRF-Token: $csrf")
check "blocklist-empty" bash -c "curl -s -b '$WORK/jar' $U/api/blocklist | jq -e '.count == 0 and .entries == []' >/dev/null"
check "blocklist-add-prefix" test "$(code "${H[@]}" -d 'number=0570*' --data-urlencode 'note=navi dial' $U/api/blocklist)" = 200
check "blocklist-add-bad-400" test "$(code "${H[@]}" -d 'number=abc' $U/api/blocklist)" = 400
check "blocklist-lists-it" bash -c "curl -s -b '$WORK/jar' $U/api/blocklist | jq -e '.entries[0] | .number == \"0570*\" and .prefix == true and .note == \"navi dial\" and (.added | type) == \"number\"' >/dev/null"
out=$(cli block show)
check "blocklist-cli-sees-it" grep -q '^0570\*.*navi dial' <<<"$out"
check "blocklist-del" test "$(code "${H[@]}" -d 'number=0570*' $U/api/blocklist/del)" = 200
check "blocklist-del-again-404" test "$(code "${H[@]}" -d 'number=0570*' $U/api/blocklist/del)" = 404
check "blocklist-add-no-number-400" test "$(code "${H[@]}" -X POST $U/api/blocklist)" = 400
check "phonebook-add" test "$(code "${H[@]}" -d number=03-1111-2222 --data-urlencode 'name=山田 花子' $U/api/phonebook)" = 200
check "phonebook-lists-it" bash -c "curl -s -b '$WORK/jar' $U/api/phonebook | jq -e '.count == 1 and .entries[0].number == \"0311112222\" and .entries[0].name == \"山田 花子\"' >/dev/null"
check "phonebook-no-name-400" test "$(code "${H[@]}" -d number=0311112222 $U/api/phonebook)" = 400
check "phonebook-del" test "$(code "${H[@]}" -d number=0311112222 $U/api/phonebook/del)" = 200
check "phonebook-del-again-404" test "$(code "${H[@]}" -d number=0311112222 $U/api/phonebook/del)" = 404

# ---- the browser ----
cp "$CONF/extensions.conf" "$WORK/extensions.good"
export WEBUI_CONF=$CONF WEBUI_WORK=$WORK
# The carrier's call is held up until the console's hang-up button sends the BYE; it starts when
# webui.py has the status page open (the file call-now), so the call must arrive live.
STMO=90 sipp_bg hold-801 call-phone-uas.xml 127.0.7.23 15793; hold_phone=$BG
rm -f "$WORK/call-now"
timeout 240 $PY "$E2E/webui.py" "$U" alice "$PW" 802 3 2>"$WORK/webui.err" &
py=$!
for _ in $(seq 300); do [ -e "$WORK/call-now" ] && break; sleep 0.2; done
STMO=90 sipp_bg hold-carrier webui-carrier-hold.xml 127.0.7.21 15791 $ADDR:$SIPPORT; hold_car=$BG
# webui.py blocks 0907777777 on the block list page (the file blocked), then a call from it is
# refused with 603 before any phone rings
for _ in $(seq 600); do [ -e "$WORK/blocked" ] || ! kill -0 $py 2>/dev/null && break; sleep 0.2; done
check "browser-blocked-file" test -e "$WORK/blocked"
sipp_bg blocked-call scr-carrier-refused.xml 127.0.7.21 15791 $ADDR:$SIPPORT -key dn "" \
	-key user 0907777777 -key host ntt-east.ne.jp -key privacy none
wait_ok blocked-call "$BG"
check "blocked-call-603" grep -q "^SIP/2.0 603 " "$WORK/sipp-blocked-call.msg"
check "blocked-call-no-ringing" bash -c "! grep -q '^SIP/2.0 180 ' '$WORK/sipp-blocked-call.msg'"
check "blocked-call-logged" grep -q "refused by screening (blocklist" "$DAEMON_LOG"
wait $py
rc=$?
[ $rc = 0 ] || { notok "webui.py (exit $rc)"; tail -20 "$WORK/webui.err"; }
wait $ev3
check "events-idle-stream-kept" test $? = 28
check "events-keep-alive" grep -q '^: keep-alive' "$WORK/ev3.txt"
wait_ok "hangup-carrier-got-bye" "$hold_car" hold-carrier
wait_ok "hangup-phone-got-bye" "$hold_phone" hold-801
check "log-no-password" bash -c "! grep -qF 'browser-Pass' '$DAEMON_LOG'"
check "daemon-stops-clean" stop_daemon
finish
