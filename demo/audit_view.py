#!/usr/bin/env python3
"""audit_view.py SINCE_NS < isorun audit --json: what isorund decided since
SINCE_NS, one line per kind of decision, blocked first, with a count when a
decision was taken several times (pip makes dozens of connections)."""
import json
import sys


def key(e):
    what = e.get("qname") or e.get("name") or "-"
    dst = e.get("dst") or "-"
    if e.get("event") == "dns":
        dst = "query %s" % (e.get("qtype") or "?")
        if e.get("rcode"):
            dst += " -> %s" % e["rcode"]
    elif e.get("dport"):
        dst = "%s port %s" % (dst, e["dport"])
    rule = e.get("rule") or "-"
    return (e.get("verdict"), e.get("proto"), what, dst, rule,
            e.get("reason") or "")


def main():
    since = int(sys.argv[1])
    seen = {}
    order = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        e = json.loads(line)
        if e.get("time_ns", 0) < since or e.get("event") == "close":
            continue
        k = key(e)
        if k not in seen:
            seen[k] = 0
            order.append(k)
        seen[k] += e.get("count") or 1
    order.sort(key=lambda k: k[0] != "blocked")
    for k in order:
        verdict, proto, what, dst, rule, reason = k
        n = seen[k]
        times = "" if n == 1 else " (x%d)" % n
        print("%-7s %-4s %-24s %-28s rule %s: %s%s" % (
            verdict, proto, what[:24], dst[:28], rule, reason, times))
    if not order:
        print("(no decision recorded)")


main()
