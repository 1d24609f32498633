#!/bin/sh
# sandbox_exec.sh - a sandbox's life and its execs (src/sandbox): create in
# a prepared network namespace, execs from fresh processes (so every exec
# also re-adopts the sandbox from its state file), persistence of files and
# background processes, env, cwd, stdin, timeouts that kill the whole tree
# (checked from outside, by PID namespace), output limits, exit codes and
# signals, concurrent execs, streaming, signal forwarding, destroy (twice,
# unknown ids) leaving no process, mount or file behind, and the lifeline.
TEST=sandbox_exec
. "$(dirname "$0")/sandbox_lib.sub"

netns_up || { nok "network namespace" "setup failed"; exit 1; }

# --- create
if create s1 -n "/run/netns/$NS" -e SBVAR=fromcreate -e OVER=create \
    -r 'nameserver 192.0.2.53' -H '192.0.2.9 irt.example' -h irt-box; then
	ok "create in a prepared network namespace"
else
	nok "create in a prepared network namespace" "$out"
	exit 1
fi
PIDNS=$(info s1 pidns)
INITPID=$(info s1 init_pid)
BWRAPPID=$(info s1 bwrap_pid)
check "state names the init, bwrap and PID namespace" \
    '[ -n "$PIDNS" ] && alive "$INITPID" && alive "$BWRAPPID" &&
     [ "$(readlink /proc/$INITPID/ns/pid)" = "pid:[$PIDNS]" ]' \
    "pidns=$PIDNS init=$INITPID bwrap=$BWRAPPID"
check "the init is in the prepared network namespace" \
    '[ "$(stat -L -c %i /proc/$INITPID/ns/net)" = "$(stat -L -c %i /run/netns/$NS)" ]' \
    "init net ns $(readlink /proc/$INITPID/ns/net)"
check "the runner's mount namespace got no mount" \
    '! grep -q "$T" /proc/self/mountinfo' "$(grep "$T" /proc/self/mountinfo)"
nmounts=$(grep -c "$T/run/sandboxes/s1/mnt" "/proc/$BWRAPPID/mountinfo")
check "the sandbox's private mount namespace holds its tmpfs and overlays" \
    '[ "$nmounts" -ge 5 ]' "$nmounts mounts under $T/run/sandboxes/s1/mnt in bwrap's namespace"

run s1 'id -u; hostname; cat /etc/resolv.conf; echo; cat /etc/hosts; echo; echo $$; cat /proc/1/cmdline; echo; ls /sys/class/net | tr "\n" " "'
check "exec: uid 0, hostname, resolv.conf, hosts, own PID namespace, own sysfs" \
    '[ "$rc" = 0 ] && [ "$(field exit)" = 0 ] &&
     [ "$(echo "$stdout" | sed -n 1p)" = 0 ] &&
     [ "$(echo "$stdout" | sed -n 2p)" = irt-box ] &&
     [ "$(echo "$stdout" | sed -n 3p)" = "nameserver 192.0.2.53" ] &&
     [ "$(echo "$stdout" | sed -n 4p)" = "192.0.2.9 irt.example" ] &&
     [ "$(echo "$stdout" | sed -n 5p)" -lt 100 ] &&
     [ "$(echo "$stdout" | sed -n 6p)" = /.isorun/init ] &&
     [ "$(echo "$stdout" | sed -n 7p)" = "lo v0 v1 " ]' \
    "rc=$rc status=$status stdout=$stdout stderr=$stderr"

# --- persistence: files and background processes
run s1 'echo kept > /root/f; sleep 1000 & echo $! > /tmp/bg'
run s1 'cat /root/f; kill -0 $(cat /tmp/bg) && echo bg-alive'
check "files and background processes persist across execs" \
    '[ "$stdout" = "$(printf "kept\nbg-alive")" ]' "stdout=$stdout stderr=$stderr"
n=$(ns_procs "$PIDNS" | wc -l)
check "from outside: the sandbox holds the init and the background sleep" \
    '[ "$n" = 2 ]' "$n processes in pid:[$PIDNS]: $(ns_procs "$PIDNS" | tr '\n' ' ')"

# --- env, cwd, stdin
run s1 'echo "$SBVAR $OVER $EXECVAR $HOME $PATH"' -e EXECVAR=x -e OVER=exec
check "env: sandbox's, exec's over it, defaults" \
    '[ "$stdout" = "fromcreate exec x /root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]' \
    "stdout=$stdout"
