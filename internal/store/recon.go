package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/ledger"
	"paysplit/internal/recon"
)

// LedgerReferences lists the payments (journal references starting with prefix) that have journal
// entries created in [from, to).
func (s *Store) LedgerReferences(ctx context.Context, prefix string, from, to time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT reference FROM journal_entries
		WHERE created_at >= $1 AND created_at < $2 AND starts_with(reference, $3) ORDER BY 1`, from, to, prefix)
	if err != nil {
		return nil, fmt.Errorf("ledger references: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// LedgerPayouts sums, per payment and payee, what the journal says was sent to the payee net of
// what was taken back: the payable postings of the entries that book transfers, reversals,
// compensations and correction top-ups (recon.PayoutEntry says which).
func (s *Store) LedgerPayouts(ctx context.Context, refs []string) (map[recon.Key]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT e.idempotency_key, e.currency, p.account, p.amount
		FROM journal_entries e JOIN postings p ON p.entry_id = e.id
		WHERE e.reference = ANY($1) AND (starts_with(p.account, 'vendor_payable:') OR starts_with(p.account, 'affiliate_payable:'))`, refs)
	if err != nil {
		return nil, fmt.Errorf("ledger payouts: %w", err)
	}
	defer rows.Close()
	out := map[recon.Key]int64{}
	for rows.Next() {
		var key, cur, account string
		var amount int64
		if err := rows.Scan(&key, &cur, &account, &amount); err != nil {
			return nil, fmt.Errorf("scan ledger payout: %w", err)
		}
		payment, payee, ok := recon.PayoutEntry(key)
		if acctPayee, isPayable := recon.PayeeFromAccount(account); !ok || !isPayable || acctPayee != payee {
			continue
		}
		out[recon.Key{Payment: payment, PayeeID: payee, Currency: cur}] += amount
	}
	return out, rows.Err()
}

// LedgerPaymentAmounts is what the books hold of each payment itself, keyed by payment,
// pseudo-payee and currency, in one read: recon.ProcessingFee, the fee booked less fees returned
// (dispute fees, which are not the charge's, left out); recon.Captured, the capture entry's debit
// of the provider's balance; recon.Refunded, what the refund entries (lost disputes among them)
// credited it.
func (s *Store) LedgerPaymentAmounts(ctx context.Context, provider string, refs []string) (map[recon.Key]int64, error) {
	fees, balance := ledger.ProcessingFees(provider), ledger.ProviderBalance(provider)
	rows, err := s.pool.Query(ctx, `SELECT e.reference, e.idempotency_key, e.currency, p.account, p.amount
		FROM journal_entries e JOIN postings p ON p.entry_id = e.id
		WHERE e.reference = ANY($1) AND (
			(p.account = $2 AND NOT e.idempotency_key LIKE '%/fee/dispute/%') OR
			(p.account = $3 AND (e.idempotency_key = e.reference || '/capture' OR starts_with(e.idempotency_key, e.reference || '/refund'))))`,
		refs, fees, balance)
	if err != nil {
		return nil, fmt.Errorf("ledger payment amounts: %w", err)
	}
	defer rows.Close()
	out := map[recon.Key]int64{}
	for rows.Next() {
		var ref, key, cur, account string
		var amount int64
		if err := rows.Scan(&ref, &key, &cur, &account, &amount); err != nil {
			return nil, fmt.Errorf("scan ledger payment amount: %w", err)
		}
		switch {
		case account == fees:
			out[recon.Key{Payment: ref, PayeeID: recon.ProcessingFee, Currency: cur}] += amount
		case key == ref+"/capture":
			out[recon.Key{Payment: ref, PayeeID: recon.Captured, Currency: cur}] += amount
		case recon.RefundEntry(key):
			out[recon.Key{Payment: ref, PayeeID: recon.Refunded, Currency: cur}] -= amount
		}
	}
	return out, rows.Err()
}

