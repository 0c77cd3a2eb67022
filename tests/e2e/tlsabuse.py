#!/usr/bin/env python3
# tlsabuse.py: the TLS clients of tlsabuse.sh (Python's ssl module: it binds a chosen source
# address, which openssl s_client cannot). Subcommands, each bounded in time:
#   reg SRC ADDR PORT USER PW: REGISTER over TLS with MD5 digest; prints the final status code.
#   bighdr SRC ADDR PORT: an OPTIONS with a 64 KiB header line; prints "answer CODE" for each
#     response the server sent, then "closed SECS" when it closed the connection ("open" if not
#     within 10 s).
#   flood SRC ADDR PORT N WINDOW HOLD: N TCP connection attempts, at most WINDOW held open (the
#     oldest closed when full); prints "attempts A refused R alive K secs S", K = connections of
#     the last WINDOW still open 0.5 s after the last attempt, then holds them HOLD seconds.
import hashlib, select, socket, ssl, sys, time


def tls(src, addr, port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection((addr, port), timeout=5, source_address=(src, 0))
    return ctx.wrap_socket(s)


def read_msg(c, deadline):
    buf = b""
    while b"\r\n\r\n" not in buf:
        c.settimeout(max(0.1, deadline - time.time()))
        d = c.recv(65536)
        if not d:
            return None
        buf += d
    return buf.decode("latin-1")


def register(src, addr, port, user, pw):
    c = tls(src, addr, port)
    uri = "sip:%s:%s;transport=tls" % (addr, port)

    def req(seq, auth=""):
        return ("REGISTER %s SIP/2.0\r\nVia: SIP/2.0/TLS %s:5061;branch=z9hG4bK-r%d;rport\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=t%d\r\nTo: <sip:%s@%s>\r\n"
                "Call-ID: abuse-%s@%s\r\nCSeq: %d REGISTER\r\n"
                "Contact: <sip:%s@%s:5061;transport=tls>\r\n%sExpires: 600\r\n"
                "Content-Length: 0\r\n\r\n" % (uri, src, seq, user, addr, seq, user, addr,
                                               user, src, seq, user, src, auth)).encode()
    try:
        c.sendall(req(1))
        m = read_msg(c, time.time() + 5)
        if not m or not m.startswith("SIP/2.0 401"):
            print(m.split("\r\n")[0] if m else "closed")
            return
        h = [l for l in m.split("\r\n") if l.lower().startswith("www-authenticate:")][0]

        def p(k):
            return h.split(k + '="')[1].split('"')[0]
        realm, nonce = p("realm"), p("nonce")

        def md5(s):
            return hashlib.md5(s.encode()).hexdigest()
        resp = md5("%s:%s:00000001:abc:auth:%s" % (md5("%s:%s:%s" % (user, realm, pw)), nonce,
                                                   md5("REGISTER:" + uri)))
        auth = ('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"\r\n'
                % (user, realm, nonce, uri, resp))
        c.sendall(req(2, auth))
        m = read_msg(c, time.time() + 5)
        print(m.split(" ")[1] if m else "closed")
    except (OSError, ssl.SSLError) as e:
        print("error", e)
    finally:
        c.close()


def bighdr(src, addr, port):
    c = tls(src, addr, port)
    msg = ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TLS %s:5061;branch=z9hG4bK-big\r\n"
           "X-Big: %s\r\nFrom: <sip:a@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: big\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
           % (addr, src, "a" * 65536, src, addr)).encode()
    t0 = time.time()
    try:
        c.sendall(msg)
    except (OSError, ssl.SSLError):
        pass
    deadline = t0 + 10
    buf = b""
    while time.time() < deadline:
        try:
            c.settimeout(max(0.1, deadline - time.time()))
            d = c.recv(65536)
        except socket.timeout:
            continue
        except (OSError, ssl.SSLError):
            d = b""
        if not d:
            for l in buf.split(b"\r\n"):
                if l.startswith(b"SIP/2.0 "):
                    print("answer", l.split()[1].decode())
            print("closed %.1f" % (time.time() - t0))
            return
        buf += d
    print("open")


def flood(src, addr, port, n, window, hold):
    t0 = time.time()
    held, refused, i = [], 0, 0
    for i in range(1, n + 1):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(2)
        try:
            s.connect((addr, port))
        except OSError:
            refused += 1
            s.close()
            continue
        held.append(s)
        if len(held) > window:
            held.pop(0).close()
        if time.time() - t0 > 90:
            break
    time.sleep(0.5)
    alive = 0
    for s in held:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            alive += 1
            continue
        try:
            if s.recv(1):
                alive += 1
        except OSError:
            pass
    print("attempts %d refused %d alive %d secs %.1f" % (i, refused, alive, time.time() - t0),
          flush=True)
    time.sleep(hold)
    for s in held:
        s.close()


cmd = sys.argv[1]
if cmd == "reg":
    register(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
elif cmd == "bighdr":
    bighdr(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif cmd == "flood":
    flood(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
          float(sys.argv[7]))
else:
    sys.exit("usage: tlsabuse.py reg|bighdr|flood ...")
