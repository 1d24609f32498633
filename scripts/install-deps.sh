#!/bin/sh
# Installs, from Debian 12's packages, everything isorun builds, tests and runs with.
# Idempotent: apt-get runs only when a package is missing.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev llvm
libidn2-dev libjansson-dev libnftables-dev nftables libmnl-dev
libmicrohttpd-dev libc-ares-dev libsqlite3-dev libssl-dev libarchive-dev
libseccomp-dev dnsmasq-base iproute2 bubblewrap busybox-static curl openssl
socat python3 python3-pip python3-paramiko procps git openssh-client time sqlite3
nodejs$(command -v npm >/dev/null 2>&1 || echo " npm")"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
