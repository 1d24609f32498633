#!/bin/sh
# sandbox_guest.sh - what the guest root can and cannot do (src/sandbox).
#
# The guest is uid 0 in its own user namespace, inside a network namespace
# the runner prepared (owned by the real root). It must not be able to
# change that namespace (routes, addresses, links, nftables), open raw
# sockets, make a namespace of its own with a way out, create user
# namespaces, or make the system calls the seccomp filter refuses; every
# change is checked from outside with `ip -n` / `nft`, not from what the
# guest printed. The host image must hide the host's secrets and keep the
# guest's writes to itself, and real tools (python, pip, git, a compiler,
# node) must work.
TEST=sandbox_guest
. "$(dirname "$0")/sandbox_lib.sub"

netns_up || { nok "network namespace" "setup failed"; exit 1; }
if ! create g1 -n "/run/netns/$NS"; then
	nok "create" "$out"
	exit 1
fi

snap() {
	{
		ip -n "$NS" -d link show
		ip -n "$NS" addr show
		ip -n "$NS" route show table all
		ip -n "$NS" -6 route show table all
		ip -n "$NS" rule show
		ip netns exec "$NS" nft list ruleset
	} 2>&1
}
before=$(snap)

# refused CMD...: every guest command in the list fails (non-zero)
refused() {
	name=$1 cmd=$2
	run g1 "$cmd"
	if [ "$rc" = 0 ] && [ "$(field exit)" != 0 ]; then
		ok "$name"
	else
		nok "$name" "exit=$(field exit) rc=$rc stdout=$stdout stderr=$stderr"
	fi
}

refused "guest cannot add a route" 'ip route add 203.0.113.0/24 dev v0'
refused "guest cannot change the default route" \
    'ip route replace default via 192.0.2.1'
refused "guest cannot add an address" 'ip addr add 203.0.113.7/32 dev lo'
refused "guest cannot take a link down" 'ip link set v0 down'
refused "guest cannot add a link" 'ip link add x0 type veth peer name x1'
refused "guest cannot move a link out" 'ip link set v1 netns 1'
refused "guest cannot add nftables rules" \
    'nft add table inet irt && nft add chain inet irt c'
refused "guest cannot flush nftables" 'nft flush ruleset'
if command -v iptables >/dev/null 2>&1; then
	refused "guest cannot run iptables" 'iptables -A OUTPUT -j ACCEPT'
else
	ok "guest cannot run iptables # skip: iptables is not installed"
fi
refused "guest cannot set a network sysctl" \
    'echo 1 > /proc/sys/net/ipv4/ip_forward'
refused "guest cannot open a raw socket (python)" \
    'python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"'
refused "guest cannot open a packet socket" \
    'python3 -c "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)"'
refused "guest cannot ping (raw ICMP)" 'busybox ping -c 1 -W 1 192.0.2.1'
refused "guest cannot make a network namespace" 'unshare --net true'
refused "guest cannot make a user namespace" 'unshare --user --map-root-user true'
refused "guest cannot make a user and network namespace" \
    'unshare --user --map-root-user --net ip link add x0 type veth peer name x1'
refused "guest cannot mount" 'mount -t tmpfs none /mnt'
refused "guest cannot remount its root's layers" 'mount -o remount,rw /usr'
refused "guest cannot load modules" 'modprobe dummy'
after=$(snap)
check "from outside: the namespace's links, addresses, routes, rules, ruleset are unchanged" \
    '[ "$before" = "$after" ]' \
    "$(printf '%s\n' "$before" >"$T/b"; printf '%s\n' "$after" >"$T/a"; diff "$T/b" "$T/a" | head -20 | tr '\n' ' ')"
check "from outside: no new network namespace" \
    '! ip netns list | grep -q "^x"' "$(ip netns list)"

# --- capabilities and ids
run g1 'cat /proc/self/uid_map; grep -E "^Cap(Eff|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status'
capeff=$(echo "$stdout" | sed -n 's/^CapEff:[[:space:]]*//p')
check "guest: uid 0 is host uid 1073741824 (never root), no new privileges, seccomp on" \
    'echo "$stdout" | head -n 1 | grep -Eq "^ +0 +1073741824 +65536$" &&
     echo "$stdout" | grep -q "NoNewPrivs:[[:space:]]*1" &&
     echo "$stdout" | grep -q "Seccomp:[[:space:]]*2"' "$stdout"
# bits: SYS_ADMIN 21, NET_ADMIN 12, NET_RAW 13, SYS_PTRACE 19, SYS_MODULE 16
check "guest capabilities: none of SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_PTRACE, SYS_MODULE" \
    '[ -n "$capeff" ] && [ $(( 0x$capeff & ((1<<21)|(1<<12)|(1<<13)|(1<<19)|(1<<16)) )) = 0 ]' \
    "CapEff=$capeff"
