#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions below run from traps and through wait_until
# shellcheck disable=SC2012 # `ls -d /usr/lib/postgresql/*/bin | sort -V`: version-sorted, plain paths
# Local stack for `make dev`: Postgres, Temporal dev server (with UI), stripe-mock, a local S3 and
# SMTP mailbox (cmd/devservices), then the worker and the API built from this tree, then the demo
# seeder. Ctrl-C stops everything it started.
# State lives in .data/ (Temporal DB, throwaway Postgres cluster) and logs in .data/logs/.
#
# Set DATABASE_URL to use a Postgres of your own; nothing Postgres-related is started then.
# Set DEV_THROWAWAY_PG=1 to use the private cluster in .data/pg even when 127.0.0.1:5432 answers.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DATA=$ROOT/.data
LOGS=$DATA/logs
BIN=$ROOT/.bin
mkdir -p "$LOGS" "$BIN"

TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
STRIPE_HTTP_PORT=12111
STRIPE_HTTPS_PORT=12112
API_ADDR=127.0.0.1:8080
API_URL=http://$API_ADDR
THROWAWAY_PG_PORT=5433
PG_USER=${PGUSER:-postgres}

# Same keys and types as workflows/searchattr.Definitions(); keep the two in step.
SEARCH_ATTRIBUTES=(ClientId=Keyword VendorId=Keyword OrderId=Keyword PaymentStatus=Keyword AmountMinor=Int Currency=Keyword)

# shellcheck source=scripts/dev-lib.sh
source "$ROOT/scripts/dev-lib.sh"

if ! command -v go >/dev/null 2>&1; then export PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || die "go not found: install Go 1.26 (https://go.dev/dl/)"
GOPATH_BIN="$(go env GOPATH)/bin"
export PATH="$BIN:$PATH:$GOPATH_BIN"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free_port() { # port what
	if port_open "$1"; then
		die "port $1 ($2) is already in use: is another \`make dev\` running? Stop it first."
	fi
}

