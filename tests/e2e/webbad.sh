#!/usr/bin/env bash
# webbad.sh: bad input to the web console (issue 16, Bad input), from raw sockets
# (tests/e2e/webbad.py) and curl: request smuggling (Content-Length with Transfer-Encoding, a
# chunked body alone, two Content-Lengths, lengths that are not numbers) refused with 400/501 and
# the connection closed, nothing smuggled applied; oversize header lines, too many headers and an
# oversize URI refused; 40 slowloris clients trickling their heads are closed within the timeout
# while normal requests are answered at once; path traversal in page, file and voicemail URLs;
# JSON and other wrong types to every POST API (400 with a reason), PUT refused; unicode names
# (phonebook and block list notes in Japanese) round-trip, invalid UTF-8 refused; the daemon's
# memory after 1,000 more bad requests stays within a bound; nothing logged holds the password,
# the session cookie, the CSRF token or the bearer token. (web.sh covers 413, idle connections and
# slow bodies.) Loopback 127.0.7.40, HTTP port 18800.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.40
SIPPORT=15800
PORT=18800
U=http://$ADDR:$PORT
PW='b4d-input Passw0rd'

for t in curl jq python3; do command -v $t >/dev/null || { notok "$t missing (scripts/deps.sh check)"; exit 1; }; done

CONF=$WORK/conf
write_sipconf "$CONF" "$ADDR" "$SIPPORT"
echo "[default]" >"$CONF/extensions.conf"
# timeout 3: the slowloris clients are closed after 3 s; screening on: the block list and
# phonebook API answer
web_conf "$CONF" $ADDR:$PORT timeout=3 ban_failures=5
printf '[screening]\ninteraction = allow\n' >>"$CONF/mikaka.conf"
printf '[screening-voicemail]\nexten => _X.,1,Hangup()\n' >>"$CONF/extensions.conf"
# A small ASan quarantine for this daemon: freed memory is otherwise kept (256 MiB) and the RSS
# would measure the sanitizer, not the console.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=1"
daemon_start "$CONF"
echo "$PW" | cli web passwd alice >/dev/null
TOKEN=$(cli web token)
sleep 0.3
curl -s -c "$WORK/jar" --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login >"$WORK/login.json"
CSRF=$(jq -r .csrf "$WORK/login.json")
SID=$(awk '$6 == "mikaka_session" {print $7}' "$WORK/jar")
check "logged-in" test "$(code -b "$WORK/jar" $U/api/session)" = 200

part() {
	local out
	out=$(timeout 180 python3 "$E2E/webbad.py" $ADDR $PORT "$TOKEN" "$CSRF" "$SID" "$@" 2>&1)
	echo "$out"
	FAILS=$((FAILS + $(grep -c '^not ok ' <<<"$out")))
	grep -q '^\(ok\|#\) ' <<<"$out" || notok "webbad.py $1 printed nothing"
}

part smuggle
part oversize
part slowloris
part traversal
part types
part unicode
# the CLI sees what the API stored, in the same characters
check "unicode-cli-phonebook" bash -c "'$MIKAKA' -s '$CTL' phonebook show | grep -q '山田 花子'"
check "unicode-cli-blocklist" bash -c "'$MIKAKA' -s '$CTL' block show | grep -q '迷惑電話 (勧誘)'"
check "daemon-alive" daemon_alive

# ---- bounded memory: 200 bad requests to warm up, then 1,000 more ----
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
part flood 200
rss0=$(rss)
part flood 1000
rss1=$(rss)
echo "# RSS $rss0 KiB after 200 bad requests, $rss1 KiB after 1,000 more"
check "flood-rss-bounded" test $((rss1 - rss0)) -lt 2048
check "flood-still-answers" test "$(code -H "Authorization: Bearer $TOKEN" $U/api/session)" = 200
check "flood-session-kept" test "$(code -b "$WORK/jar" $U/api/session)" = 200

# ---- nothing secret in the log ----
check "log-no-password" bash -c "! grep -qF '$PW' '$DAEMON_LOG'"
check "log-no-password-part" bash -c "! grep -qF 'Passw0rd' '$DAEMON_LOG'"
check "log-no-wrong-password" bash -c "! grep -qF 'password=wrong' '$DAEMON_LOG'"
check "log-no-session-id" bash -c "! grep -qF '$SID' '$DAEMON_LOG'"
check "log-no-csrf" bash -c "! grep -qF '$CSRF' '$DAEMON_LOG'"
check "log-no-token" bash -c "! grep -qF '$TOKEN' '$DAEMON_LOG'"
check "log-no-cookie-header" bash -c "! grep -qi 'mikaka_session=' '$DAEMON_LOG'"
# libwebsockets logs a line per oversize head (over 150 of them above): at most 10 a minute
n=$(grep -c "libwebsockets:" "$DAEMON_LOG")
echo "# daemon log: $(wc -l <"$DAEMON_LOG") lines, $n from libwebsockets"
check "log-libwebsockets-bounded" test "$n" -le 21
check "daemon-stops-clean" stop_daemon
finish