// ReconciliationRun is one comparison of the ledger with a provider.
type ReconciliationRun struct {
	ID          int64         `json:"id"`
	Provider    string        `json:"provider"`
	WindowStart time.Time     `json:"window_start"`
	WindowEnd   time.Time     `json:"window_end"`
	WorkflowID  string        `json:"workflow_id"`
	Checked     int           `json:"checked"`
	DriftCount  int           `json:"drift_count"`
	CreatedAt   time.Time     `json:"created_at"`
	Drifts      []recon.Drift `json:"drifts"`
}

// SaveReconciliation records a run and its drift once: a retried activity finds its run saved.
func (s *Store) SaveReconciliation(ctx context.Context, r ReconciliationRun) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO reconciliation_runs (provider, window_start, window_end, workflow_id, checked, drift_count)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, window_start, window_end, workflow_id) DO NOTHING RETURNING id`,
			r.Provider, r.WindowStart, r.WindowEnd, r.WorkflowID, r.Checked, len(r.Drifts)).Scan(&id)
		if err == pgx.ErrNoRows {
			return tx.QueryRow(ctx, `SELECT id FROM reconciliation_runs WHERE provider = $1 AND window_start = $2 AND window_end = $3 AND workflow_id = $4`,
				r.Provider, r.WindowStart, r.WindowEnd, r.WorkflowID).Scan(&id)
		}
		if err != nil {
			return err
		}
		for _, d := range r.Drifts {
			if _, err := tx.Exec(ctx, `INSERT INTO reconciliation_drifts (run_id, payment, payee_id, currency, kind, ledger_amount, provider_amount)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, d.Payment, d.PayeeID, d.Currency, d.Kind, d.LedgerAmount, d.ProviderAmount); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save reconciliation: %w", err)
	}
	return id, nil
}

// ReconciliationFilter narrows ListReconciliations; zero fields match everything. From and To
// bound the reconciled day (the run's window_start): From <= day < To. BeforeID pages backwards:
// only runs with a smaller ID.
type ReconciliationFilter struct {
	Provider string
	From, To time.Time
	BeforeID int64
	Limit    int
}

// ListReconciliations returns the runs f selects with their drift, newest first (by ID: a day
// reconciled again comes before the days after it).
func (s *Store) ListReconciliations(ctx context.Context, f ReconciliationFilter) ([]ReconciliationRun, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = 20
	}
	rows, err := s.pool.Query(ctx, `SELECT id, provider, window_start, window_end, workflow_id, checked, drift_count, created_at
		FROM reconciliation_runs
		WHERE ($1 = '' OR provider = $1) AND ($2::timestamptz IS NULL OR window_start >= $2)
			AND ($3::timestamptz IS NULL OR window_start < $3) AND ($4::bigint = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, f.Provider, timeOrNil(f.From), timeOrNil(f.To), f.BeforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReconciliationRun, error) {
		var r ReconciliationRun
		err := row.Scan(&r.ID, &r.Provider, &r.WindowStart, &r.WindowEnd, &r.WorkflowID, &r.Checked, &r.DriftCount, &r.CreatedAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan reconciliation: %w", err)
	}
	for i := range runs {
		rows, err := s.pool.Query(ctx, `SELECT payment, payee_id, currency, kind, ledger_amount, provider_amount
			FROM reconciliation_drifts WHERE run_id = $1 ORDER BY payment, payee_id`, runs[i].ID)
		if err != nil {
			return nil, fmt.Errorf("reconciliation drifts: %w", err)
		}
		runs[i].Drifts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (recon.Drift, error) {
			var d recon.Drift
			err := row.Scan(&d.Payment, &d.PayeeID, &d.Currency, &d.Kind, &d.LedgerAmount, &d.ProviderAmount)
			return d, err
		})
		if err != nil {
			return nil, fmt.Errorf("scan drift: %w", err)
		}
		if runs[i].Drifts == nil {
			runs[i].Drifts = []recon.Drift{}
		}
	}
	return runs, nil
}