wait_until() { # name pid seconds command...
	local name=$1 pid=$2 secs=$3
	shift 3
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name exited during startup (log: .data/logs/$name.log)"
		fi
		((SECONDS < deadline)) || die "$name not ready after ${secs}s (log: .data/logs/$name.log)"
		sleep 0.25
	done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# --- tools -----------------------------------------------------------------------------------------
[[ -x "$BIN/temporal" ]] || say "building tools (the Temporal CLI takes about 2 minutes the first time)"
make --no-print-directory tools
command -v curl >/dev/null 2>&1 || die "curl not found: install curl"

# --- Postgres --------------------------------------------------------------------------------------
pg_ready() { # port
	if command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -h 127.0.0.1 -p "$1" -t 2
	else
		port_open "$1"
	fi
}

as_postgres() {
	# initdb and postgres refuse to run as root; from / since postgres may not enter this tree.
	if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

ensure_database() { # port name
	command -v psql >/dev/null 2>&1 || return 0
	local exists
	exists=$(psql -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$2'") ||
		die "cannot connect to Postgres at 127.0.0.1:$1 as $PG_USER (set PGUSER, or DATABASE_URL)"
	if [[ "$exists" != 1 ]]; then
		say "creating database $2 on port $1"
		psql -h 127.0.0.1 -p "$1" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $2" ||
			die "could not create database $2 on 127.0.0.1:$1"
	fi
}

start_throwaway_pg() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -z "$bin" ]] && command -v initdb >/dev/null 2>&1; then bin=$(dirname "$(command -v initdb)"); fi
	if [[ -z "$bin" ]]; then
		if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
			say "installing PostgreSQL (apt-get)"
			DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
			bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		else
			die "no Postgres at 127.0.0.1:5432 and no initdb to start one: install PostgreSQL, or set DATABASE_URL"
		fi
	fi
	require_free_port "$THROWAWAY_PG_PORT" "throwaway Postgres"
	local dir=$DATA/pg
	PG_THROWAWAY_DATA=$dir/data
	mkdir -p "$dir"
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$dir"
		chmod 755 "$DATA"
		as_postgres test -w "$dir" ||
			die "user postgres cannot reach $dir (a parent directory is private): set DATABASE_URL to a Postgres of your own, or make the path traversable"
	fi
	if [[ ! -f "$PG_THROWAWAY_DATA/PG_VERSION" ]]; then
		say "initialising a Postgres cluster in .data/pg"
		as_postgres "$bin/initdb" -D "$PG_THROWAWAY_DATA" -U "$PG_USER" -A trust >"$LOGS/initdb.log" 2>&1 ||
			{ cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
	fi
	as_postgres "$bin/pg_ctl" -D "$PG_THROWAWAY_DATA" -l "$dir/postgres.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $THROWAWAY_PG_PORT -k $dir" start >/dev/null ||
		{ tail -n 30 "$dir/postgres.log" >&2; die "Postgres did not start (log: .data/pg/postgres.log)"; }
	say "started Postgres on 127.0.0.1:$THROWAWAY_PG_PORT (PID $(head -n 1 "$PG_THROWAWAY_DATA/postmaster.pid")), log: .data/pg/postgres.log"
	ensure_database "$THROWAWAY_PG_PORT" paysplit
	DATABASE_URL="postgres://$PG_USER@127.0.0.1:$THROWAWAY_PG_PORT/paysplit?sslmode=disable"
}

if [[ -n "${DATABASE_URL:-}" ]]; then
	say "using DATABASE_URL from the environment"
elif [[ "${DEV_THROWAWAY_PG:-}" != 1 ]] && pg_ready 5432; then
	say "using the Postgres server at 127.0.0.1:5432"
	ensure_database 5432 paysplit
	DATABASE_URL="postgres://$PG_USER@127.0.0.1:5432/paysplit?sslmode=disable"
else
	start_throwaway_pg
fi

# --- Temporal --------------------------------------------------------------------------------------
require_free_port "$TEMPORAL_PORT" "Temporal frontend"
require_free_port "$TEMPORAL_UI_PORT" "Temporal UI"
sa_flags=()
for sa in "${SEARCH_ATTRIBUTES[@]}"; do sa_flags+=(--search-attribute "$sa"); done
start_bg temporal "$BIN/temporal" server start-dev \
	--ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
	--db-filename "$DATA/temporal.db" --namespace default --log-level warn "${sa_flags[@]}"
wait_until temporal "${PIDS[-1]}" 60 \
	"$BIN/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"

# --- stripe-mock -----------------------------------------------------------------------------------
require_free_port "$STRIPE_HTTP_PORT" "stripe-mock HTTP"
require_free_port "$STRIPE_HTTPS_PORT" "stripe-mock HTTPS"
start_bg stripe-mock "$BIN/stripe-mock" \
	-http-addr "127.0.0.1:$STRIPE_HTTP_PORT" -https-addr "127.0.0.1:$STRIPE_HTTPS_PORT"
wait_until stripe-mock "${PIDS[-1]}" 30 port_open "$STRIPE_HTTP_PORT"

# --- S3, SMTP and GA4 for the weekly reports and KPIs (cmd/devservices) ----------------------------
# The worker and API's development defaults (S3_ENDPOINT, REPORT_SMTP_ADDR) point here. Objects and
# mails are kept in .data/devservices; the mailbox page shows every mail with its attachments.
# The GA4 Data API fake makes up traffic for any property; devservices writes its service-account
# key into GA4_DEV_KEYS (the worker and API's GA4_CREDENTIALS_DIR below) once it listens.
GA4_DEV_PORT=8026
GA4_DEV_KEYS=$DATA/devservices/ga4
require_free_port 9100 "dev S3"
require_free_port 1025 "dev SMTP"
require_free_port 8025 "dev mailbox page"
require_free_port "$GA4_DEV_PORT" "dev GA4 API"
go build -buildvcs=false -o "$BIN/devservices" ./cmd/devservices || die "go build ./cmd/devservices failed"
rm -f "$GA4_DEV_KEYS/dev-service-account.json" # written anew, naming this run's GA4 address
start_bg devservices "$BIN/devservices" -s3 127.0.0.1:9100 -smtp 127.0.0.1:1025 -http 127.0.0.1:8025 \
	-ga4 "127.0.0.1:$GA4_DEV_PORT" -dir "$DATA/devservices"
wait_until devservices "${PIDS[-1]}" 30 test -s "$GA4_DEV_KEYS/dev-service-account.json"

# --- worker and API --------------------------------------------------------------------------------
export DATABASE_URL
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_NAMESPACE=default
export TEMPORAL_UI_URL=http://127.0.0.1:$TEMPORAL_UI_PORT
export STRIPE_API_BASE=http://127.0.0.1:$STRIPE_HTTP_PORT
export STRIPE_API_KEY=sk_test_123
export STRIPE_WEBHOOK_SECRET=whsec_dev
export STRIPE_CONNECT_WEBHOOK_SECRET=whsec_dev_connect
export ADMIN_API_KEY=dev-admin-key
# The GA4 fake, for the demo clients' properties (cmd/demo names the key as file:$GA4_DEV_KEYS/...).
export GA4_API_ENDPOINT=http://127.0.0.1:$GA4_DEV_PORT
export GA4_CREDENTIALS_DIR=$GA4_DEV_KEYS
export API_ADDR
export API_URL

has_main() { # dir
	[[ -d "$1" ]] && compgen -G "$1/*.go" >/dev/null && grep -lqs '^package main' "$1"/*.go
}

built=()
missing=()
for prog in worker api; do
	if ! has_main "$prog"; then
		missing+=("$prog")
		continue
	fi
	say "building ./$prog"
	go build -buildvcs=false -o "$BIN/$prog" "./$prog" || die "go build ./$prog failed"
	built+=("$prog")
done
for prog in "${missing[@]}"; do
	warn "./$prog has no Go program (package main) yet: not starting it; the rest of the stack runs without it"
done
for prog in "${built[@]}"; do
	start_bg "$prog" "$BIN/$prog"
done

api_up=false
if [[ " ${built[*]} " == *" api "* ]]; then
	wait_until api "${PIDS[-1]}" 60 http_ok "$API_URL/healthz"
	api_up=true
fi

# --- demo data -------------------------------------------------------------------------------------
if [[ $api_up == true ]] && has_main cmd/demo; then
	say "seeding demo data (go run ./cmd/demo), log: .data/logs/demo.log"
	if ! go run -buildvcs=false ./cmd/demo 2>&1 | tee "$LOGS/demo.log"; then
		warn "cmd/demo failed (see .data/logs/demo.log); the stack keeps running"
	fi
elif [[ $api_up != true ]]; then
	warn "API not running: skipping the demo seeder"
else
	warn "cmd/demo not found: no demo data seeded"
fi

# --- running ---------------------------------------------------------------------------------------
echo
say "${G}stack is up${N}"
if [[ $api_up == true ]]; then
	say "  API          $API_URL   (admin key: $ADMIN_API_KEY)"
	say "  Dashboard    $API_URL/"
fi
say "  Temporal UI  http://127.0.0.1:$TEMPORAL_UI_PORT   (gRPC 127.0.0.1:$TEMPORAL_PORT, namespace default)"
say "  stripe-mock  $STRIPE_API_BASE"
say "  Mailbox      http://127.0.0.1:8025   (report mails; SMTP 127.0.0.1:1025)"
say "  S3           http://127.0.0.1:9100   (bucket paysplit-reports, files in .data/devservices/s3)"
say "  GA4 (fake)   $GA4_API_ENDPOINT   (made-up traffic for any property, key in .data/devservices/ga4)"
say "  Postgres     $DATABASE_URL"
say "  logs         .data/logs/"
say "Ctrl-C stops everything."

# Any process dying ends the session, so a crashed worker does not go unnoticed.
set +e
wait -n "${PIDS[@]}"
rc=$?
set -e
for i in "${!PIDS[@]}"; do
	if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
		warn "${NAMES[i]} exited (status $rc); last lines of .data/logs/${NAMES[i]}.log:"
		tail -n 20 "$LOGS/${NAMES[i]}.log" >&2 || true
	fi
done
exit 1