run s1 'pwd'
check "cwd defaults to /root" '[ "$stdout" = /root ]' "stdout=$stdout"
run s1 'pwd' -C /tmp
check "cwd" '[ "$stdout" = /tmp ]' "stdout=$stdout"
run s1 'pwd' -C /nonexistent
check "a missing cwd is an error naming it" \
    '[ "$rc" = 1 ] && echo "$status" | grep -q "cwd .*/nonexistent.*No such file"' \
    "rc=$rc status=$status"
run s1 'cat; echo; echo done' -s 'hello stdin'
check "stdin bytes" '[ "$stdout" = "$(printf "hello stdin\ndone")" ]' \
    "stdout=$stdout"
head -c 300000 /dev/zero | tr '\0' a >"$T/big"
run s1 'wc -c' -f "$T/big"
check "stdin larger than a pipe buffer" '[ "$stdout" = 300000 ]' \
    "stdout=$stdout stderr=$stderr"
run s1 'exit 4' -f "$T/big"
check "a command that ignores its stdin" \
    '[ "$rc" = 0 ] && [ "$(field exit)" = 4 ]' "rc=$rc status=$status"

# --- exit codes, signals, argv
run s1 'exit 3'
check "exit code" '[ "$(field exit)" = 3 ] && [ "$(field signal)" = 0 ]' \
    "status=$status"
run s1 'kill -TERM $$'
check "killed by SIGTERM: 143" \
    '[ "$(field exit)" = 143 ] && [ "$(field signal)" = 15 ]' "status=$status"
run s1 'kill -KILL $$'
check "killed by SIGKILL: 137" \
    '[ "$(field exit)" = 137 ] && [ "$(field signal)" = 9 ] &&
     [ "$(field timedout)" = 0 ]' "status=$status"
out=$($SB exec s1 -- printf '%s|' 'a b' "c'd" 2>&1)
check "argv is passed as is" \
    '[ "$(echo "$out" | sed -n 2p)" = "a b|c'"'"'d|" ]' "$out"
out=$($SB exec s1 -- no-such-command-irt 2>&1)
check "an argv command not found exits 127 with a message" \
    'echo "$out" | grep -q "^exit=127 " &&
     echo "$out" | grep -q "cannot run .no-such-command-irt.: No such file"' \
    "$out"
out=$($SB exec s1 -- /etc/hosts 2>&1)
check "a file that is not executable exits 126" \
    'echo "$out" | grep -q "^exit=126 " &&
     echo "$out" | grep -q "cannot run ./etc/hosts.: Permission denied"' "$out"

# --- output limits
run s1 'head -c 5000 /dev/zero | tr "\0" x; echo err >&2' -m 1000
check "stdout truncated at the limit, the total still counted" \
    '[ "$(field out)" = 1000 ] && [ "$(field outtrunc)" = 1 ] &&
     [ "$(field outtotal)" = 5000 ] && [ "$(field errtrunc)" = 0 ] &&
     [ "$stderr" = err ] && [ "$(printf %s "$stdout" | wc -c)" = 1000 ]' \
    "status=$status"
run s1 'head -c 3000000 /dev/zero'
check "default limit: 1 MiB captured of 3 MB, the command not blocked" \
    '[ "$(field out)" = 1048576 ] && [ "$(field outtrunc)" = 1 ] &&
     [ "$(field outtotal)" = 3000000 ] && [ "$(field exit)" = 0 ]' \
    "status=$status"

t0=$(date +%s%N)
run s1 '(while :; do echo spam; done) & echo main-done' -t 5000
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a background process that keeps writing does not hold the exec" \
    '[ "$(field exit)" = 0 ] && [ "$(field timedout)" = 0 ] &&
     echo "$stdout" | grep -q main-done && [ "$ms" -lt 3000 ]' \
    "status=$status after ${ms}ms"
run s1 'sleep 0.3; ps -e -o comm | grep -c "^sh$"'
check "... and dies of EPIPE once the exec is over" '[ "$stdout" = 1 ]' \
    "$stdout shells left"

# --- timeout kills the whole tree, and only it
before=$(ns_procs "$PIDNS" | sort | tr '\n' ' ')
t0=$(date +%s%N)
run s1 'sleep 100 & setsid sleep 101 & (sleep 102 &); sh -c "sleep 104 & sleep 103"' -t 500
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "timeout: reported, 137, on time" \
    '[ "$(field timedout)" = 1 ] && [ "$(field exit)" = 137 ] &&
     [ "$ms" -ge 450 ] && [ "$ms" -lt 3000 ]' "status=$status after ${ms}ms"
