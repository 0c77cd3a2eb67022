#!/usr/bin/env python3
"""webbad.py: bad input to the web console over raw sockets (tests/e2e/webbad.sh). Prints one
"ok NAME" / "not ok NAME" line per check and "# ..." lines with figures.

  webbad.py ADDR PORT TOKEN CSRF COOKIE PART

PART: smuggle, oversize, slowloris, traversal, types, unicode, flood N (N bad requests, no
checks: the memory measurement around it is the shell's). Everything is bounded: every socket
waits at most a few seconds and every loop has a count."""
import json
import socket
import sys
import threading
import time
import urllib.parse

ADDR, PORT, TOKEN, CSRF, COOKIE, PART = sys.argv[1:7]
PORT = int(PORT)
BEARER = "Authorization: Bearer %s\r\n" % TOKEN
FAILS = 0


def check(name, cond, detail=""):
    global FAILS
    if cond:
        print("ok %s" % name)
    else:
        FAILS += 1
        print("not ok %s%s" % (name, (" # " + detail) if detail else ""))


def raw(data, wait=2.0):
    """Sends data on a new connection; returns (everything read, closed by the server)."""
    s = socket.create_connection((ADDR, PORT), timeout=5)
    s.settimeout(wait)
    if isinstance(data, str):
        data = data.encode()
    try:
        s.sendall(data)
    except OSError:
        pass
    out, closed, t0 = b"", False, time.time()
    try:
        while time.time() - t0 < wait:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    except OSError:
        closed = True
    s.close()
    return out, closed


def statuses(out):
    return [int(l.split()[1]) for l in out.split(b"\r\n") if l.startswith(b"HTTP/1.") and len(l.split()) > 1]


def request(method, path, body=b"", ctype=None, auth="bearer", extra="", wait=3.0):
    """One request with Content-Length; returns (status or 0, body bytes)."""
    if isinstance(body, str):
        body = body.encode()
    h = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, ADDR)
    if auth == "bearer":
        h += BEARER
    elif auth == "cookie":
        h += "Cookie: mikaka_session=%s\r\nX-CSRF-Token: %s\r\n" % (COOKIE, CSRF)
    if ctype:
        h += "Content-Type: %s\r\n" % ctype
    if method == "POST" or body:
        h += "Content-Length: %d\r\n" % len(body)
    out, _ = raw((h + extra + "\r\n").encode() + body, wait)
    st = statuses(out)
    return (st[0] if st else 0), out.split(b"\r\n\r\n", 1)[-1] if st else b""


def error_of(body):
    try:
        return json.loads(body).get("error", "")
    except ValueError:
        return ""


