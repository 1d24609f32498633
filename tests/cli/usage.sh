# Help and usage errors of `isorun`.
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

# helps NAME FRAGMENT ARGS...: isorun ARGS exits 0 printing FRAGMENT.
helps() {
	name=$1 frag=$2
	shift 2
	run "$@"
	case $rc:$out in
	0:*"$frag"*) pass "$name" ;;
	*) fail "$name" "exit $rc: $out" ;;
	esac
}

helps "--help lists the commands" "policy" --help
helps "-h lists the commands" "profiles" -h
helps "help with no command" "commands:" help
helps "help policy" "policy check" help policy
helps "policy --help" "policy check" policy --help
helps "policy check --help" "policy check" policy check --help
helps "help profiles" "isorun profiles" help profiles
helps "profiles --help" "isorun profiles" profiles --help
status "unknown command: exit 2 with a hint" 2 "isorun --help" frobnicate
status "help on an unknown command: exit 2" 2 "unknown command 'nope'" \
    help nope
status "no command: exit 2" 2 "usage:"
status "unknown global option: exit 2" 2 "unknown option '--x'" --x
