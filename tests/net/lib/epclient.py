#!/usr/bin/env python3
"""A TLS client for the endpoint-rule tests (tests/net/intercept.sh).

  epclient.py ADDR PORT SNI CAFILE REQUEST...

Opens ONE TLS connection to ADDR:PORT with SNI, trusting only CAFILE, and
sends each REQUEST in turn on it (keep-alive), reading each response in full
before the next. A REQUEST is the raw request with \\r \\n \\t and \\xNN
escapes, or "@FILE" for the raw bytes of a file. Prints per response one line:

  resp STATUS LEN BODY-FIRST-LINE

then "closed" if the server closed the connection (or "open"), and on
failure "error WHAT". Exit 0 unless the TLS handshake failed (exit 3).
"""

import socket
import ssl
import sys


def unescape(s):
    if s.startswith("@"):
        with open(s[1:], "rb") as f:
            return f.read()
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def read_response(sock, buf):
    """One response: (status, body, rest) or None on EOF before a head."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if status < 200:
        return read_response(sock, rest)
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(rest) < n:
            d = sock.recv(65536)
            if not d:
                break
            rest += d
        return (status, rest[:n]), rest[n:]
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += sock.recv(65536)
            line, _, rest = rest.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += sock.recv(65536)
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                return (status, body), rest
    body = rest
    while True:
        d = sock.recv(65536)
        if not d:
            return (status, body), b""
        body += d


def main():
    addr, port, sni, cafile = sys.argv[1:5]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection((addr, int(port)), timeout=10)
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
    except (ssl.SSLError, OSError) as e:
        print("error handshake: %s" % e)
        sys.exit(3)
    buf = b""
    for r in sys.argv[5:]:
        try:
            s.sendall(unescape(r))
            resp, buf = read_response(s, buf)
        except (OSError, ssl.SSLError) as e:
            print("error %s" % e)
            return
        if resp is None:
            print("closed")
            return
        status, body = resp
        first = body.split(b"\n")[0].decode("latin-1", "replace")
        print("resp %d %d %s" % (status, len(body), first))
        sys.stdout.flush()
    try:
        s.settimeout(0.5)
        d = s.recv(1)
        print("closed" if not d else "open")
    except socket.timeout:
        print("open")
    except (OSError, ssl.SSLError):
        print("closed")


if __name__ == "__main__":
    main()
