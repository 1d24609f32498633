#!/bin/sh
# sandbox_image.sh - images (src/sandbox/image.c, layer.c, `isorun image`).
#
# Builds small images from busybox-static: a docker-archive (`docker save`
# layout) with two layers, the second gzipped with a whiteout and an opaque
# directory, and an OCI image layout whose index points to a nested index
# with an arm64 decoy. Imports them with `isorun image import`, runs
# sandboxes on them and on a rootfs directory, and feeds the importer
# hostile and broken tarballs: each must fail with exit 2 and a message
# naming the file and the entry, write nothing outside, and leave nothing.
TEST=sandbox_image
. "$(dirname "$0")/sandbox_lib.sub"

if [ ! -x /bin/busybox ]; then
	echo "ok - sandbox_image # skip: no /bin/busybox (apt-get install busybox-static)"
	exit 0
fi
if [ ! -x "$ISORUN" ]; then
	nok "$TEST" "$ISORUN is not built (make)"
	exit 1
fi
netns_up || { nok "network namespace" "setup failed"; exit 1; }
ST=$T/state
IMG="$ISORUN image --state-dir $ST"

cat >"$T/mk.py" <<'EOF'
# mk.py KIND OUT [ARG]: writes a test tarball
import gzip, hashlib, io, json, os, sys, tarfile

TOOLS = ["sh", "cat", "ls", "echo", "pwd", "wc", "head", "tr", "sleep", "id",
         "test", "stat", "env", "ps", "true", "printf", "touch", "readlink"]
CONFIG = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/bin", "IMG=one"], "WorkingDir": "/work"},
          "rootfs": {"type": "layers", "diff_ids": []}}

def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[1])
            ti.mtime = 1700000000
            if e[0] == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e[2] if len(e) > 2 else 0o755
                t.addfile(ti)
            elif e[0] == "file":
                ti.size = len(e[2])
                ti.mode = e[3] if len(e) > 3 else 0o644
                t.addfile(ti, io.BytesIO(e[2]))
            elif e[0] == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
                t.addfile(ti)
            elif e[0] == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
                t.addfile(ti)
            elif e[0] == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
                t.addfile(ti)
    return buf.getvalue()

def base():
    ents = [("dir", "bin"),
            ("file", "bin/busybox", open("/bin/busybox", "rb").read(), 0o4755)]
    ents += [("sym", "bin/" + x, "busybox") for x in TOOLS]
    ents += [("hard", "bin/bb2", "bin/busybox"),
             ("dir", "etc"), ("file", "etc/removed.txt", b"gone\n"),
             ("file", "etc/kept.txt", b"kept\n"), ("dir", "opq"),
             ("file", "opq/a", b"a\n"), ("dir", "opq/sub"),
             ("file", "opq/sub/b", b"b\n"), ("dir", "work"),
             ("dir", "tmp", 0o1777), ("dir", "dev"), ("chr", "dev/mem")]
    return tar_bytes(ents)

def top():
    return tar_bytes([("file", "etc/.wh.removed.txt", b""),
                      ("file", "opq/.wh..wh..opq", b""),
                      ("file", "opq/c", b"c\n"),
                      ("file", "etc/added.txt", b"added\n")])

def outer(files, out):
    with tarfile.open(out, "w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))

def docker(out, layers):
    files = [("l%d/layer.tar" % i, l) for i, l in enumerate(layers)]
    names = [f[0] for f in files]
    files.append(("cfg.json", json.dumps(CONFIG).encode()))
    files.append(("manifest.json", json.dumps([{"Config": "cfg.json",
                  "RepoTags": ["t:1"], "Layers": names}]).encode()))
    outer(files, out)

def blob(files, data):
    d = hashlib.sha256(data).hexdigest()
    files.append(("blobs/sha256/" + d, data))
    return "sha256:" + d

def oci(out, layers):
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
    ld = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
           "digest": blob(files, l), "size": len(l)} for l in layers]
    cfg = json.dumps(CONFIG).encode()
    man = json.dumps({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": blob(files, cfg), "size": len(cfg)},
        "layers": ld}).encode()
    md = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
          "digest": blob(files, man), "size": len(man),
          "platform": {"os": "linux", "architecture": "amd64"}}
    decoy = dict(md, digest="sha256:" + "0" * 64,
                 platform={"os": "linux", "architecture": "arm64"})
    idx = json.dumps({"schemaVersion": 2, "manifests": [decoy, md]}).encode()
    files.append(("index.json", json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json",
         "digest": blob(files, idx), "size": len(idx)}]}).encode()))
    outer(files, out)

kind, out = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
one = lambda ents: docker(out, [tar_bytes(ents)])
if kind == "docker":
    docker(out, [base(), gzip.compress(top())])
elif kind == "oci":
    oci(out, [gzip.compress(base()), gzip.compress(top())])
elif kind == "traversal":
    one([("file", "../irt-evil", b"x")])
elif kind == "absolute":
    one([("file", "/irt-evil", b"x")])
elif kind == "symlink":
    one([("sym", "esc", arg), ("file", "esc/irt-pwned", b"x")])
