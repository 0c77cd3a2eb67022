#!/usr/bin/env bash
# web.sh: the web console's HTTP server (docs/WEB.md): off without mikaka.conf [web]; users set
# with `mikaka web passwd` (a yescrypt hash in the store); login, the session cookie's flags,
# CSRF on a change, logout, the bearer token; Content-Security-Policy on every answer; failed
# logins banned; SIP answered while a password is checked; bad input (oversize body and headers,
# slowloris, path traversal, other methods, many idle connections) with bounded memory; nothing
# logged that holds a password, a session id or a CSRF token.
# Loopback 127.0.7.1 only; HTTP on port 18781.
. "$(dirname "$0")/lib.sh"

ADDR=127.0.7.1
SIPPORT=15781
PORT=18781
U=http://$ADDR:$PORT
PW='Tr0ub4dor&3 sekret'

command -v curl >/dev/null || { notok "curl missing (scripts/deps.sh check)"; exit 1; }

CONF=$WORK/conf
write_sipconf "$CONF" "$ADDR" "$SIPPORT"
echo "[default]" >"$CONF/extensions.conf"

# ---- without [web]: no console ----
daemon_start "$CONF"
check "no-web-without-section" bash -c "! curl -s -o /dev/null --max-time 2 $U/"
stop_daemon || notok "stop-1"

# ---- -t: a LAN address is a warning, a bad one an error ----
printf '[web]\nlisten=192.168.77.1:8088\n' >"$CONF/mikaka.conf"
out=$("$MIKAKAD" -C "$CONF" -t 2>&1)
check "t-lan-warning" grep -q "not loopback" <<<"$out"
printf '[web]\nlisten=nowhere\n' >"$CONF/mikaka.conf"
check "t-bad-listen-refused" bash -c "! '$MIKAKAD' -C '$CONF' -t >/dev/null 2>&1"

printf '[web]\nlisten=%s:%s\ntimeout=3\nban_failures=4\nban_time=60\n' "$ADDR" "$PORT" \
	>"$CONF/mikaka.conf"
daemon_start "$CONF"

# ---- users ----
check "passwd" bash -c "echo '$PW' | '$MIKAKA' -s '$CTL' web passwd alice | grep -q 'Password set'"
echo 'other-password' | cli web passwd bob >/dev/null
check "users-listed" bash -c "'$MIKAKA' -s '$CTL' web users | tr '\n' ' ' | grep -qx 'alice bob '"
cli web deluser bob >/dev/null
check "deluser" bash -c "! '$MIKAKA' -s '$CTL' web users | grep -q bob"
check "plain-hash-refused" bash -c "! '$MIKAKA' -s '$CTL' web passwd eve plaintextpassword1234567 >/dev/null 2>&1"
sleep 0.3 # the store commits at the end of the turn; sqlite3 reads the WAL
stored=$(sqlite3 "$WORK/mikaka.db" "select value from kv where key='web.users'" 2>/dev/null)
check "stored-yescrypt" grep -q '^alice \$y\$' <<<"$stored"
check "stored-no-password" bash -c "! grep -qF 'Tr0ub4dor' <<<'$stored'"

