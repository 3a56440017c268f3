#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions below run from traps
# shellcheck disable=SC2034 # G is for dev.sh
# Messages and process bookkeeping for scripts/dev.sh, which sources this file once it has set
# ROOT and LOGS; its own file so scripts/dev_test.go can check the stopping on small programs.
# Sourcing it installs the traps that stop, on exit or a signal, everything start_bg started.

if [[ -t 1 ]]; then B=$'\e[1m' R=$'\e[31m' G=$'\e[32m' Y=$'\e[33m' N=$'\e[0m'; else B='' R='' G='' Y='' N=''; fi
say() { printf '%s[dev]%s %s\n' "$B" "$N" "$*"; }
warn() { printf '%s[dev]%s %s%s%s\n' "$B" "$N" "$Y" "$*" "$N" >&2; }
die() {
	printf '%s[dev]%s %s%s%s\n' "$B" "$N" "$R" "$*" "$N" >&2
	exit 1
}

# --- process bookkeeping ---------------------------------------------------------------------------
NAMES=()
PIDS=()
PG_THROWAWAY_DATA=""

stop_pid() { # name pid signal
	local name=$1 pid=$2 sig=$3
	kill -0 "$pid" 2>/dev/null || return 0
	say "stopping $name (PID $pid)"
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.25
	done
	warn "$name did not stop in 10s, killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? i
	trap - EXIT
	# Nothing may cut the stopping short: not a second Ctrl-C, and not the output being gone
	# (`make dev | tee dev.log`, whose tee the same Ctrl-C ends, or a closed terminal). Writing
	# to a pipe without a reader killed this script at its first "stopping" line, and a failed
	# write ended it under `set -e`, either way leaving every server running on its port.
	trap '' INT TERM HUP PIPE
	set +e
	# Reverse start order: the API and worker go before the servers they talk to.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		# Temporal's graceful stop is on SIGINT; the others take SIGTERM.
		if [[ ${NAMES[i]} == temporal ]]; then stop_pid "${NAMES[i]}" "${PIDS[i]}" INT; else stop_pid "${NAMES[i]}" "${PIDS[i]}" TERM; fi
	done
	wait 2>/dev/null || true
	if [[ -n "$PG_THROWAWAY_DATA" && -r "$PG_THROWAWAY_DATA/postmaster.pid" ]]; then
		# SIGINT is Postgres' "fast" shutdown.
		stop_pid postgres "$(head -n 1 "$PG_THROWAWAY_DATA/postmaster.pid")" INT
	fi
	say "stopped; logs are in ${LOGS#"$ROOT"/}/"
	exit "$rc"
}
trap cleanup EXIT
# Ctrl-C (INT) is a stop the shell reports as such; TERM (`pkill -TERM -f scripts/dev.sh`, a
# supervisor) is the asked-for way to stop, so it ends with 0 and make reports no error.
trap 'exit 130' INT
trap 'exit 0' TERM

# Starts a long-running process in its own session, so the terminal's Ctrl-C reaches only this
# script, which then stops everything in order.
start_bg() { # name command...
	local name=$1
	shift
	if command -v setsid >/dev/null 2>&1; then
		setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	else
		"$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	fi
	NAMES+=("$name")
	PIDS+=("$!")
	say "started $name (PID $!), log: .data/logs/$name.log"
}
