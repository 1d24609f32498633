#!/usr/bin/env python3
"""dnsq.py [--tcp] [--timeout S] SERVER NAME [TYPE]: one DNS query, no deps.

Prints "status: RCODE" then one line per answer record, "NAME TTL TYPE VALUE"
(names without the trailing dot). Exit 0 when an answer came (whatever its
rcode), 1 on timeout or a malformed reply, 2 on bad usage.
"""

import argparse
import os
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
NAMES = {v: k for k, v in TYPES.items()}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            b = label.encode("idna") if not label.isascii() else label.encode()
            if len(b) > 63:
                raise ValueError("label over 63 bytes: %s" % label)
            out += bytes([len(b)]) + b
    return out + b"\0"


def rname(msg, off, depth=0):
    labels = []
    while True:
        if off >= len(msg) or depth > 20:
            raise ValueError("bad name")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
            rest, _ = rname(msg, ptr, depth + 1)
            if rest:
                labels.append(rest)
            return ".".join(labels), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("latin-1"))
        off += n


def parse(msg, qid):
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid:
        raise ValueError("reply id %d, want %d" % (rid, qid))
    rc = flags & 0xF
    print("status: %s" % (RCODES[rc] if rc < len(RCODES) else rc))
    off = 12
    for _ in range(qd):
        _, off = rname(msg, off)
        off += 4
    for _ in range(an):
        name, off = rname(msg, off)
        t, _, ttl, ln = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        data = msg[off:off + ln]
        if t == 1:
            val = socket.inet_ntop(socket.AF_INET, data)
        elif t == 28:
            val = socket.inet_ntop(socket.AF_INET6, data)
        elif t in (2, 5, 12):
            val, _ = rname(msg, off)
        elif t == 16:
            val = data[1:1 + data[0]].decode("latin-1") if data else ""
        else:
            val = data.hex()
        off += ln
        print("%s %d %s %s" % (name, ttl, NAMES.get(t, t), val))


def main():
    p = argparse.ArgumentParser(usage=__doc__.split(":")[0])
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("type", nargs="?", default="A")
    a = p.parse_args()
    t = a.type.upper()
    if t not in TYPES and not t.isdigit():
        print("dnsq: type '%s': unknown" % a.type, file=sys.stderr)
        return 2
    try:
        q = qname(a.name)
    except (ValueError, UnicodeError) as e:
        print("dnsq: name '%s': %s" % (a.name, e), file=sys.stderr)
        return 2
    qid = struct.unpack("!H", os.urandom(2))[0]
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + \
        struct.pack("!HH", TYPES.get(t) or int(t), 1)
    fam = socket.AF_INET6 if ":" in a.server else socket.AF_INET
    try:
        if a.tcp:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(a.timeout)
            s.connect((a.server, a.port))
            s.sendall(struct.pack("!H", len(msg)) + msg)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                d = s.recv(65535)
                if not d:
                    raise ValueError("connection closed")
                buf += d
            reply = buf[2:]
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(a.timeout)
            s.connect((a.server, a.port))
            s.send(msg)
            reply = s.recv(65535)
        parse(reply, qid)
    except (OSError, ValueError, struct.error) as e:
        print("dnsq: %s: %s" % (a.server, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