INITPID=$(info g1 init_pid)
run g1 'touch /tmp/owned; sleep 100 &'
check "from outside: guest processes and files belong to host uid 1073741824" \
    '[ "$(stat -L -c %i /proc/$INITPID/ns/user)" != "$(stat -L -c %i /proc/self/ns/user)" ] &&
     [ "$(awk "/^Uid:/ { print \$2, \$3, \$4, \$5 }" /proc/$INITPID/status)" = "1073741824 1073741824 1073741824 1073741824" ] &&
     [ "$(stat -c %u:%g /proc/$INITPID/root/tmp/owned)" = 1073741824:1073741824 ]' \
    "$(grep -E "^(Uid|Gid)" /proc/$INITPID/status | tr '\n' ' ') file $(stat -c %u:%g /proc/$INITPID/root/tmp/owned 2>&1)"
cp_before=$(cat /proc/sys/kernel/core_pattern)
refused "guest cannot write a host-wide sysctl (kernel.core_pattern)" \
    'cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern'
refused "guest cannot raise its user namespace limit" \
    'echo 10 > /proc/sys/user/max_user_namespaces'
check "from outside: kernel.core_pattern unchanged" \
    '[ "$(cat /proc/sys/kernel/core_pattern)" = "$cp_before" ]' "now $(cat /proc/sys/kernel/core_pattern)"
run g1 'ls /proc | grep -c "^[0-9]"; cat /proc/1/cmdline'
check "guest sees only its own processes" \
    '[ "$(echo "$stdout" | sed -n 1p)" -lt 10 ] &&
     [ "$(echo "$stdout" | sed -n 2p)" = /.isorun/init ]' "$stdout"
