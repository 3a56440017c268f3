// Package scale_test checks the queries the API, the monitors and the integrity workflow run
// against a database holding months of production data: each test loads realistic volume with
// generate_series, ANALYZEs, calls the production code (store, monitor, ledger) on a pool that
// records every query it sends, then EXPLAIN ANALYZEs those queries with the arguments the code
// passed and bounds the rows they read from the big table by what the call returns, not by the
// size of the table. The SQL is never copied here, so it cannot drift from the code's. No
// timings are asserted.
//
// The volume is a fraction of a busy year (the plans' shape, not their duration, is what is
// checked): 200,000 payments of 40 clients over a year and 300,000 journal entries (900,000
// postings) over about 100 days, enough for a scan of the table to read 100 times a page.
package scale_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	nPayments = 200_000 // one every 158 s over a year
	nEntries  = 300_000 // one every 30 s, about 104 days
)

var (
	paymentsOnce sync.Once
	paymentsErr  error
	ledgerOnce   sync.Once
	ledgerErr    error
)

// loadPayments stores nPayments payments of 40 clients captured over a year, each with a
// platform, a vendor and an affiliate leg; one in 997 has a held vendor leg (status held), one
// in 1000 is payout_failed. Vendors are v0 to v399, about 480 payments each, and one big vendor,
// vbig, has one payment in 25 (8,000): too many to read whole and too few to meet on a walk of
// everyone's newest.
func loadPayments(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	paymentsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for _, q := range []string{
			`INSERT INTO clients (id, name, default_currency) SELECT 'c'||i, 'Client '||i, 'usd' FROM generate_series(1, 40) i
				ON CONFLICT DO NOTHING`,
			`INSERT INTO payments (workflow_id, provider, payment_id, charge_id, client_id, order_id, vendor_id, currency, gross,
				refunded, rule_version, status, state, captured_at, created_at, updated_at, status_since)
			SELECT 'payment-pi_'||g, 'stripe', 'pi_'||g, 'ch_'||g, 'c'||(g%40+1), 'o'||g, v, 'usd', 10000, 0, 1,
				CASE WHEN g%1000 = 0 THEN 'payout_failed' WHEN g%997 = 0 THEN 'held' ELSE 'paid' END,
				jsonb_build_object('workflow_id', 'payment-pi_'||g, 'provider', 'stripe', 'payment_id', 'pi_'||g, 'currency', 'usd',
					'gross', 10000, 'status', 'paid', 'refunded', 0,
					'order', jsonb_build_object('client_id', 'c'||(g%40+1), 'order_id', 'o'||g, 'vendor_id', v,
						'platform', 'shopify', 'subtotal', 9000, 'tax', 500, 'shipping', 500, 'discount', 0),
					'legs', jsonb_build_array(
						jsonb_build_object('party', 'platform', 'payee_id', 'platform', 'amount', 1000, 'refunded', 0,
							'transferred', 0, 'reversed', 0, 'attempt', 0, 'state', 'transferred'),
						jsonb_build_object('party', 'vendor', 'payee_id', v, 'destination', 'acct_'||v,
							'amount', 8500, 'refunded', 0, 'transferred', 8500, 'reversed', 0, 'transfer_id', 'tr_'||g,
							'attempt', 1, 'state', CASE WHEN g%997 = 0 THEN 'held' ELSE 'transferred' END),
						jsonb_build_object('party', 'affiliate', 'payee_id', 'a'||(g%50), 'amount', 500, 'refunded', 0,
							'transferred', 500, 'reversed', 0, 'transfer_id', 'tra_'||g, 'attempt', 1, 'state', 'transferred'))),
				ts, ts + interval '2 seconds', ts, ts
			FROM (SELECT g, timestamptz '2025-11-27' + make_interval(secs => g * 157.68) AS ts,
					CASE WHEN g%25 = 3 THEN 'vbig' ELSE 'v'||(g%400) END AS v
				FROM generate_series(1, 200000) g) s`,
			`ANALYZE payments`,
		} {
			if _, err := pool.Exec(ctx, q); err != nil {
				paymentsErr = err
				return
			}
		}
	})
	if paymentsErr != nil {
		t.Fatalf("load payments: %v", paymentsErr)
	}
	return pool
}