after=$(ns_procs "$PIDNS" | sort | tr '\n' ' ')
check "timeout: no process of the tree survives (seen from outside)" \
    '[ "$before" = "$after" ]' "before: $before; after: $after"
run s1 'kill -0 $(cat /tmp/bg) && echo bg-alive'
check "timeout: an earlier exec's background process survives" \
    '[ "$stdout" = bg-alive ]' "stdout=$stdout"

# --- streaming, terminal-style fds, signal forwarding
out=$($SB stream s1 -c 'echo one; sleep 0.2; echo two >&2' 2>&1)
check "streaming callback gets each stream's chunks" \
    'echo "$out" | grep -q "^\[1\]one" && echo "$out" | grep -q "\[2\]two" &&
     echo "$out" | grep -q "^exit=0 "' "$out"
out=$(echo piped | $SB run s1 -c 'cat; echo to-err >&2; exit 5' 2>"$T/runerr")
rc=$?
check "caller's fds passed through; exit code passed on" \
    '[ "$out" = piped ] && [ "$(cat "$T/runerr")" = to-err ] && [ "$rc" = 5 ]' \
    "rc=$rc out=$out err=$(cat "$T/runerr")"
out=$($SB sigint s1 -c 'trap "echo got-int; exit 7" INT; echo ready; sleep 5 & wait' 2>&1)
check "a forwarded SIGINT reaches the command" \
    'echo "$out" | head -n 1 | grep -q "^exit=7 " && echo "$out" | grep -q got-int' \
    "$out"

# --- concurrency: 8 execs of 0.5 s from 8 threads at once
out=$($SB concurrent s1 8 2>&1)
ms=$(echo "$out" | sed -n 's/^ok=8 of 8 in \([0-9]*\) ms$/\1/p')
check "8 concurrent execs on one sandbox" '[ -n "$ms" ] && [ "$ms" -lt 3000 ]' \
    "$out"

# --- 12 sandboxes created, used and destroyed at once from 12 threads
out=$($SB parallel 12 "/run/netns/$NS" 2>&1)
check "12 sandboxes at once from 12 threads of one process" \
    '[ "$out" = "ok=12 of 12" ] && [ "$($SB list)" = s1 ]' "$out; left: $($SB list | tr '\n' ' ')"

# --- unknown ids, destroy, destroy twice
out=$($SB exec nosuch -c true 2>&1)
check "exec in an unknown sandbox: clear error" \
    'echo "$out" | grep -q "no sandbox .nosuch."' "$out"
out=$($SB destroy nosuch 2>&1)
check "destroy of an unknown id: clear error" \
    'echo "$out" | grep -q "no sandbox .nosuch."' "$out"
out=$($SB create -d 'bad/id' 2>&1)
check "a bad id is refused" 'echo "$out" | grep -q "bad sandbox id"' "$out"
out=$($SB create -d s1 2>&1)
check "an id in use is refused" 'echo "$out" | grep -q "already exists"' "$out"

out=$($SB twice s1 2>&1)
check "destroy, then destroy again: a clear error" \
    'echo "$out" | grep -q "^first: ok" &&
     echo "$out" | grep -q "^second: sandbox .s1. was already destroyed" &&
     echo "$out" | grep -q "^exec: sandbox .s1. was destroyed" &&
     echo "$out" | grep -q "^open: no sandbox .s1."' "$out"
left=$(ns_procs "$PIDNS")
check "destroy: no process left in the PID namespace" '[ -z "$left" ]' \
    "left: $left"
held=$(grep -l "$T/run/sandboxes/s1" /proc/[0-9]*/mountinfo 2>/dev/null)
check "destroy: no mount namespace on the machine holds its mounts" \
    '[ -z "$held" ]' "still in $held"
check "destroy: init and bwrap gone" \
    '! alive "$INITPID" && ! alive "$BWRAPPID"' \
    "init $INITPID or bwrap $BWRAPPID still runs"
check "destroy: the sandbox directory is gone" \
    '[ ! -e "$T/run/sandboxes/s1" ] && [ -z "$($SB list)" ]' \
    "$(ls -la "$T/run/sandboxes" 2>&1)"