elif kind == "relsymlink":
    one([("dir", "a"), ("sym", "a/up", "../../../../../.."),
         ("file", "a/up/irt-pwned", b"x")])
elif kind == "hardlink":
    one([("hard", "hl", "../../../etc/hostname")])
elif kind == "hardlink-sym":
    one([("sym", "esc", arg), ("hard", "hl", "esc/hostname")])
elif kind == "whiteout":
    one([("file", "x/.wh...", b"")])
elif kind == "outer-traversal":
    outer([("../irt-outer-evil", b"x"), ("manifest.json", b"[]")], out)
elif kind == "nomanifest":
    outer([("hello.txt", b"x")], out)
elif kind == "missinglayer":
    outer([("cfg.json", json.dumps(CONFIG).encode()),
           ("manifest.json", json.dumps([{"Config": "cfg.json",
             "Layers": ["nope/layer.tar"]}]).encode())], out)
elif kind == "badjson":
    outer([("manifest.json", b"[{\"Config\": ")], out)
elif kind == "manifest-escape":
    outer([("manifest.json", json.dumps([{"Config": "../../etc/passwd",
             "Layers": []}]).encode())], out)
elif kind == "layer-garbage":
    docker(out, [os.urandom(2048)])
elif kind == "garbage":
    open(out, "wb").write(os.urandom(4096))
else:
    sys.exit("unknown kind " + kind)
EOF

mk() { python3 "$T/mk.py" "$@" 2>"$T/mk.err" || { nok "build $1" "$(cat "$T/mk.err")"; exit 1; }; }

# --- good imports
mk docker "$T/d.tar"
mk oci "$T/o.tar"
out=$($IMG import bb "$T/d.tar" 2>&1)
check "import a docker-archive" '[ "$out" = "imported bb" ]' "$out"
out=$($IMG import bbo "$T/o.tar" 2>&1)
check "import an OCI layout (nested index, platform chosen)" \
    '[ "$out" = "imported bbo" ]' "$out"
R=$ST/images/bb/rootfs
check "layers applied in order: whiteout, opaque directory" \
    '[ ! -e "$R/etc/removed.txt" ] && [ -f "$R/etc/kept.txt" ] &&
     [ -f "$R/etc/added.txt" ] && [ "$(ls "$R/opq")" = c ]' \
    "$(ls -R "$R/etc" "$R/opq" 2>&1 | tr '\n' ' ')"
check "hard links kept, setuid dropped, devices skipped" \
    '[ "$(stat -c %i "$R/bin/busybox")" = "$(stat -c %i "$R/bin/bb2")" ] &&
     [ "$(stat -c %a "$R/bin/busybox")" = 755 ] && [ ! -e "$R/dev/mem" ]' \
    "$(stat -c "%n %i %a" "$R/bin/busybox" "$R/bin/bb2")"
check "no import leftovers" \
    '[ "$(ls -A "$ST/images" | tr "\n" " ")" = "bb bbo " ]' "$(ls -A "$ST/images")"
out=$($IMG import bb "$T/d.tar" 2>&1)
rc=$?
check "importing over an existing name is refused" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "image .bb. already exists"' \
    "rc=$rc $out"
out=$($IMG ls)
check "image ls lists host and both images" \
    'echo "$out" | grep -q "^host  *built-in" &&
     echo "$out" | grep -q "^bb  *docker-archive  *2 " &&
     echo "$out" | grep -q "^bbo  *oci  *2 "' "$out"
out=$($IMG ls --json)
check "image ls --json carries env and workdir" \
    'echo "$out" | python3 -c "import json,sys; v=json.load(sys.stdin); assert [i[\"name\"] for i in v]==[\"bb\",\"bbo\"]; assert v[0][\"env\"]==[\"PATH=/bin\",\"IMG=one\"] and v[0][\"workdir\"]==\"/work\""' \
    "$out"

# --- sandboxes on them
for im in bb bbo; do
	if create "s-$im" -i "$im" -n "/run/netns/$NS"; then
		run "s-$im" 'pwd; echo "$IMG $PATH"; cat /etc/kept.txt /etc/added.txt; ls /opq; test -e /etc/removed.txt || echo no-removed; id -u; cat /proc/1/cmdline'
		check "sandbox on image $im: env, workdir, layers, init" \
		    '[ "$stdout" = "$(printf "/work\none /bin\nkept\nadded\nc\nno-removed\n0\n/.isorun/init")" ]' \
		    "rc=$rc status=$status stdout=$stdout stderr=$stderr"
		run "s-$im" 'echo hi > /etc/kept.txt; sleep 100 & cat /etc/kept.txt'
		check "sandbox on image $im: writes stay out of the image" \
		    '[ "$stdout" = hi ] && [ "$(cat "$ST/images/$im/rootfs/etc/kept.txt")" = kept ]' \
		    "stdout=$stdout image has $(cat "$ST/images/$im/rootfs/etc/kept.txt")"
		out=$($IMG rm --run-dir "$T/run" "$im" 2>&1)
		rc=$?
		check "image $im in use: rm refused" \
		    '[ "$rc" = 1 ] && echo "$out" | grep -q "used by sandbox .s-$im." &&
		     [ -d "$ST/images/$im/rootfs" ]' "rc=$rc $out"
		$SB destroy "s-$im" >/dev/null
	else
		nok "sandbox on image $im" "$out"
	fi
