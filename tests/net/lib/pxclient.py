#!/usr/bin/env python3
"""pxclient - clients with the odd behaviours the proxy tests need.

Each mode prints one line: a first word (ok, alert, reset, closed, timeout,
error, http) and details. Run inside a sandbox namespace.

  tls ADDR PORT SNI [--chunk N] [--record N] [--cafile F] [--path P]
      TLS handshake driven by hand: the ClientHello is re-framed into TLS
      records of N bytes (--record) and written N bytes per segment with
      TCP_NODELAY and a pause (--chunk); then GET P, print the status line.
  raw ADDR PORT HEX [--wait S]
      send the bytes, print how the peer answered (hex of the first bytes).
  banner ADDR PORT
      connect, send nothing, print the first line the server sends and when.
  halfclose ADDR PORT TEXT
      send TEXT, shut the write side, read to EOF, print what came back.
  hold ADDR PORT N SECONDS
      open N connections, keep them SECONDS, print how many stayed open.
  bulk ADDR PORT BYTES
      send BYTES to a sink and print the time it took.
"""
import socket
import ssl
import struct
import sys
import time


def connect(addr, port, timeout=5.0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((addr, port))
    return s


def outcome(exc):
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    return "error %s" % exc


def reframe(data, size):
    """TLS records of `size` payload bytes carrying the same handshake."""
    out = b""
    i = 0
    while i + 5 <= len(data):
        ctype, ver, ln = struct.unpack("!BHH", data[i:i + 5])
        body = data[i + 5:i + 5 + ln]
        i += 5 + ln
        if ctype != 22 or size <= 0:
            out += struct.pack("!BHH", ctype, ver, len(body)) + body
            continue
        for j in range(0, len(body), size):
            part = body[j:j + size]
            out += struct.pack("!BHH", ctype, ver, len(part)) + part
    return out + data[i:]


def send_chunked(s, data, chunk):
    if chunk <= 0:
        s.sendall(data)
        return
    for i in range(0, len(data), chunk):
        s.sendall(data[i:i + chunk])
        time.sleep(0.002)


def mode_tls(args):
    addr, port, sni = args[0], int(args[1]), args[2]
    opts = dict(zip(args[3::2], args[4::2]))
    chunk = int(opts.get("--chunk", 0))
    record = int(opts.get("--record", 0))
    path = opts.get("--path", "/")
    ctx = ssl.create_default_context(cafile=opts.get("--cafile"))
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        s = connect(addr, port)
    except OSError as e:
        print(outcome(e))
        return
    first = True
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            data = out.read()
            if data:
                if first:
                    data = reframe(data, record)
                    send_chunked(s, data, chunk)
                    first = False
                else:
                    s.sendall(data)
            got = s.recv(65536)
            if not got:
                print("closed before the handshake ended")
                return
            inc.write(got)
        s.sendall(out.read())
        tls.write(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, sni)).encode())
        s.sendall(out.read())
        resp = b""
        while b"\r\n" not in resp:
            got = s.recv(65536)
            if not got:
                break
            inc.write(got)
            try:
                resp += tls.read(65536)
            except ssl.SSLWantReadError:
                pass
        print("ok %s" % resp.split(b"\r\n")[0].decode(errors="replace"))
    except ssl.SSLError as e:
        if "ACCESS_DENIED" in str(e).upper() or "ACCESS DENIED" in str(e).upper():
            print("alert access_denied")
        else:
            print("error tls %s" % e)
    except OSError as e:
        print(outcome(e))


def read_all(s, limit=65536):
    got = b""
    try:
        while len(got) < limit:
            b = s.recv(65536)
            if not b:
                return got, "closed"
            got += b
    except OSError as e:
        return got, outcome(e)
    return got, "open"


def mode_raw(args):
    addr, port, data = args[0], int(args[1]), bytes.fromhex(args[2])
    opts = dict(zip(args[3::2], args[4::2]))
    try:
        s = connect(addr, port, float(opts.get("--wait", 5)))
        s.sendall(data)
    except OSError as e:
        print(outcome(e))
        return
    got, how = read_all(s)
    print("%s %s" % (how, got[:64].hex()))


def mode_banner(args):
    t0 = time.monotonic()
    try:
        s = connect(args[0], int(args[1]))
        line = s.recv(256)
    except OSError as e:
        print(outcome(e))
        return
    ms = int((time.monotonic() - t0) * 1000)
    if not line:
        print("closed")
    else:
        print("ok %s ms=%d" % (line.split(b"\r\n")[0].decode(errors="replace"), ms))


def mode_halfclose(args):
    try:
        s = connect(args[0], int(args[1]))
        s.sendall(args[2].encode())
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        print(outcome(e))
        return
    got, how = read_all(s)
    print("%s %s" % (how, got.decode(errors="replace").strip()))


def mode_hold(args):
    addr, port, n, secs = args[0], int(args[1]), int(args[2]), float(args[3])
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(addr, port))
        except OSError:
            pass
    time.sleep(secs)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            b = s.recv(1)
            if b:
                alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    print("ok %d" % alive)


def mode_bulk(args):
    addr, port, total = args[0], int(args[1]), int(args[2])
    buf = b"x" * 65536
    t0 = time.monotonic()
    try:
        s = connect(addr, port, 30)
        left = total
        while left > 0:
            left -= s.send(buf[:min(left, len(buf))])
        s.shutdown(socket.SHUT_WR)
        read_all(s)
    except OSError as e:
        print(outcome(e))
        return
    print("ok %.3f" % (time.monotonic() - t0))


MODES = {"tls": mode_tls, "raw": mode_raw, "banner": mode_banner,
         "halfclose": mode_halfclose, "hold": mode_hold, "bulk": mode_bulk}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.stderr.write(__doc__)
        sys.exit(2)
    MODES[sys.argv[1]](sys.argv[2:])
