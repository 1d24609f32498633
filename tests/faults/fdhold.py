#!/usr/bin/env python3
"""fdhold.py ADDR PORT N CONTROL: opens N echo connections and holds them.

One after another: connect, send "ping\\n", wait for it to come back (3 s).
Prints one line when all N were tried:
  "ok:<echoed> reset:<n> refused:<n> eof:<n> timeout:<n> fail_ms:<slowest failure>"
then holds the connections that worked. When the file CONTROL appears
holding a number K, closes K of them (prints "closed:K", and waits for
CONTROL to be written again); "all" closes the rest and exits ("released").
"""

import errno
import os
import socket
import sys
import time


def main():
    addr, port, n, control = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), sys.argv[4]
    held, res, slow = [], {}, 0.0
    for _ in range(n):
        t0 = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((addr, port))
            s.sendall(b"ping\n")
            d = s.recv(16)
            what = "ok" if d == b"ping\n" else "eof"
        except socket.timeout:
            what = "timeout"
        except OSError as e:
            what = {errno.ECONNRESET: "reset", errno.ECONNREFUSED:
                    "refused", errno.EPIPE: "reset"}.get(
                        e.errno, errno.errorcode.get(e.errno, "error"))
        res[what] = res.get(what, 0) + 1
        if what == "ok":
            held.append(s)
        else:
            slow = max(slow, time.monotonic() - t0)
            s.close()
    print(" ".join("%s:%d" % (k, res.get(k, 0)) for k in
                   ("ok", "reset", "refused", "eof", "timeout")),
          "fail_ms:%d" % (slow * 1000), flush=True)
    last = ""
    while True:
        try:
            cmd = open(control).read().strip()
        except OSError:
            cmd = ""
        if cmd and cmd != last:
            last = cmd
            k = len(held) if cmd == "all" else int(cmd)
            for s in held[:k]:
                s.close()
            del held[:k]
            if cmd == "all":
                break
            print("closed:%d" % k, flush=True)
        time.sleep(0.05)
    print("released", flush=True)


main()
