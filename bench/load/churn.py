#!/usr/bin/env python3
"""churn.py - the driver of bench/load/churn: sandboxes created, used and
destroyed in cycles through isorund's API (its unix socket), with what
isorund holds measured after every cycle.

A cycle: COUNT sandboxes created (WORKERS requests at a time), one exec in
each ("echo ok"; every NET_EVERY-th also fetches http://api.example.com/
through the proxy and the DNS view, and tries a denied address), then all
destroyed. The first cycle is the warm-up; the snapshot after it is the
reference. Cycles go on until SECONDS have passed since the warm-up.

A snapshot (with no sandbox left, once the kernel has removed the veths
that go with the destroyed namespaces, at most 5 s): isorund's RSS,
anonymous memory,
descriptors and threads; the runner's entries in /run/netns and in
`ip netns list`; interfaces in its gateway namespace and the elements of
its nft sets; host mounts under the run dir or of the runner's namespaces;
processes descending from isorund; records and state dirs in the run dir.

Prints markdown lines for BENCHMARKS.md and exits 1 if a target is missed:
nothing left or grown but memory within MEM_SLACK_KIB of the reference
(and no steady growth: the last third of the cycles no higher than the
first third by more than the slack), no failed operation.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(120)
        s.connect(self.path)
        self.sock = s


_tls = threading.local()


def api(sock, method, path, body=None):
    """One request on this thread's kept-alive connection: (status, json)."""
    for attempt in range(2):
        c = getattr(_tls, "conn", None)
        if c is None:
            c = _tls.conn = UnixHTTP(sock)
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdr = {"Content-Type": "application/json"} if data else {}
            c.request(method, path, body=data, headers=hdr)
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        except (http.client.HTTPException, OSError):
            c.close()
            _tls.conn = None
            if attempt == 1:
                raise
    return 0, None


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()[0] if v.split() else ""
    return out


def descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.stdout


def snapshot(a):
    st = proc_status(a.pid)
    pre = a.runner + "-"
    netns = sorted(n for n in os.listdir("/run/netns") if n.startswith(pre))
    ipns = sorted(l.split()[0] for l in run(["ip", "netns", "list"]).splitlines()
                  if l.startswith(pre))
    gw = f"/run/netns/{a.runner}-gw"
    links = len(run(["ip", "-n", f"{a.runner}-gw", "-o", "link", "show"]).splitlines())
    elems = 0
    for s in ("sb4", "sb6"):
        out = run(["nsenter", f"--net={gw}", "nft", "-j", "list", "set", "inet",
                   "isorun", s])
        try:
            for o in json.loads(out)["nftables"]:
                if "set" in o:
                    elems += len(o["set"].get("elem", []))
        except (ValueError, KeyError):
            elems = -1
    with open("/proc/self/mountinfo") as f:
        mi = f.read().splitlines()
    mounts = sum(1 for l in mi if a.run_dir in l or f"/run/netns/{pre}" in l)
    def count_dir(p):
        try:
            return len(os.listdir(p))
        except OSError:
            return 0
    return {
        "rss_kib": int(st["VmRSS"]), "anon_kib": int(st["RssAnon"]),
        "fds": len(os.listdir(f"/proc/{a.pid}/fd")),
        "threads": int(st["Threads"]),
        "netns": netns, "ip_netns_list": ipns, "gw_links": links,
        "nft_elements": elems, "mounts": mounts, "mountinfo_all": len(mi),
        "children": len(descendants(a.pid)),
        "run_sandboxes": count_dir(os.path.join(a.run_dir, "sandboxes")),
        "records": count_dir(os.path.join(a.run_dir, "isorund", "sandboxes")),
    }


def snapshot_settled(a):
    """A snapshot once the kernel has finished: a destroyed sandbox's veth
    goes with its namespace, freed by the kernel after destroy returned.
    Records what was still there at first look and how long it took."""
    t = time.monotonic()
    s = snapshot(a)
    first = s["gw_links"]
    while s["gw_links"] > 1 and time.monotonic() - t < 5:
        time.sleep(0.1)
        s = snapshot(a)
    s["lingering_links"] = first - 1
    s["settle_ms"] = round((time.monotonic() - t) * 1000)
    return s


