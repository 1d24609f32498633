#!/usr/bin/env python3
"""tcpprobe.py ADDR PORT [HOST] [TIMEOUT]: one TCP exchange, as a guest sees it.

Connects, sends "GET / HTTP/1.0" (with "Host: HOST" when given, so that a
proxy can name the connection), reads until EOF, a reset or TIMEOUT seconds
(default 15) and prints one line of JSON:
  {"connect": "ok"|"refused"|"timeout"|"<errno name>", "connect_ms": N,
   "end": "eof"|"reset"|"timeout"|"<errno name>", "ms": N, "bytes": N}
A reset during connect (the proxy's reset overtaking the handshake) is
"reset" for both.
"""

import errno
import json
import socket
import sys
import time


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    host = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 15.0
    r = {"connect": "ok", "connect_ms": 0, "end": "", "ms": 0, "bytes": 0}
    t0 = time.monotonic()
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
    except socket.timeout:
        r["connect"] = "timeout"
    except OSError as e:
        r["connect"] = "refused" if e.errno == errno.ECONNREFUSED else \
            errno.errorcode.get(e.errno, str(e.errno))
        if e.errno == errno.ECONNRESET:
            # the proxy's reset overtook the end of the handshake
            r["connect"] = r["end"] = "reset"
    r["connect_ms"] = int((time.monotonic() - t0) * 1000)
    if r["connect"] == "ok":
        req = "GET / HTTP/1.0\r\n"
        if host:
            req += "Host: %s\r\n" % host
        req += "\r\n"
        try:
            s.sendall(req.encode())
            while True:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                d = s.recv(65536)
                if not d:
                    r["end"] = "eof"
                    break
                r["bytes"] += len(d)
        except socket.timeout:
            r["end"] = "timeout"
        except OSError as e:
            r["end"] = "reset" if e.errno == errno.ECONNRESET else \
                errno.errorcode.get(e.errno, str(e.errno))
    r["ms"] = int((time.monotonic() - t0) * 1000)
    print(json.dumps(r))


main()