done
out=$($IMG rm --run-dir "$T/run" bbo 2>&1)
check "image rm" '[ -z "$out" ] && [ ! -e "$ST/images/bbo" ]' "$out"
out=$($IMG rm --run-dir "$T/run" bbo 2>&1)
rc=$?
check "image rm of an unknown name: exit 2" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "no image .bbo."' "rc=$rc $out"

# --- a rootfs directory, and unknown images
if create s-dir -i "$ST/images/bb/rootfs"; then
	run s-dir 'cat /etc/kept.txt; echo x > /new; cat /new'
	check "sandbox on a rootfs directory" \
	    '[ "$stdout" = "$(printf "kept\nx")" ] && [ ! -e "$ST/images/bb/rootfs/new" ]' \
	    "stdout=$stdout stderr=$stderr"
	$SB destroy s-dir >/dev/null
else
	nok "sandbox on a rootfs directory" "$out"
fi
out=$($SB create -i python:3.12-slim 2>&1)
check "unknown image: the error says how to import one" \
    'echo "$out" | grep -q "unknown image .python:3.12-slim.: import it with .isorun image import python:3.12-slim FILE."' \
    "$out"
out=$($SB create -i /nonexistent-irt 2>&1)
check "a missing rootfs directory is a clear error" \
    'echo "$out" | grep -q "image ./nonexistent-irt.: No such file"' "$out"
out=$($SB create -i "$T/d.tar" 2>&1)
check "a file is not a rootfs" 'echo "$out" | grep -q "not a directory"' "$out"
out=$($IMG import host "$T/d.tar" 2>&1)
rc=$?
check "the name host is reserved" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "reserved"' "rc=$rc $out"
out=$($IMG import 'a/b' "$T/d.tar" 2>&1)
rc=$?
check "a name with a slash is refused" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "bad image name"' "rc=$rc $out"
out=$($IMG import x "$T/none.tar" 2>&1)
rc=$?
check "a missing file is a clear error" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "none.tar: No such file"' "rc=$rc $out"

out=$($ISORUN image 2>&1)
rc=$?
check "isorun image without a subcommand: usage, exit 2" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "missing subcommand"' "rc=$rc $out"
out=$($IMG import onlyname 2>&1)
rc=$?
check "isorun image import with one argument: usage, exit 2" \
    '[ "$rc" = 2 ] && echo "$out" | grep -q "want NAME FILE"' "rc=$rc $out"

# --- hostile and broken tarballs: exit 2, file and entry named, no trace
# bad KIND PATTERN [ARG]
bad() {
	kind=$1 pat=$2
	mk "$kind" "$T/bad-$kind.tar" "${3:-}"
	out=$($IMG import "x-$kind" "$T/bad-$kind.tar" 2>&1)
	rc=$?
	left=$(ls -A "$ST/images" | grep -v '^bb$')
	if [ "$rc" = 2 ] && echo "$out" | grep -q "bad-$kind.tar" &&
	    echo "$out" | grep -q -- "$pat" && [ -z "$left" ]; then
		ok "rejects $kind"
	else
		nok "rejects $kind" "rc=$rc out=$out left=$left"
	fi
}
bad traversal "entry '../irt-evil': path leaves the root ('..')"
bad absolute "entry '/irt-evil': absolute path"
bad symlink "entry 'esc/irt-pwned': path leaves the image root through a symlink" /etc
bad relsymlink "entry 'a/up/irt-pwned': path leaves the image root through a symlink"
bad hardlink "entry 'hl': hard link target '../../../etc/hostname': path leaves the root"
bad hardlink-sym "entry 'hl': hard link target 'esc/hostname': path leaves the image root through a symlink" /etc
bad whiteout "entry 'x/.wh...': whiteout of nothing"
bad outer-traversal "entry '../irt-outer-evil'"
bad nomanifest "neither a docker-archive (no manifest.json) nor an OCI image layout (no index.json)"
bad missinglayer "layer 1 ('nope/layer.tar'): not in the archive"
bad badjson "manifest.json: bad JSON"
bad manifest-escape "manifest.json: Config: path leaves the root"
bad layer-garbage "layer 1 ('l0/layer.tar'): not a tar archive"
bad garbage "not a tar archive"
check "nothing was written outside the image roots" \
    '[ ! -e /etc/irt-pwned ] && [ ! -e /irt-pwned ] && [ ! -e /irt-evil ] &&
     [ ! -e "$ST/irt-evil" ] && [ ! -e "$ST/images/irt-evil" ] &&
     [ ! -e "$ST/irt-outer-evil" ] && [ ! -e "$ST/images/irt-outer-evil" ] &&
     [ ! -e /tmp/irt-pwned ]' "found a file written outside"