def cycle(a, n, lat, fails):
    ids = [f"ch{n}-{i}" for i in range(a.count)]
    pol = {"allow": ["api.example.com", "192.0.2.10"], "deny": ["192.0.2.12"]}

    def create(i):
        t = time.monotonic()
        s, b = api(a.socket, "POST", "/v1/sandboxes", {"id": i, "network": pol})
        lat["create"].append((time.monotonic() - t) * 1000)
        if s != 201:
            fails.append(f"create {i}: {s} {b}")
            return None
        return i

    def do_exec(k_i):
        k, i = k_i
        net = a.net_every > 0 and k % a.net_every == 0
        cmd = "echo ok"
        if net:
            cmd = (f"curl -sS -m 5 http://api.example.com/churn/{i}; "
                   "curl -sS -m 2 -o /dev/null http://192.0.2.12/ 2>/dev/null; "
                   "echo denied=$?")
        t = time.monotonic()
        s, b = api(a.socket, "POST", f"/v1/sandboxes/{i}/exec", {"cmd": cmd})
        lat["exec"].append((time.monotonic() - t) * 1000)
        out = (b or {}).get("stdout", "")
        if s != 200 or (b or {}).get("exitCode") != 0:
            fails.append(f"exec {i}: {s} {b}")
        elif net:
            if f"path=/churn/{i}\n" not in out or "denied=0" in out:
                fails.append(f"exec {i} (network): {out!r}")
            lat["net"].append(1)
        elif out != "ok\n":
            fails.append(f"exec {i}: {out!r}")

    def destroy(i):
        t = time.monotonic()
        s, b = api(a.socket, "DELETE", f"/v1/sandboxes/{i}")
        lat["destroy"].append((time.monotonic() - t) * 1000)
        if s != 204:
            fails.append(f"destroy {i}: {s} {b}")

    with concurrent.futures.ThreadPoolExecutor(a.workers) as ex:
        made = [i for i in ex.map(create, ids) if i is not None]
        list(ex.map(do_exec, enumerate(made)))
        list(ex.map(destroy, made))
    return len(made)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--runner", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--net-every", type=int, default=10)
    p.add_argument("--mem-slack-kib", type=int, default=4096)
    p.add_argument("--samples", help="file for one JSON snapshot per cycle")
    p.add_argument("--wan-log", help="the universe's wan log: every network "
                   "exec's fetch must be in it")
    a = p.parse_args()

    def loadavg():
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])

    fails = []
    warm_lat = {"create": [], "exec": [], "destroy": [], "net": []}
    s_start = snapshot_settled(a)
    t0 = time.monotonic()
    cycle(a, 0, warm_lat, fails)
    warm_s = time.monotonic() - t0
    ref = snapshot_settled(a)
    load0 = loadavg()
    lat = {"create": [], "exec": [], "destroy": [], "net": []}
    snaps = []
    t0 = time.monotonic()
    n = 0
    made = 0
    while time.monotonic() - t0 < a.seconds and len(fails) < 50:
        n += 1
        made += cycle(a, n, lat, fails)
        s = snapshot_settled(a)
        s["cycle"] = n
        s["t"] = round(time.monotonic() - t0, 1)
        snaps.append(s)
        print(f"# cycle {n} at {s['t']} s: rss {s['rss_kib']} KiB, "
              f"fds {s['fds']}, threads {s['threads']}, "
              f"{s['lingering_links']} veths gone after {s['settle_ms']} ms, "
              f"load {loadavg()}", file=sys.stderr, flush=True)
        if a.samples:
            with open(a.samples, "a") as f:
                f.write(json.dumps(s) + "\n")
    el = time.monotonic() - t0
    end = snaps[-1] if snaps else snapshot_settled(a)
    load1 = loadavg()

    missed = False
    checks = []

    def check(what, ok):
        nonlocal missed
        checks.append(("ok: " if ok else "NOT OK: ") + what)
        missed |= not ok

    for k in ("netns", "ip_netns_list", "gw_links", "nft_elements", "mounts",
              "children", "run_sandboxes", "records", "fds", "threads"):
        check(f"{k}: {ref[k]} after the warm-up, {end[k]} at the end",
              end[k] == ref[k] if not isinstance(ref[k], int) else end[k] <= ref[k])
    check("the runner's namespaces are its gateway only: "
          f"{end['netns']}", end["netns"] == [f"{a.runner}-gw"])
    check(f"no interface but lo in the gateway ({end['gw_links']} links), "
          f"no set element ({end['nft_elements']})",
          end["gw_links"] == 1 and end["nft_elements"] == 0)
    grow = end["rss_kib"] - ref["rss_kib"]
    check(f"RSS {ref['rss_kib']} KiB after the warm-up, {end['rss_kib']} KiB at "
          f"the end ({grow:+d} KiB; slack {a.mem_slack_kib} KiB)",
          grow <= a.mem_slack_kib)
    if len(snaps) >= 3:
        third = max(1, len(snaps) // 3)
        first = max(s["rss_kib"] for s in snaps[:third])
        last = min(s["rss_kib"] for s in snaps[-third:])
        check(f"no steady growth: lowest RSS of the last third of the cycles "
              f"{last} KiB vs highest of the first third {first} KiB",
              last <= first + a.mem_slack_kib)
    check(f"no failed operation ({len(fails)}: {fails[:3]})", not fails)
    nnet = len(lat["net"]) + len(warm_lat["net"])
    if a.wan_log:
        for _ in range(20):
            with open(a.wan_log) as f:
                seen = sum(1 for l in f if '"path":"/churn/' in l)
            if seen >= nnet:
                break
            time.sleep(0.25)
        check(f"every network exec's fetch reached the wan server ({seen} of "
              f"{nnet})", seen == nnet and (a.net_every == 0 or nnet > 0))

    def row(name, v):
        return (f"| {name} | {len(v)} | {pct(v, .5):.1f} ms | {pct(v, .99):.1f} ms "
                f"| {max(v) if v else 0:.1f} ms |")

    print()
    print(f"Churn benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
          f"{os.cpu_count()} CPUs, kernel {os.uname().release}; {n} cycles in "
          f"{el:.0f} s after a warm-up cycle of {warm_s:.0f} s; each cycle: "
          f"{a.count} sandboxes created through the API ({a.workers} requests at "
          f"a time), one exec in each (every {a.net_every}th fetches through the "
          f"proxy and tries a denied address), all destroyed; {made} sandboxes "
          f"in all; load average {load0} at the start, {load1} at the end.")
    print()
    print("| operation (API round trip) | count | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    print(row("create", lat["create"]))
    print(row("exec (first, in a fresh sandbox)", lat["exec"]))
    print(row("destroy", lat["destroy"]))
    print()
    print("| isorund holds, with no sandbox | at start | after the warm-up | at the end |")
    print("|---|---:|---:|---:|")
    for k, label in (("rss_kib", "RSS, KiB"), ("anon_kib", "anonymous memory, KiB"),
                     ("fds", "descriptors"), ("threads", "threads"),
                     ("children", "processes under it"),
                     ("gw_links", "interfaces in its gateway namespace"),
                     ("nft_elements", "elements of its nft sets"),
                     ("mounts", "host mounts of its run dir or namespaces"),
                     ("run_sandboxes", "sandbox dirs in run_dir"),
                     ("records", "sandbox records")):
        print(f"| {label} | {s_start[k]} | {ref[k]} | {end[k]} |")
    print(f"| entries in /run/netns (and `ip netns list`) | "
          f"{len(s_start['netns'])} ({len(s_start['ip_netns_list'])}) | "
          f"{len(ref['netns'])} ({len(ref['ip_netns_list'])}) | "
          f"{len(end['netns'])} ({len(end['ip_netns_list'])}) |")
    if snaps:
        print()
        ling = [s["lingering_links"] for s in snaps]
        print(f"Sandbox veths still in the gateway when the last destroy of a "
              f"cycle returned: up to {max(ling)} (median {pct(ling, .5):.0f}); "
              f"gone within {max(s['settle_ms'] for s in snaps)} ms (the kernel "
              f"removes them with the namespace).")
        print("RSS after each cycle (KiB): " +
              " ".join(str(s["rss_kib"]) for s in snaps))
        half = snaps[len(snaps) // 2:]
        if len(half) >= 2:
            xs = [s["cycle"] for s in half]
            ys = [s["rss_kib"] for s in half]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            den = sum((x - mx) ** 2 for x in xs)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den
            print(f"RSS trend over the second half of the cycles: {slope:+.1f} KiB "
                  f"per cycle ({slope * 1024 / a.count:+.0f} B per sandbox)")
    print()
    print("Checks:")
    for c in checks:
        print("  " + c)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
