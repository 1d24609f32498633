#!/bin/sh
# sandbox_cgroup.sh - each sandbox's processes in a CPU cgroup of their own
# with an equal weight (issue 7: a flood's processes get one sandbox's share
# of the CPU), removed at destroy and by a purge after a crash; without a
# usable hierarchy a one-line warning and sandboxes that still work; a
# failing cgroup step fails the create and leaves nothing. The pids and
# memory limits (sandbox_pids_max, sandbox_memory_mb): a fork bomb and a
# runaway allocation stay inside their sandbox, judged by the cgroups'
# own counters and by another sandbox that keeps working.
TEST=sandbox_cgroup
. "$(dirname "$0")/api_lib.sub"

cli() { "$ISORUN" "$@" --socket "$SOCK"; }
state() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
    "$T/run/sandboxes/$1/state.json" "$2" 2>/dev/null; }
# pids_of ARG: host pids of processes whose command line has ARG
pids_of() {
	for _p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$_p/cmdline"; } 2>/dev/null | grep -q -- "$1" && echo "${_p#/proc/}"
	done
}
# in_cg PID DIR: the process is in that cgroup (v1: its cpu line; v2: 0::)
in_cg() {
	_rel=$(echo "$2" | sed 's|^/sys/fs/cgroup/cpu||; s|^/sys/fs/cgroup||')
	grep -Eq "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:$_rel\$|^0::$_rel\$" "/proc/$1/cgroup"
}

d_start || { nok start "isorund did not start"; exit 1; }
cli create --id cg1 --allow 192.0.2.10 >/dev/null || { nok create "$(tail -3 "$T/daemon.log")"; exit 1; }
CGS=$(state cg1 cgroup)
CG=${CGS%%:*}		# the cpu leaf first; v1 has one leaf per hierarchy
SLOT=$(sed -n 's/.*"slot":\([0-9]*\).*/\1/p' "$T/run/isorund/sandboxes/cg1.json")
check "the sandbox has a cgroup named after its network namespace and id" \
    '[ -d "$CG" ] && [ "${CG##*/}" = "$R-sb$SLOT.cg1" ] && [ "$(basename "$(dirname "$CG")")" = isorun ]' \
    "cgroup '$CG'"
w=$(cat "$CG/cpu.shares" 2>/dev/null || cat "$CG/cpu.weight" 2>/dev/null)
check "its cpu weight is the default every sandbox gets (1024 shares or weight 100)" \
    '[ "$w" = 1024 ] || [ "$w" = 100 ]' "weight '$w'"
"$ISORUN" exec --socket "$SOCK" cg1 -- sh -c 'sleep 4711 >/dev/null 2>&1 & echo started' >/dev/null
sleep 0.3
init=$(state cg1 init_pid) bw=$(state cg1 bwrap_pid) sl=$(pids_of 'sleep 4711' | head -1)
check "its processes are in it: bwrap, the init, a command started by exec" \
    '[ -n "$sl" ] && in_cg "$bw" "$CG" && in_cg "$init" "$CG" && in_cg "$sl" "$CG" &&
     grep -qx "$sl" "$CG/cgroup.procs"' \
    "bwrap $bw, init $init, sleep '$sl'; procs: $(tr '\n' ' ' <"$CG/cgroup.procs")"
check "the runner itself is not in it" '! in_cg "$DP" "$CG"' "$(cat /proc/$DP/cgroup)"
cli create --id cg2 --allow 192.0.2.10 >/dev/null
CG2=$(state cg2 cgroup)
CG2=${CG2%%:*}
check "a second sandbox gets its own cgroup, same weight" \
    '[ -d "$CG2" ] && [ "$CG2" != "$CG" ] &&
     [ "$(cat "$CG2/cpu.shares" 2>/dev/null || cat "$CG2/cpu.weight")" = "$w" ]' "'$CG2'"
cli destroy cg1 >/dev/null
check "destroy removes the cgroup (and the processes are gone)" \
    'for d in $(echo "$CGS" | tr : " "); do [ ! -e "$d" ] || exit 1; done; [ -z "$(pids_of "sleep 4711")" ]' \
    "$(ls -d $(echo "$CGS" | tr : " ") 2>&1)"

# a crashed runner: its sandboxes (and cgroups) stay; --purge removes them
d_stop KILL
check "after kill -9 of the runner the sandbox and its cgroup are still there" \
    '[ -d "$CG2" ] && [ -n "$(cat "$CG2/cgroup.procs")" ]' "$(ls -d "$CG2" 2>&1)"
d --purge >>"$T/daemon.log" 2>&1
check "isorund --purge removes the dead runner's sandbox cgroup" '[ ! -e "$CG2" ]' \
    "$(ls -d "$CG2" 2>&1)"

# no usable hierarchy: a warning, once, and sandboxes that work
for root in /nonexistent-irt /sys/fs/cgroup/unified; do
	[ "$root" = /sys/fs/cgroup/unified ] && { [ -e "$root/cgroup.controllers" ] &&
	    ! grep -qw cpu "$root/cgroup.controllers" || continue; }
	n0=$(grep -c 'sandbox cgroups:' "$T/daemon.log")
	export ISORUN_CGROUP_ROOT=$root
	d_start --sandbox-pids-max 0; rc=$?
	unset ISORUN_CGROUP_ROOT
	[ $rc = 0 ] || { nok "start with ISORUN_CGROUP_ROOT=$root" "$(tail -3 "$T/daemon.log")"; continue; }
	cli create --id nc1 --allow 192.0.2.10 >/dev/null &&
	    cli create --id nc2 --allow 192.0.2.10 >/dev/null
	out=$("$ISORUN" exec --socket "$SOCK" nc1 -- echo fine 2>&1)
	warn=$(grep 'sandbox cgroups:' "$T/daemon.log" | tail -1)
	check "ISORUN_CGROUP_ROOT=$root: the sandboxes work without a cgroup" \
	    '[ "$out" = fine ] && [ -z "$(state nc1 cgroup)" ] && [ -z "$(state nc2 cgroup)" ]' \
	    "exec '$out', cgroup '$(state nc1 cgroup)'"
	check "ISORUN_CGROUP_ROOT=$root: one warning line that says why ($warn)" \
	    '[ $(( $(grep -c "sandbox cgroups:" "$T/daemon.log") - n0 )) = 1 ] &&
	     echo "$warn" | grep -q "$root: .*: sandboxes run without per-sandbox CPU fairness"' \
	    "$(grep 'sandbox cgroups:' "$T/daemon.log")"
	cli destroy nc1 >/dev/null; cli destroy nc2 >/dev/null
	d_stop
done

# the pids and memory limits: a fork bomb and a runaway allocation stay
# inside their sandbox; the cgroups' own counters say what happened
if [ -e /sys/fs/cgroup/pids/cgroup.procs ] || grep -qw pids /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	d_start --sandbox-pids-max 64 --sandbox-memory-mb 96 || { nok start "isorund with limits"; exit 1; }
	cli create --id lim --allow 192.0.2.10 >/dev/null && cli create --id other --allow 192.0.2.10 >/dev/null
	LS=$(state lim cgroup)
	PD='' MD=''
	for d in $(echo "$LS" | tr : " "); do
		[ -e "$d/pids.max" ] && PD=$d
		{ [ -e "$d/memory.limit_in_bytes" ] || [ -e "$d/memory.max" ]; } && MD=$d
	done
	mem=$(cat "$MD/memory.limit_in_bytes" 2>/dev/null || cat "$MD/memory.max" 2>/dev/null)
	check "limits: the sandbox's pids and memory cgroups hold them (pids.max 64, 96 MiB)" \
	    '[ -n "$PD" ] && [ "$(cat "$PD/pids.max")" = 64 ] && [ "$mem" = $((96 << 20)) ]' \
	    "cgroups '$LS', pids.max '$(cat "$PD/pids.max" 2>&1)', memory '$mem'"
	# 200 background sleeps: at most 64 tasks fit
	"$ISORUN" exec --socket "$SOCK" lim -- sh -c 'i=0; while [ $i -lt 200 ]; do sleep 4712 2>/dev/null & i=$((i + 1)); done; echo spawned' >"$T/bomb" 2>&1
	sleep 0.3
	n=$(pids_of 'sleep 4712' | wc -l)
	cur=$(cat "$PD/pids.current" 2>/dev/null)
	check "limits: a fork bomb stops at pids.max ($n of 200 sleeps run, pids.current $cur)" \
	    '[ "$n" -gt 0 ] && [ "$n" -le 64 ] && [ "${cur:-99}" -le 64 ]' "$n sleeps, pids.current '$cur': $(head -c 200 "$T/bomb")"
	out=$("$ISORUN" exec --socket "$SOCK" other -- echo fine 2>&1)
	check "limits: meanwhile another sandbox runs commands" '[ "$out" = fine ]' "got '$out'"
	# 300 MB in a 96 MiB sandbox: the kernel kills inside it
	"$ISORUN" exec --socket "$SOCK" --json lim -- python3 -c 'b = bytearray(300 << 20); b[::4096] = b"x" * len(b[::4096]); print("survived")' >"$T/hog" 2>&1
	ooms=$(cat "$MD/memory.failcnt" 2>/dev/null || sed -n 's/^oom_kill //p' "$MD/memory.events" 2>/dev/null)
	check "limits: 300 MB in a 96 MiB sandbox is stopped inside it (failcnt/oom_kill $ooms)" \
	    '! grep -q survived "$T/hog" && [ "${ooms:-0}" -gt 0 ]' "$(head -c 300 "$T/hog")"
	api GET /healthz
	out=$("$ISORUN" exec --socket "$SOCK" other -- echo fine 2>&1)
	check "limits: isorund and the other sandbox are unharmed" \
	    '[ "$ST" = 200 ] && [ "$out" = fine ] && kill -0 "$DP"' "healthz $ST, exec '$out'"
	cli destroy lim >/dev/null; cli destroy other >/dev/null
	check "limits: destroy removes every leaf (cpu, pids, memory) and the processes" \
	    'for d in $(echo "$LS" | tr : " "); do [ ! -e "$d" ] || exit 1; done; [ -z "$(pids_of "sleep 4712")" ]' \
	    "$(ls -d $(echo "$LS" | tr : " ") 2>&1)"
	d_stop
	check "limits: isorund stopped cleanly" '[ "$DRC" = 0 ]' "exit $DRC"
else
	ok "limits: # skip: no pids controller on this host"
fi

# a hierarchy that is found but fails a step: the create fails, says why,
# and leaves no cgroup behind
FAKE=$T/fakecg
mkdir -p "$FAKE" && : >"$FAKE/cpu.shares"
export ISORUN_CGROUP_ROOT=$FAKE
d_start
unset ISORUN_CGROUP_ROOT
o=$(cli create --id bad --allow 192.0.2.10 2>&1); rc=$?
check "a cgroup that cannot be set up fails the create with the reason" \
    '[ $rc != 0 ] && echo "$o" | grep -q "cgroup $FAKE/isorun/$R-sb[0-9]*\.bad: write cpu.shares 1024: "' "rc $rc: $o"
check "... and leaves neither the cgroup nor the sandbox" \
    '[ -z "$(ls "$FAKE/isorun")" ] && [ ! -e "$T/run/sandboxes/bad" ]' \
    "$(ls "$FAKE/isorun" "$T/run/sandboxes" 2>&1)"
d_stop
check "isorund stopped cleanly" '[ "$DRC" = 0 ]' "exit $DRC"
