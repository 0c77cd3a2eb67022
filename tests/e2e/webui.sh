#!/usr/bin/env bash
# webui.sh: the console's JSON API (docs/API.md) and its status page in a real browser: a SIPp
# phone registers; /api/status lists it, /api/history returns call records with the right JSON
# types, bad arguments get 400, no session gets 401 (API) or 303 to /login (page); then Debian's
# chromium, headless through chromedriver and python3-selenium (tests/e2e/webui.py), is sent to
# the login page without a session, is refused a wrong password, logs in, sees the phone on the
# status page with no Content-Security-Policy violation, logs out, is banned after repeated
# failures; the login page is Japanese for a Japanese browser.
# Loopback 127.0.7.20-23; SIP 15790, HTTP 18790.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.20
SIPPORT=15790
PORT=18790
U=http://$ADDR:$PORT
PY=/usr/bin/python3 # Debian's, with python3-selenium
PW='browser-Pass 9'

for t in curl jq /usr/bin/chromium /usr/bin/chromedriver; do
	command -v $t >/dev/null || { notok "$t missing (scripts/deps.sh check)"; exit 1; }
done
$PY -c 'import selenium' 2>/dev/null || { notok "python3-selenium missing"; exit 1; }

CONF=$WORK/conf
call_sipconf "$CONF" $ADDR $SIPPORT 127.0.7.21 15791
sip_phone "$CONF" 801 pw801 127.0.7.23:15793
sip_phone "$CONF" 802 pw802 dynamic
cat >"$CONF/extensions.conf" <<'EOT'
[from_line]
exten => _X.,1,Dial(SIP/801,20)
 same => n,Hangup()
[from_phone]
exten => _X.,1,Hangup()
[public]
exten => _X.,1,Hangup()
EOT
printf '[web]\nlisten=%s:%s\nban_failures=3\n' $ADDR $PORT >"$CONF/mikaka.conf"
daemon_start "$CONF"
echo "$PW" | cli web passwd alice >/dev/null
sipp_register 802 pw802 127.0.7.22 15792 $ADDR:$SIPPORT

# ---- the API ----
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "api-status-401" test "$(code $U/api/status)" = 401
check "api-history-401" test "$(code $U/api/history)" = 401
h=$(curl -s -D - -o /dev/null $U/)
check "page-no-session-303" grep -q '^HTTP/1.1 303' <<<"$h"
check "page-no-session-location" grep -qi '^location: /login' <<<"$h"
check "page-303-csp" grep -qi '^content-security-policy:' <<<"$h"
check "login-page-public" test "$(code $U/login)" = 200
check "script-public" test "$(code $U/app.js)" = 200
curl -s -c "$WORK/jar" --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login >/dev/null
curl -s -b "$WORK/jar" $U/api/status >"$WORK/status.json"
check "api-status-json" jq -e . "$WORK/status.json" >/dev/null
check "api-status-phone" jq -e '.phones[] | select(.peer == "802" and .transport == "UDP" and (.expires | type) == "number")' "$WORK/status.json" >/dev/null
check "api-status-types" jq -e '(.line | type) == "array" and (.calls | type) == "array" and (.version | type) == "string"' "$WORK/status.json" >/dev/null
# A call record to read back: the carrier calls in, phone 801 answers, the carrier hangs up.
sipp_bg phone-answer call-phone-uas.xml 127.0.7.23 15793; phone=$BG
sleep 0.3
sipp_bg carrier-in call-carrier-in.xml 127.0.7.21 15791 $ADDR:$SIPPORT
wait_ok carrier-in "$BG"
wait_ok phone-answer "$phone"
sleep 0.5
curl -s -b "$WORK/jar" "$U/api/history?limit=10" >"$WORK/history.json"
check "api-history-array" jq -e 'type == "array" and length == 1' "$WORK/history.json" >/dev/null
check "api-history-record" jq -e '.[0] | .disposition == "ANSWERED" and (.src | type) == "string" and (.start_ms | type) == "number" and (.duration | type) == "number" and (.id | type) == "number"' "$WORK/history.json" >/dev/null
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

# ---- the browser ----
timeout 180 $PY "$E2E/webui.py" "$U" alice "$PW" 802 3 2>"$WORK/webui.err"
rc=$?
[ $rc = 0 ] || { notok "webui.py (exit $rc)"; tail -20 "$WORK/webui.err"; }

check "log-no-password" bash -c "! grep -qF 'browser-Pass' '$DAEMON_LOG'"
check "daemon-stops-clean" stop_daemon
finish