check "destroy: the network namespace is left to its owner" \
    '[ -e "/run/netns/$NS" ] && ip -n "$NS" addr show v0 | grep -q 192.0.2.10' \
    "$(ip -n "$NS" addr 2>&1)"

# --- lifeline: the sandbox dies with its creator
$SB create -d life -n "/run/netns/$NS" -L 1 >"$T/life" 2>&1 &
lp=$!
i=0
while [ $i -lt 50 ] && ! grep -q '^life$' "$T/life"; do sleep 0.1; i=$((i + 1)); done
LPIDNS=$(info life pidns)
run life 'echo up'
wait $lp
i=0
while [ $i -lt 30 ] && [ -n "$(ns_procs "$LPIDNS")" ]; do sleep 0.1; i=$((i + 1)); done
check "lifeline: the sandbox dies when its creator exits" \
    '[ "$stdout" = up ] && [ -n "$LPIDNS" ] && [ -z "$(ns_procs "$LPIDNS")" ]' \
    "stdout=$stdout left: $(ns_procs "$LPIDNS" | tr '\n' ' ')"
out=$($SB exec life -c true 2>&1)
check "lifeline: exec then says the sandbox is not running" \
    'echo "$out" | grep -q "is not running"' "$out"
out=$($SB destroy life 2>&1)
check "lifeline: a dead sandbox still destroys cleanly" \
    '[ "$out" = destroyed ] && [ ! -e "$T/run/sandboxes/life" ]' "$out"

# --- a sandbox without a prepared namespace gets an empty one
if create lo1; then
	run lo1 'cat /sys/class/net/*/address | wc -l; ls /sys/class/net'
	check "no netns given: only loopback" '[ "$stdout" = "$(printf "1\nlo")" ]' \
	    "stdout=$stdout stderr=$stderr"
	$SB destroy lo1 >/dev/null
else
	nok "no netns given: only loopback" "$out"
fi
out=$($SB create -d nn -n /run/netns/irt-no-such-ns 2>&1)
check "a missing network namespace is a clear error" \
    'echo "$out" | grep -q "network namespace /run/netns/irt-no-such-ns: No such file"' \
    "$out"
check "a failed create leaves nothing" '[ ! -e "$T/run/sandboxes/nn" ]' \
    "$(ls "$T/run/sandboxes")"
out=$($SBT -S "$T/state" -R "$T/run" -I /nonexistent-init create -d ni 2>&1)
check "a missing init program is a clear error" \
    'echo "$out" | grep -q "sandbox init /nonexistent-init: No such file"' "$out"
out=$($SB create -d fs -i /sys/kernel 2>&1)
check "an image root without idmapped mounts: the error names the step" \
    'echo "$out" | grep -q "idmapped mount of /sys/kernel on .*: Invalid argument (needs Linux 5.19" &&
     [ ! -e "$T/run/sandboxes/fs" ]' "$out"
if create small -w 8; then
	run small 'head -c 20000000 /dev/zero > /tmp/big; echo rc=$?; rm /tmp/big; df -k / | tail -n 1'
	check "the writable layer is bounded (sc_write_mb)" \
	    'echo "$stdout" | grep -q "^rc=1" && echo "$stderr" | grep -q "No space left"' \
	    "stdout=$stdout stderr=$stderr"
	$SB destroy small >/dev/null
else
	nok "the writable layer is bounded (sc_write_mb)" "$out"
fi
mkdir -m 700 "$T/own"
out=$($SBT -S "$T/state" -R "$T/own" -I "$INIT" create -d o1 2>&1)
check "a run directory of mode 0700 is made searchable (o+x), not an error" \
    '[ "$out" = o1 ] && [ "$(stat -c %a "$T/own")" = 701 ] &&
     [ "$(stat -c %a "$T/own/sandboxes")" = 711 ]' \
    "$out; $(stat -c "%n %a" "$T/own" "$T/own/sandboxes" 2>&1 | tr '\n' ' ')"
$SBT -S "$T/state" -R "$T/own" -I "$INIT" destroy o1 >/dev/null 2>&1
mkdir -m 700 "$T/closed"
out=$($SBT -S "$T/state" -R "$T/closed/run" -I "$INIT" create -d c1 2>&1)
check "a run directory whose parent others cannot search is a clear error" \
    'echo "$out" | grep -q "$T/closed is not searchable by others (chmod o+x"' \
    "$out"