// loadLedger stores nEntries journal entries (a capture each: provider, vendor payable, platform
// revenue), one every 30 s. The rows are planted with the triggers bypassed (the plans are what
// is checked, not the chain), so the balances the triggers keep are computed here as the
// migration that introduced them does.
func loadLedger(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	ledgerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		conn, err := pool.Acquire(ctx)
		if err != nil {
			ledgerErr = err
			return
		}
		defer conn.Release()
		for _, q := range []string{
			`SET session_replication_role = replica`,
			`INSERT INTO journal_entries (id, idempotency_key, currency, reference, description, content_hash, created_at, prev_hash, entry_hash)
			SELECT g, 'payment-pi_'||g||'/capture', 'usd', 'payment-pi_'||g, '', md5(g::text),
				timestamptz '2026-08-15' + make_interval(secs => g * 30), md5(g::text), md5(g::text)
			FROM generate_series(1, 300000) g`,
			`INSERT INTO postings (entry_id, account, amount)
			SELECT g, a.account, a.amount FROM generate_series(1, 300000) g,
				LATERAL (VALUES ('provider:stripe', 10000), ('vendor_payable:v'||(g%400), -8500), ('platform:revenue', -1500)) a(account, amount)
			ORDER BY g`,
			`SELECT setval(pg_get_serial_sequence('journal_entries', 'id'), 300000)`,
			`UPDATE ledger_chain_head SET last_entry_id = 300000`,
			`INSERT INTO ledger_balances (account, currency, balance)
			SELECT p.account, e.currency, sum(p.amount) FROM postings p JOIN journal_entries e ON e.id = p.entry_id
			GROUP BY p.account, e.currency`,
			`RESET session_replication_role`,
			`ANALYZE journal_entries`,
			`ANALYZE postings`,
			`ANALYZE ledger_balances`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				ledgerErr = err
				return
			}
		}
	})
	if ledgerErr != nil {
		t.Fatalf("load ledger: %v", ledgerErr)
	}
	return pool
}

// query is one query the code under test sent.
type query struct {
	sql  string
	args []any
}

// recorder is a pgx tracer keeping every query sent through its pool.
type recorder struct {
	mu      sync.Mutex
	queries []query
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, query{sql: d.SQL, args: d.Args})
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// recorded runs call on a pool of pool's database that records what it sends, and returns the
// queries call sent that mention rel (transaction control and the like left out).
func recorded(t *testing.T, pool *pgxpool.Pool, rel string, call func(*pgxpool.Pool) error) []query {
	t.Helper()
	rec := &recorder{}
	cfg := pool.Config()
	cfg.MinConns, cfg.MaxConns = 0, 2
	cfg.ConnConfig.Tracer = rec
	traced, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer traced.Close()
	if err := call(traced); err != nil {
		t.Fatalf("call: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []query
	for _, q := range rec.queries {
		if strings.Contains(q.sql, rel) {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the call sent no query mentioning %s", rel)
	}
	return out
}

// explain runs EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of q and returns the plan.
func explain(t *testing.T, pool *pgxpool.Pool, q query) map[string]any {
	t.Helper()
	var out []byte
	if err := pool.QueryRow(t.Context(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+q.sql, q.args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", q.sql, err)
	}
	var doc []map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("decode plan: %v", err)
	}
	return doc[0]["Plan"].(map[string]any)
}

// readBy explains every query in qs and returns how many rows of rel they read together, and
// their scans of rel.
func readBy(t *testing.T, pool *pgxpool.Pool, qs []query, rel string) (float64, []string) {
	t.Helper()
	var n float64
	var how []string
	for _, q := range qs {
		plan := explain(t, pool, q)
		n += rowsRead(plan, rel)
		how = append(how, scans(plan, rel)...)
	}
	return n, how
}

// rowsRead is how many rows the plan's scans of rel read: those they returned and those their
// filters or rechecks dropped, over all loops (a parallel scan's loops are its workers).
func rowsRead(node map[string]any, rel string) float64 {
	var n float64
	if node["Relation Name"] == rel {
		num := func(k string) float64 { f, _ := node[k].(float64); return f }
		loops := num("Actual Loops")
		n += (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Index Recheck")) * loops
	}
	if kids, ok := node["Plans"].([]any); ok {
		for _, k := range kids {
			n += rowsRead(k.(map[string]any), rel)
		}
	}
	return n
}

// scans lists the node types of the plan's scans of rel.
func scans(node map[string]any, rel string) []string {
	var out []string
	if node["Relation Name"] == rel {
		out = append(out, node["Node Type"].(string)+" "+str(node["Index Name"]))
	}
	if kids, ok := node["Plans"].([]any); ok {
		for _, k := range kids {
			out = append(out, scans(k.(map[string]any), rel)...)
		}
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }
