#!/usr/bin/env python3
"""icmp_echo.py [-t SECONDS] [-n COUNT] [-s SIZE] ADDR: ICMP echo through an
unprivileged ICMP socket (what ping(8) uses without CAP_NET_RAW). Prints one word per
echo: "reply SRC BYTES", "prohibited", "unreachable ERRNO" or "timeout";
exits 0 if every echo got a reply."""
import errno
import getopt
import os
import socket
import struct
import sys


def main():
    opts, args = getopt.getopt(sys.argv[1:], "t:n:s:")
    o = dict(opts)
    wait = float(o.get("-t", "2"))
    count = int(o.get("-n", "1"))
    size = int(o.get("-s", "32"))
    addr = args[0]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    s = socket.socket(fam, socket.SOCK_DGRAM, proto)
    if fam == socket.AF_INET:
        s.setsockopt(socket.SOL_IP, 11, 1)           # IP_RECVERR
    else:
        s.setsockopt(socket.IPPROTO_IPV6, 25, 1)     # IPV6_RECVERR
    s.settimeout(wait)
    typ = 128 if fam == socket.AF_INET6 else 8
    good = 0
    payload = (b"isorun-ping-" * (size // 12 + 1))[:size]
    for seq in range(1, count + 1):
        # The kernel sets the identifier and the checksum.
        s.sendto(struct.pack("!BBHHH", typ, 0, 0, 0, seq) + payload, (addr, 0))
        try:
            data, src = s.recvfrom(65535)
            print("reply %s %d" % (src[0], len(data) - 8), flush=True)
            good += data[8:] == payload
        except socket.timeout:
            print("timeout", flush=True)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EHOSTUNREACH, errno.ENETUNREACH):
                # IPv4 admin-prohibited is EHOSTUNREACH, IPv6 EACCES
                try:
                    _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
                except OSError:
                    anc = []
                code = None
                for lvl, t, d in anc:
                    if len(d) >= 8:
                        _, _, ee_type, ee_code = struct.unpack("=IBBB", d[:7])
                        code = (ee_type, ee_code)
                if code in ((3, 13), (1, 1)):
                    print("prohibited", flush=True)
                else:
                    print("unreachable %s %s" % (errno.errorcode.get(e.errno), code), flush=True)
            else:
                print("error %s" % e, flush=True)
    sys.exit(0 if good == count else 1)


main()
