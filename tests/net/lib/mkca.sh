#!/bin/sh
# mkca.sh DIR NAMES-FILE: a throwaway test CA and one leaf certificate.
#
# NAMES-FILE holds one name a line: DNS names (wildcards too) or IP
# addresses; blank lines and '#' comments are skipped. The first DNS name is
# the leaf's CN. Writes DIR/ca.pem, DIR/ca.key, DIR/leaf.pem (leaf, then the
# CA), DIR/leaf.key. Keys are EC P-256; both certificates are valid for two
# days. The CA's key never leaves DIR, which the caller removes.
set -euf
if [ $# -ne 2 ]; then
	echo "usage: mkca.sh DIR NAMES-FILE" >&2
	exit 2
fi
dir=$1 names=$2
[ -d "$dir" ] || { echo "mkca.sh: $dir: not a directory" >&2; exit 1; }
[ -r "$names" ] || { echo "mkca.sh: $names: cannot read names file" >&2; exit 1; }

san='' cn=''
for n in $(sed -e 's/#.*//' "$names"); do
	case $n in
	*[!0-9A-Za-z.:*_-]*)
		echo "mkca.sh: $names: bad name '$n'" >&2
		exit 1 ;;
	*:*|[0-9]*.[0-9]*.[0-9]*.[0-9]*)
		san="$san,IP:$n" ;;
	*)
		san="$san,DNS:$n"
		[ -n "$cn" ] || cn=$n ;;
	esac
done
if [ -z "$san" ]; then
	echo "mkca.sh: $names: no names" >&2
	exit 1
fi
san=${san#,}
: "${cn:=isorun-test-leaf}"

umask 077
cat >"$dir/leaf.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
EOF
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 -sha256 \
    -subj "/O=isorun tests/CN=isorun throwaway test CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$dir/mkca.err"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/leaf.key" -out "$dir/leaf.csr" -subj "/CN=$cn" \
    2>>"$dir/mkca.err"
openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -out "$dir/leaf.crt" -days 2 -sha256 \
    -extfile "$dir/leaf.ext" 2>>"$dir/mkca.err"
cat "$dir/leaf.crt" "$dir/ca.pem" >"$dir/leaf.pem"
rm -f "$dir/leaf.csr" "$dir/leaf.crt" "$dir/ca.srl" "$dir/mkca.err"
chmod 644 "$dir/ca.pem" "$dir/leaf.pem"