run g1 'cat /proc/1/environ 2>/dev/null || echo no-environ
readlink /proc/1/fd/3 || echo no-readlink
python3 -c "
import os, ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(438, os.pidfd_open(1), 3, 0)
print(\"pidfd_getfd\", r, errno.errorcode.get(ctypes.get_errno()))
r = libc.ptrace(16, 1, 0, 0)
print(\"ptrace\", r, errno.errorcode.get(ctypes.get_errno()))
"'
check "guest cannot look into the init or take its descriptors (not dumpable)" \
    '[ "$stdout" = "$(printf "no-environ\nno-readlink\npidfd_getfd -1 EPERM\nptrace -1 EPERM")" ]' \
    "stdout=$stdout stderr=$stderr"
run g1 'sleep 100 & python3 -c "
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
print(libc.ptrace(16, int(sys.argv[1]), 0, 0))
" $!; kill %1'
check "guest can still ptrace its own processes (debuggers work)" \
    '[ "$stdout" = 0 ]' "stdout=$stdout stderr=$stderr"
run g1 'kill -9 1; sleep 0.2; echo still'
run g1 'echo alive'
check "guest cannot kill the init" '[ "$stdout" = alive ]' \
    "stdout=$stdout stderr=$stderr"

# --- seccomp refusals with their errno (x86_64 syscall numbers)
if [ "$(uname -m)" = x86_64 ]; then
	run g1 'python3 - <<EOF
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
for name, nr, args in (("keyctl", 250, (0, 0, 0, 0, 0)),
                       ("add_key", 248, (0, 0, 0, 0, 0)),
                       ("bpf", 321, (0, 0, 0)),
                       ("perf_event_open", 298, (0, 0, 0, 0, 0)),
                       ("userfaultfd", 323, (0,)),
                       ("kexec_load", 246, (0, 0, 0, 0)),
                       ("init_module", 175, (0, 0, 0)),
                       ("open_by_handle_at", 304, (0, 0, 0)),
                       ("io_uring_setup", 425, (1, 0))):
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name, r, errno.errorcode.get(ctypes.get_errno(), "0"))
import socket
try:
    socket.socket(40, socket.SOCK_STREAM)
    print("vsock opened")
except OSError as e:
    print("vsock", errno.errorcode[e.errno])
EOF'
	check "seccomp: keyctl, add_key, bpf, perf_event_open, userfaultfd, kexec_load, init_module, open_by_handle_at refused with EPERM" \
	    '[ "$(echo "$stdout" | grep -c -- "-1 EPERM$")" = 8 ]' "$stdout $stderr"
	check "seccomp: io_uring_setup says ENOSYS (callers fall back)" \
	    'echo "$stdout" | grep -q "^io_uring_setup -1 ENOSYS$"' "$stdout"
	check "seccomp: vsock sockets refused" \
	    'echo "$stdout" | grep -q "^vsock EAFNOSUPPORT$"' "$stdout"
	run g1 'python3 -c "
import fcntl, termios, os, pty
m, s = pty.openpty()
try:
    fcntl.ioctl(s, termios.TIOCSTI, b\"x\")
    print(\"pushed\")
except OSError as e:
    print(\"TIOCSTI\", e.errno)
"'
	check "seccomp: TIOCSTI refused" '[ "$stdout" = "TIOCSTI 1" ]' \
	    "$stdout $stderr"
else
	ok "seccomp errno checks # skip: syscall numbers are x86_64"
fi

# --- the host image: a private, writable copy-on-write view
mkdir -p "$T/marker" && echo secret >"$T/marker/f"
run g1 "cat '$T/marker/f'"
check "guest does not see the host's /tmp" '[ "$(field exit)" != 0 ]' \
    "stdout=$stdout"
secret=$(find /etc -mindepth 1 -maxdepth 6 ! -type l \( ! -perm -o=r -o \( -type d ! -perm -o=x \) \) -print 2>/dev/null | head -n 50 | tr '\n' ' ')
run g1 "for p in /etc/shadow $secret; do test -e \"\$p\" && echo \"seen \$p\"; done; test -e /etc/isorun && echo 'seen /etc/isorun'; head -c 5 /etc/passwd"
check "host image: nothing of /etc that others cannot read (shadow, keys...), nor /etc/isorun" \
    '[ "$stdout" = "root:" ]' "$(echo "$stdout" | head -n 5 | tr '\n' ' ') (of: $secret)"
run g1 "echo x > /usr/local/irt-$$ && echo x > /etc/irt-$$ && mkdir /irt-$$ && rm /usr/bin/env && echo wrote"
check "guest writes anywhere: /usr/local, /etc, /, even deletes" \
    '[ "$stdout" = wrote ]' "stdout=$stdout stderr=$stderr"
check "guest writes stay in the sandbox (host unchanged)" \
    '[ ! -e /usr/local/irt-$$ ] && [ ! -e /etc/irt-$$ ] && [ ! -e /irt-$$ ] &&
     [ -e /usr/bin/env ]' "the host sees the guest's writes"
run g1 "test -e /usr/bin/env || echo env-gone; cat /usr/local/irt-$$"
check "guest writes persist across execs" \
    '[ "$stdout" = "$(printf "env-gone\nx")" ]' "$stdout"

# --- real tools
run g1 'python3 -c "import ssl, json, sqlite3, multiprocessing as m; p = m.Pool(2); print(sum(p.map(abs, [-1, -2]))); p.close()"'
check "python3 with multiprocessing" '[ "$stdout" = 3 ]' "$stdout $stderr"
run g1 'mkdir -p /tmp/pkg/irtpkg && echo "X = 42" > /tmp/pkg/irtpkg/__init__.py &&
printf "from setuptools import setup\nsetup(name=\"irtpkg\", version=\"1.0\", packages=[\"irtpkg\"])\n" > /tmp/pkg/setup.py &&
cd /tmp && pip install -q --no-index --no-build-isolation /tmp/pkg 2>&1 | tail -n 3 &&
cd / && python3 -c "import irtpkg; print(irtpkg.X)"'
check "pip installs a package (into the writable /usr/local)" \
    '[ "$(echo "$stdout" | tail -n 1)" = 42 ]' "$stdout $stderr"
run g1 'cd /tmp && git init -q r && cd r && echo a > a && git add a &&
git -c user.name=t -c user.email=t@example.com commit -q -m x && git log --oneline | wc -l'
check "git init, add, commit" '[ "$stdout" = 1 ]' "$stdout $stderr"
run g1 'printf "int main(void){return 42;}\n" > /tmp/c.c && cc -o /tmp/c /tmp/c.c && /tmp/c; echo $?'
check "a C compiler builds and runs a program" '[ "$stdout" = 42 ]' \
    "$stdout $stderr"
if command -v node >/dev/null 2>&1; then
	run g1 'node -e "require(\"fs\").writeFileSync(\"/tmp/n\", \"ok\"); console.log(require(\"fs\").readFileSync(\"/tmp/n\", \"utf8\"))"'
	check "node reads and writes files" '[ "$stdout" = ok ]' "$stdout $stderr"
else
	ok "node reads and writes files # skip: no node"
fi
run g1 'curl --version | head -n 1 | cut -d" " -f1; cat /dev/null > /dev/null && echo dev-ok; echo x > /dev/shm/x && echo shm-ok'
check "curl runs; /dev and /dev/shm work" \
    '[ "$stdout" = "$(printf "curl\ndev-ok\nshm-ok")" ]' "$stdout $stderr"

$SB destroy g1 >/dev/null
check "destroy leaves the namespace as the guest found it" \
    '[ "$(snap)" = "$before" ]' "changed after destroy"
