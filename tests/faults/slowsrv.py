#!/usr/bin/env python3
"""slowsrv.py LOG: misbehaving TCP servers on every address, one per port.

  8091  slow: reads the request head, waits 2 s, then sends 10 chunks of
        1000 bytes 0.3 s apart and closes (SLOW_* below)
  8092  reset: reads the request head, sends 1000 bytes, then resets
        (SO_LINGER 0)
Logs one JSON line per connection when it ends: port, dst, bytes sent.
Prints "ready" once listening.
"""

import json
import socket
import struct
import sys
import threading
import time

SLOW_WAIT, SLOW_CHUNKS, SLOW_CHUNK, SLOW_GAP = 2.0, 10, 1000, 0.3


def head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            break
        buf += d


def serve(c, port, log):
    sent = 0
    dst = c.getsockname()[0]
    try:
        head(c)
        if port == 8091:
            time.sleep(SLOW_WAIT)
            for _ in range(SLOW_CHUNKS):
                c.sendall(b"x" * SLOW_CHUNK)
                sent += SLOW_CHUNK
                time.sleep(SLOW_GAP)
        else:
            c.sendall(b"y" * 1000)
            sent = 1000
            time.sleep(0.2)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
    except OSError:
        pass
    c.close()
    log.write(json.dumps({"port": port, "dst": dst, "sent": sent,
                          "t": time.time()}) + "\n")


def listen(port, log):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, port, log),
                         daemon=True).start()


def main():
    log = open(sys.argv[1], "a", buffering=1)
    for p in (8091, 8092):
        threading.Thread(target=listen, args=(p, log), daemon=True).start()
    time.sleep(0.2)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


main()
