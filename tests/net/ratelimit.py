#!/usr/bin/env python3
"""Clients for tests/net/ratelimit.sh, run inside a sandbox's namespace.

  tcp N HOST PORT [PER_S]   N connection attempts, one after the other (at
                            most PER_S a second; 0: as fast as they go).
                            Prints: attempts refused reset answered other
                            seconds. refused: the connect itself was reset
                            (the gateway's rate limit answers the SYN);
                            reset: connected, then reset or closed without a
                            byte (the proxy refused it at accept); answered:
                            some bytes came back (an HTTP request is sent).
  udp N HOST PORT [WAIT]    N datagrams as fast as they go from one socket
                            (after the first, WAIT seconds: the relay has
                            set the flow up); prints: sent seconds.
"""
import socket
import sys
import time


def tcp(n, host, port, per_s):
    c = {"attempts": 0, "refused": 0, "reset": 0, "answered": 0, "other": 0}
    t0 = time.monotonic()
    for i in range(n):
        if per_s > 0:
            due = t0 + i / per_s
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
        c["attempts"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            c["refused"] += 1
            s.close()
            continue
        except ConnectionResetError:
            # the proxy's reset came before connect() returned
            c["reset"] += 1
            s.close()
            continue
        except OSError:
            c["other"] += 1
            s.close()
            continue
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close"
                      b"\r\n\r\n" % host.encode())
            data = s.recv(1)
            c["answered" if data else "reset"] += 1
        except (ConnectionResetError, BrokenPipeError):
            c["reset"] += 1
        except OSError:
            c["other"] += 1
        s.close()
    c["seconds"] = "%.3f" % (time.monotonic() - t0)
    print(" ".join("%s=%s" % kv for kv in c.items()))


def udp(n, host, port, wait):
    # unconnected: ICMP errors are not reported to the sender
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    t0 = time.monotonic()
    for i in range(n):
        s.sendto(b"x" * 16, (host, port))
        sent += 1
        if i == 0 and wait > 0:
            time.sleep(wait)
    print("sent=%d seconds=%.3f" % (sent, time.monotonic() - t0))


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "tcp":
        tcp(int(a[1]), a[2], int(a[3]), float(a[4]) if len(a) > 4 else 0)
    elif len(a) >= 4 and a[0] == "udp":
        udp(int(a[1]), a[2], int(a[3]), float(a[4]) if len(a) > 4 else 0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
