#!/usr/bin/env python3
"""slowdns.py ADDR UPSTREAM MODEFILE LOG: a resolver that misbehaves on cue.

Listens on UDP ADDR:53 and relays each query to UPSTREAM:53 (dnsmasq),
behaving as the first word of MODEFILE says at the time the query arrives:
  ok          relays at once
  delay S     relays the answer S seconds late
  silent      never answers
Logs one line per query: "TIME MODE QNAME" (TIME in ms since the epoch).
"""

import socket
import sys
import threading
import time


def qname(msg):
    labels, i = [], 12
    while i < len(msg) and msg[i] != 0:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(labels)


def main():
    addr, upstream, modefile, logpath = sys.argv[1:5]
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind((addr, 53))
    log = open(logpath, "a", buffering=1)
    print("ready", flush=True)

    def relay(q, peer, delay):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(2)
        try:
            up.sendto(q, (upstream, 53))
            a, _ = up.recvfrom(65535)
        except OSError:
            return
        finally:
            up.close()
        if delay > 0:
            time.sleep(delay)
        srv.sendto(a, peer)

    while True:
        q, peer = srv.recvfrom(65535)
        try:
            mode = open(modefile).read().split()
        except OSError:
            mode = ["ok"]
        log.write("%d %s %s\n" % (time.time() * 1000, mode[0], qname(q)))
        if mode[0] == "silent":
            continue
        delay = float(mode[1]) if mode[0] == "delay" else 0
        threading.Thread(target=relay, args=(q, peer, delay),
                         daemon=True).start()


main()
