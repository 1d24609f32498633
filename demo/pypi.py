#!/usr/bin/env python3
"""pypi.py WWW NAME... - a tiny simulated PyPI for the demo.

Writes, under WWW/pypi.org/, a PEP 503 simple index (simple/NAME/index.html)
and one pure-Python wheel per NAME (packages/NAME-1.0.0-py3-none-any.whl)
whose module prints where it came from. The universe's HTTPS server serves
WWW/<Host>/ (tests/net/lib/wan_servers.py), so `pip install NAME` inside a
sandbox that may reach pypi.org installs it from the simulated internet.
"""
import base64
import hashlib
import os
import sys
import zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d" % (path, digest.rstrip(b"=").decode(), len(data))


def wheel(dst, name):
    ver = "1.0.0"
    dist = "%s-%s.dist-info" % (name, ver)
    files = {
        "%s/__init__.py" % name:
            ('"""%s, served by the demo\'s simulated pypi.org."""\n'
             '__version__ = "%s"\n' % (name, ver)).encode(),
        "%s/METADATA" % dist:
            ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
             "Summary: demo package\n" % (name, ver)).encode(),
        "%s/WHEEL" % dist:
            b"Wheel-Version: 1.0\nGenerator: isorun-demo\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rec = [record_line(p, d) for p, d in files.items()]
    rec.append("%s/RECORD,," % dist)
    files["%s/RECORD" % dist] = ("\n".join(rec) + "\n").encode()
    fname = "%s-%s-py3-none-any.whl" % (name, ver)
    path = os.path.join(dst, fname)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in files.items():
            z.writestr(p, d)
    with open(path, "rb") as f:
        return fname, hashlib.sha256(f.read()).hexdigest()


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    root = os.path.join(sys.argv[1], "pypi.org")
    pkgs = os.path.join(root, "packages")
    os.makedirs(pkgs, exist_ok=True)
    links = []
    for name in sys.argv[2:]:
        fname, sha = wheel(pkgs, name)
        d = os.path.join(root, "simple", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n"
                    '<a href="/packages/%s#sha256=%s">%s</a>\n'
                    "</body></html>\n" % (fname, sha, fname))
        links.append('<a href="/simple/%s/">%s</a>' % (name, name))
    with open(os.path.join(root, "simple", "index.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body>\n%s\n</body></html>\n"
                % "\n".join(links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