# ---- no session: 401 on everything, with the security headers ----
hdrs() { curl -s -D - -o /dev/null --max-time 5 "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "401-session" test "$(code $U/api/session)" = 401
check "303-root" test "$(code $U/)" = 303
check "401-unknown" test "$(code $U/api/calls)" = 401
check "401-logout-post" test "$(code -X POST $U/api/logout)" = 401
h=$(hdrs $U/api/session)
check "csp-on-401" grep -qi "^content-security-policy: default-src 'self'" <<<"$h"
check "nosniff-on-401" grep -qi '^x-content-type-options: nosniff' <<<"$h"

# ---- login ----
check "wrong-password-403" test "$(code -d 'user=alice&password=nope' $U/api/login)" = 403
check "unknown-user-403" test "$(code -d 'user=mallory&password=nope' $U/api/login)" = 403
check "login-bad-form-400" test "$(code -d 'name=alice' $U/api/login)" = 400
h=$(curl -s -D - -o "$WORK/login.json" -c "$WORK/jar" --data-urlencode user=alice \
	--data-urlencode "password=$PW" $U/api/login)
check "login-200" grep -q '^HTTP/1.1 200' <<<"$h"
check "cookie-httponly" grep -qi '^set-cookie: mikaka_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict' <<<"$h"
check "csp-on-200" grep -qi '^content-security-policy:' <<<"$h"
CSRF=$(jq -r .csrf "$WORK/login.json")
SID=$(awk '$6 == "mikaka_session" {print $7}' "$WORK/jar")
check "csrf-token" grep -qx '[0-9a-f]\{64\}' <<<"$CSRF"
check "session-200" bash -c "curl -s -b '$WORK/jar' $U/api/session | jq -e '.user == \"alice\"' >/dev/null"
check "session-404-unknown" test "$(code -b "$WORK/jar" $U/api/nothing)" = 404
h=$(hdrs -b "$WORK/jar" $U/api/nothing)
check "csp-on-404" grep -qi '^content-security-policy:' <<<"$h"
check "wrong-cookie-401" test "$(code -b "mikaka_session=$(printf '%064d' 0)" $U/api/session)" = 401

# ---- CSRF ----
check "change-without-csrf-403" test "$(code -b "$WORK/jar" -X POST $U/api/logout)" = 403
check "change-wrong-csrf-403" test "$(code -b "$WORK/jar" -X POST -H "X-CSRF-Token: $(printf '%064d' 1)" $U/api/logout)" = 403
check "still-logged-in" test "$(code -b "$WORK/jar" $U/api/session)" = 200
check "logout-200" test "$(code -b "$WORK/jar" -X POST -H "X-CSRF-Token: $CSRF" $U/api/logout)" = 200
check "after-logout-401" test "$(code -b "$WORK/jar" $U/api/session)" = 401

# ---- bearer token ----
TOKEN=$(cli web token)
check "token-made" grep -qx '[0-9a-f]\{64\}' <<<"$TOKEN"
check "bearer-200" test "$(code -H "Authorization: Bearer $TOKEN" $U/api/session)" = 200
check "bearer-wrong-401" test "$(code -H "Authorization: Bearer x$TOKEN" $U/api/session)" = 401
check "bearer-change-no-csrf" test "$(code -H "Authorization: Bearer $TOKEN" -X POST $U/api/logout)" = 200
sleep 0.3
check "token-not-stored" bash -c "! sqlite3 '$WORK/mikaka.db' 'select value from kv' | grep -qF '$TOKEN'"
cli web token revoke >/dev/null
check "bearer-revoked-401" test "$(code -H "Authorization: Bearer $TOKEN" $U/api/session)" = 401

# ---- methods, paths, bodies ----
check "put-405" test "$(code -X PUT $U/api/session)" = 405
check "delete-405" test "$(code -X DELETE $U/api/session)" = 405
TOKEN=$(cli web token)
check "traversal-404" test "$(code --path-as-is -H "Authorization: Bearer $TOKEN" "$U/api/../../../etc/passwd")" = 404
check "traversal-encoded-404" test "$(code --path-as-is -H "Authorization: Bearer $TOKEN" "$U/%2e%2e/%2e%2e/etc/passwd")" = 404
big=$(head -c 6000 /dev/zero | tr '\0' a)
check "body-413" test "$(code -d "user=a&password=$big" $U/api/login)" = 413
# a header over 4 KiB: the connection is closed unanswered (libwebsockets 4.1); the daemon goes on
check "oversize-header-closed" test "$(code -H "X-Big: $big" $U/api/session)" = 000
check "after-oversize-header" test "$(code $U/api/session)" = 401

# ---- slowloris: a client sending one byte a second is closed after timeout (3 s) ----
slow=$(timeout 30 python3 - "$ADDR" "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
t0 = time.time()
for b in b"GET /api/session HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
    try:
        s.send(bytes([b]))
        if s.recv(100) == b"":
            break
    except socket.timeout:
        pass
    except OSError:
        break
print(int(time.time() - t0))
EOF
)
check "slowloris-closed" test "${slow:-99}" -le 6
# the same with a body: headers at once, then one byte of the body a second
slow=$(timeout 30 python3 - "$ADDR" "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
t0 = time.time()
s.send(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n")
for i in range(25):
    try:
        s.send(b"a")
        if s.recv(100) == b"":
            break
    except socket.timeout:
        pass
    except OSError:
        break
print(int(time.time() - t0))
EOF
)
check "slow-body-closed" test "${slow:-99}" -le 6

# ---- many idle connections: bounded memory, still answering ----
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
rss0=$(rss)
timeout 20 python3 - "$ADDR" "$PORT" <<'EOF' &
import socket, sys, time
socks = []
for i in range(300):
    try:
        socks.append(socket.create_connection((sys.argv[1], int(sys.argv[2]))))
    except OSError:
        break
time.sleep(2)
EOF
idle=$!
sleep 1
check "idle-conns-answered" test "$(code $U/api/session)" = 401
rss1=$(rss)
wait $idle
check "idle-conns-rss" test $((rss1 - rss0)) -lt 20000
echo "# RSS before $rss0 KiB, with 300 idle connections $rss1 KiB"

# ---- SIP is answered while passwords are being checked (the check is off the loop) ----
res=$(timeout 30 python3 - "$ADDR" "$PORT" "$SIPPORT" <<'EOF'
import socket, sys, threading, time, urllib.request
addr, port, sipport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def login():
    try:
        urllib.request.urlopen("http://%s:%d/api/login" % (addr, port), data=b"user=alice&password=wrong-" + str(time.time()).encode(), timeout=5)
    except Exception:
        pass
worst = 0.0
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.7.2", 0))
u.settimeout(2)
for i in range(10):
    t = threading.Thread(target=login); t.start()
    time.sleep(0.005)
    msg = ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.7.2:%d;branch=z9hG4bK-web%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:t@127.0.7.2>;tag=%d\r\nTo: <sip:%s>\r\nCall-ID: web%d@x\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (addr, sipport, u.getsockname()[1], i, i, addr, i)
    t0 = time.time()
    u.sendto(msg.encode(), (addr, sipport))
    try:
        u.recv(4096)
        worst = max(worst, time.time() - t0)
    except socket.timeout:
        worst = 99
    t.join()
print("%d" % (worst * 1000))
EOF
)
echo "# worst OPTIONS round trip during logins: ${res:-?} ms"
check "sip-not-blocked-by-login" test "${res:-99999}" -lt 100

# ---- the ban: the failures above were from 127.0.0.1 (curl's source); 4 ban ----
cli web deluser alice >/dev/null
echo "$PW" | cli web passwd alice >/dev/null
for i in 1 2 3 4; do code --interface 127.0.7.3 -d 'user=alice&password=bad' $U/api/login >/dev/null; done
check "banned-429" test "$(code --interface 127.0.7.3 --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login)" = 429
check "other-address-not-banned" test "$(code --interface 127.0.7.4 --data-urlencode user=alice --data-urlencode "password=$PW" $U/api/login)" = 200
check "ban-logged" grep -q '127.0.7.3 banned' "$DAEMON_LOG"

# ---- nothing secret in the log ----
check "log-no-password" bash -c "! grep -qF 'Tr0ub4dor' '$DAEMON_LOG'"
check "log-no-session-id" bash -c "! grep -qF '$SID' '$DAEMON_LOG'"
check "log-no-csrf" bash -c "! grep -qF '$CSRF' '$DAEMON_LOG'"
check "log-no-token" bash -c "! grep -qF '$TOKEN' '$DAEMON_LOG'"

check "daemon-stops-clean" stop_daemon
finish
