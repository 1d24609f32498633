#!/usr/bin/env python3
"""ping.py [--timeout S] ADDR: one ICMP/ICMPv6 echo over a raw socket (root).

Prints "reply from ADDR", "unreachable from ADDR (type T code C)" or
"timeout", and exits 0, 3 and 1 respectively (2: bad usage or no socket).
"""

import argparse
import os
import select
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    p = argparse.ArgumentParser(usage=__doc__.split(":")[0])
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("addr")
    a = p.parse_args()
    v6 = ":" in a.addr
    try:
        if v6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                              socket.IPPROTO_ICMPV6)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                              socket.IPPROTO_ICMP)
    except OSError as e:
        print("ping: raw socket: %s" % e, file=sys.stderr)
        return 2
    ident = os.getpid() & 0xFFFF
    typ = 128 if v6 else 8
    hdr = struct.pack("!BBHHH", typ, 0, 0, ident, 1)
    payload = b"isorun-universe-ping"
    c = 0 if v6 else csum(hdr + payload)  # the kernel fills ICMPv6's
    pkt = struct.pack("!BBHHH", typ, 0, c, ident, 1) + payload
    try:
        s.sendto(pkt, (a.addr, 0))
    except OSError as e:
        print("unreachable from local (%s)" % e)
        return 3
    end = time.monotonic() + a.timeout
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            print("timeout")
            return 1
        data, peer = s.recvfrom(65535)
        if not v6:
            data = data[(data[0] & 0xF) * 4:]
        t, code = data[0], data[1]
        if t == (129 if v6 else 0):
            if struct.unpack("!H", data[4:6])[0] == ident:
                print("reply from %s" % peer[0])
                return 0
        elif t in ((1,) if v6 else (3,)):
            # the quoted packet's echo id tells whether it was ours
            q = data[8:]
            if not v6:
                q = q[(q[0] & 0xF) * 4:]
            else:
                q = q[40:]
            if len(q) >= 6 and struct.unpack("!H", q[4:6])[0] == ident:
                print("unreachable from %s (type %d code %d)" % (peer[0], t, code))
                return 3


if __name__ == "__main__":
    sys.exit(main())
