#!/usr/bin/env python3
"""dnsburst.py SERVER PATTERN N [WAIT]: N A queries at once, timed.

Sends N queries over UDP from one socket to SERVER:53, the names PATTERN
with "%d" replaced by 1..N (a PATTERN without it is asked N times), then
waits up to WAIT seconds (default 5) for the replies. Prints one line:
  "<rcode>:<count> ... timeouts:<n> max_ms:<slowest reply> a:<first A>"
rcodes as names (NOERROR, SERVFAIL, ...). Exit 0.
"""

import os
import socket
import struct
import sys
import time

RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]


def query(qid, name):
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + \
        struct.pack("!HH", 1, 1)


def first_a(msg):
    """The first A record's address of a reply with one question."""
    off = 12
    while msg[off] != 0:
        off += 1 + msg[off]
    off += 5
    an = struct.unpack("!H", msg[6:8])[0]
    for _ in range(an):
        if msg[off] & 0xC0 == 0xC0:
            off += 2
        else:
            while msg[off] != 0:
                off += 1 + msg[off]
            off += 1
        t, _, _, ln = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if t == 1 and ln == 4:
            return socket.inet_ntoa(msg[off:off + 4])
        off += ln
    return "-"


def main():
    server, pattern, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # N replies may land at once (all SERVFAILs at the deadline): room for
    # them all, or the kernel drops some here and they count as timeouts
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)    # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.connect((server, 53))
    base = struct.unpack("!H", os.urandom(2))[0]
    sent = {}
    for i in range(1, n + 1):
        qid = (base + i) & 0xFFFF
        name = pattern % i if "%d" in pattern else pattern
        sent[qid] = time.monotonic()
        s.send(query(qid, name))
    got, slowest, addr = {}, 0.0, "-"
    deadline = time.monotonic() + wait
    while sent and time.monotonic() < deadline:
        s.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            msg = s.recv(65535)
        except (socket.timeout, ConnectionRefusedError):
            break
        qid = struct.unpack("!H", msg[:2])[0]
        if qid not in sent:
            continue
        slowest = max(slowest, time.monotonic() - sent.pop(qid))
        rc = msg[3] & 0xF
        rc = RCODES[rc] if rc < len(RCODES) else str(rc)
        got[rc] = got.get(rc, 0) + 1
        if addr == "-" and rc == "NOERROR":
            addr = first_a(msg)
    print(" ".join("%s:%d" % kv for kv in sorted(got.items())),
          "timeouts:%d" % len(sent), "max_ms:%d" % (slowest * 1000),
          "a:%s" % addr)


main()