def smuggle():
    inner = ("POST /api/blocklist HTTP/1.1\r\nHost: x\r\n" + BEARER +
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 17\r\n\r\nnumber=0311113333")
    # Content-Length and Transfer-Encoding both: a front end that believes one and mikaka the other
    # would disagree on where the second request starts
    for name, head in (("cl-te", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
                       ("te-cl", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")):
        out, closed = raw("POST /api/phonebook HTTP/1.1\r\nHost: x\r\n" + BEARER + head +
                          "\r\n0\r\n\r\n" + inner)
        check("smuggle-%s-400" % name, statuses(out) == [400], repr(out[:80]))
        check("smuggle-%s-closed" % name, closed)
    # a chunked body alone: its chunks must not be read as a request
    chunk = "%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    out, closed = raw("POST /api/phonebook HTTP/1.1\r\nHost: x\r\n" + BEARER +
                      "Transfer-Encoding: chunked\r\n\r\n" + chunk)
    check("smuggle-te-501", statuses(out) == [501], repr(out[:80]))
    check("smuggle-te-closed", closed)
    # two Content-Lengths that differ, and one that is not a number
    for name, cl in (("two-cl", "Content-Length: 0\r\nContent-Length: 17\r\n"),
                     ("two-cl-same", "Content-Length: 17\r\nContent-Length: 17\r\n"),
                     ("cl-negative", "Content-Length: -1\r\n"),
                     ("cl-plus", "Content-Length: +17\r\n"),
                     ("cl-hex", "Content-Length: 0x11\r\n")):
        out, closed = raw("POST /api/blocklist HTTP/1.1\r\nHost: x\r\n" + BEARER + cl +
                          "\r\nnumber=0311113333" + inner)
        check("smuggle-%s-400" % name, statuses(out) == [400], repr(out[:80]))
        check("smuggle-%s-closed" % name, closed)
    # none of the smuggled additions happened
    st, body = request("GET", "/api/blocklist")
    check("smuggle-nothing-added", st == 200 and b"0311113333" not in body, repr(body[:120]))
    # pipelining itself still works: two requests in one write, two answers in order
    out, _ = raw(("GET /api/session HTTP/1.1\r\nHost: x\r\n" + BEARER + "\r\n") * 2, wait=1.0)
    check("pipelined-answered", statuses(out)[:1] == [200], repr(statuses(out)))


def oversize():
    # one header line over the 4 KiB head limit; then many small headers (the same limit)
    for name, extra in (("long-line", "X-Big: " + "a" * 6000 + "\r\n"),
                        ("many-headers", "".join("X-H%d: %d\r\n" % (i, i) for i in range(600))),
                        ("long-uri", "")):
        path = "/api/session" if name != "long-uri" else "/" + "a" * 6000
        out, closed = raw("GET %s HTTP/1.1\r\nHost: x\r\n%s%s\r\n" % (path, BEARER, extra))
        st = statuses(out)
        # libwebsockets 4.1 closes such a connection without an answer (it has no 431)
        check("oversize-%s-refused" % name, closed and (st == [] or st[0] in (400, 414, 431)), repr(st))
    st, _ = request("GET", "/api/session")
    check("oversize-then-answered", st == 200, str(st))


def slowloris(n=40, secs=8.0):
    """n connections each send a request head one byte every 0.2 s; meanwhile normal requests on
    new connections must be answered at once, and the slow ones closed within the timeout."""
    head = ("GET /api/session HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a" * 4000).encode()
    socks, closed_at = [], {}
    for _ in range(n):
        s = socket.create_connection((ADDR, PORT), timeout=5)
        s.setblocking(False)
        socks.append(s)
    t0 = time.time()
    stop = threading.Event()

    def trickle():
        i = 0
        while not stop.is_set() and time.time() - t0 < secs and len(closed_at) < n:
            for k, s in enumerate(socks):
                if k in closed_at:
                    continue
                try:
                    s.send(head[i:i + 1])
                    if s.recv(100) == b"":
                        closed_at[k] = time.time() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[k] = time.time() - t0
            i += 1
            time.sleep(0.2)

    th = threading.Thread(target=trickle)
    th.start()
    time.sleep(0.5)
    worst, answered = 0.0, 0
    for _ in range(10):
        t = time.time()
        st, _ = request("GET", "/api/session", wait=5.0)
        worst = max(worst, time.time() - t)
        answered += st == 200
        time.sleep(0.2)
    th.join()
    stop.set()
    for s in socks:
        s.close()
    print("# %d slow connections: normal requests answered %d/10, worst %.0f ms; slow ones closed: %d, "
          "the last after %.1f s" % (n, answered, worst * 1000, len(closed_at),
                                     max(closed_at.values()) if closed_at else -1))
    check("slowloris-others-answered", answered == 10)
    check("slowloris-others-fast", worst < 0.5, "%.3f s" % worst)
    check("slowloris-slow-closed", len(closed_at) == n and max(closed_at.values()) < 6.0,
          "%d closed" % len(closed_at))


def traversal():
    paths = ["/app.js/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/..%2f..%2f..%2fetc%2fpasswd", "/login/..;/..;/etc/passwd", "//etc/passwd",
             "/app.js%00.html", "/app.css/..%5c..%5c..%5cetc%5cpasswd", "/.%2e/.%2e/etc/passwd",
             "/api/history.csv/../../../../etc/passwd", "/api/voicemail/../../../../etc/passwd",
             "/api/voicemail/1.wav/../../../../etc/passwd", "/api/voicemail/..%2f..%2f..%2fetc%2fpasswd.wav",
             "/api/voicemail/%2e%2e%2f%2e%2e%2fmikaka.db.wav", "/api/voicemail/-1.wav",
             "/api/voicemail/1e9999.wav", "/%252e%252e/%252e%252e/etc/passwd", "/" + "../" * 60 + "etc/passwd"]
    bad = []
    for p in paths:
        for auth in ("bearer", None):
            st, body = request("GET", p, auth=auth)
            # never a file: an unknown path (404), refused (400, 401), or closed by libwebsockets
            if st not in (0, 400, 401, 403, 404) or b"root:" in body or b"SQLite" in body:
                bad.append("%s %s -> %d" % (auth, p, st))
    check("traversal-refused", not bad, "; ".join(bad))


def types():
    jh = "application/json"
    apis = {
        "/api/login": {"user": 1, "password": ["x"]},
        "/api/hangup": {"channel": 7},
        "/api/blocklist": {"number": 9012345678, "note": {"a": 1}},
        "/api/blocklist/del": {"number": [1]},
        "/api/phonebook": {"number": None, "name": 5},
        "/api/phonebook/del": {"number": True},
        "/api/voicemail/heard": {"id": [1]},
        "/api/voicemail/delete": {"id": {"n": 1}},
    }
    for path, obj in apis.items():
        auth = None if path == "/api/login" else "bearer"
        for name, body, ctype in (("json", json.dumps(obj), jh), ("json-array", "[1,2,3]", jh),
                                  ("json-broken", '{"number":', jh), ("empty", "", None),
                                  ("form-array", "number[]=1&channel[]=x&user[]=a&password[]=b&name[]=c",
                                   "application/x-www-form-urlencoded"),
                                  ("binary", "\x00\xff\xfe" * 50, "application/octet-stream")):
            st, resp = request("POST", path, body, ctype, auth=auth)
            check("types-%s-%s-400" % (path[5:].replace("/", "-"), name),
                  st == 400 and error_of(resp) != "", "%d %r" % (st, resp[:80]))
    # a value of the right field but the wrong kind
    for path, form in (("/api/blocklist", "number=abc"), ("/api/blocklist", "number=%FF%FE"),
                       ("/api/blocklist", "number=0311112222%00"), ("/api/blocklist/del", "number=1e5"),
                       ("/api/phonebook", "number=x&name=y"),
                       ("/api/phonebook", "number=0311112222&name=" + "a" * 200),
                       ("/api/phonebook", "number=0311112222&name=%FF%FE%FD"),
                       ("/api/phonebook/del", "number=%E3%81%82"), ("/api/hangup", "channel="),
                       ("/api/voicemail/heard", "id=abc"), ("/api/voicemail/heard", "id=-1"),
                       ("/api/voicemail/delete", "id=1e5"), ("/api/voicemail/delete", "id=..%2F1")):
        st, resp = request("POST", path, form, "application/x-www-form-urlencoded")
        check("types-value-%s-%s" % (path[5:].replace("/", "-"), form[:24]),
              st in (400, 404) and error_of(resp) != "", "%d %r" % (st, resp[:80]))
    # no body expected: a JSON one changes nothing and breaks nothing; PUT is refused everywhere
    st, _ = request("POST", "/api/config/reload", '{"reload": [1]}', jh)
    check("types-reload-json-ignored", st == 200, str(st))
    for path in ("/api/login", "/api/status", "/api/calls", "/api/blocklist", "/api/phonebook",
                 "/api/history", "/api/config/reload", "/metrics", "/"):
        st, _ = request("PUT", path, '{"a":1}', jh)
        check("types-put-%s-405" % path, st == 405, str(st))


def unicode_names():
    form = "application/x-www-form-urlencoded"
    names = {"0312340001": "山田 花子", "0312340002": "ｶﾀｶﾅ and 漢字 🎌", "0312340003": "\"<b>&amp;'"}
    for num, name in names.items():
        st, _ = request("POST", "/api/phonebook", "number=%s&name=%s" % (num, urllib.parse.quote(name)), form)
        check("unicode-phonebook-add-%s" % num, st == 200, str(st))
    st, body = request("GET", "/api/phonebook")
    got = {e["number"]: e["name"] for e in json.loads(body)["entries"]} if st == 200 else {}
    for num, name in names.items():
        check("unicode-phonebook-roundtrip-%s" % num, got.get(num) == name, repr(got.get(num)))
    # a number in full-width digits is a number; a note in Japanese comes back as it went
    note = "迷惑電話 (勧誘)"
    st, _ = request("POST", "/api/blocklist", "number=%s&note=%s" % (urllib.parse.quote("０９０－１１１１－２２２２"),
                                                                   urllib.parse.quote(note)), form)
    check("unicode-blocklist-fullwidth-number", st == 200, str(st))
    st, body = request("GET", "/api/blocklist")
    ents = json.loads(body)["entries"] if st == 200 else []
    check("unicode-blocklist-note-roundtrip",
          any(e["number"] == "09011112222" and e["note"] == note for e in ents), repr(ents))
    # invalid UTF-8 is refused for a name rather than stored
    st, resp = request("POST", "/api/phonebook", "number=0312340004&name=%C3%28", form)
    check("unicode-invalid-utf8-400", st == 400 and error_of(resp) != "", "%d %r" % (st, resp[:60]))


def flood(n):
    """n bad requests of every kind above, with no checks: the shell measures memory around it."""
    kinds = [
        lambda: raw("POST /api/blocklist HTTP/1.1\r\nHost: x\r\n" + BEARER +
                    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0.5),
        lambda: raw("GET /api/session HTTP/1.1\r\nX-Big: " + "b" * 5000 + "\r\n\r\n", 0.5),
        lambda: request("POST", "/api/phonebook", '{"number":1}', "application/json", wait=0.5),
        lambda: request("GET", "/%2e%2e/%2e%2e/etc/passwd", wait=0.5),
        lambda: request("GET", "/api/status", auth="cookie-wrong", extra="Cookie: mikaka_session=%s\r\n" % ("0" * 64),
                        wait=0.5),
        lambda: request("POST", "/api/login", "user=alice&password=wrong", "application/x-www-form-urlencoded",
                        auth=None, wait=0.5),
        lambda: request("POST", "/api/blocklist", "number=" + "9" * 5000, "application/x-www-form-urlencoded",
                        wait=0.5),
        lambda: raw(b"\x16\x03\x01\x02\x00\x01" + b"\x00" * 200, 0.3),
    ]
    t0, seen = time.time(), {}
    for i in range(n):
        if time.time() - t0 > 120:
            break
        r = kinds[i % len(kinds)]()
        st = r[0] if isinstance(r[0], int) else (statuses(r[0]) or [0])[0]
        seen[st] = seen.get(st, 0) + 1
    print("# %d bad requests in %.1f s; answers %s (0: closed unanswered)" %
          (n, time.time() - t0, ", ".join("%d x%d" % kv for kv in sorted(seen.items()))))


if PART == "smuggle":
    smuggle()
elif PART == "oversize":
    oversize()
elif PART == "slowloris":
    slowloris()
elif PART == "traversal":
    traversal()
elif PART == "types":
    types()
elif PART == "unicode":
    unicode_names()
elif PART == "flood":
    flood(int(sys.argv[7]))
sys.exit(1 if FAILS else 0)
