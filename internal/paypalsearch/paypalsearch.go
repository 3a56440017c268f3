// Package paypalsearch lists a PayPal account's transactions with the Transaction Search API
// (GET /v1/reporting/transactions) through the plutov/paypal client, and reads what the platform
// needs of them: whether one is a payment received, and which client's order it was for. KPIs
// (revenue of older days) and reconciliation (captures the books never heard of) both search.
package paypalsearch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"

	"paysplit/internal/money"
	"paysplit/internal/paypalauth"
)

const (
	// MaxSpan is the widest date range one search may cover (PayPal refuses more than 31 days).
	MaxSpan = 31 * 24 * time.Hour
	// pageSize is the API's maximum.
	pageSize = 500
	// minSpan is where halving a window that matches too many transactions stops.
	minSpan = time.Hour
	// tooLarge is PayPal's answer to a search matching more than it lists (10,000 transactions).
	tooLarge = "RESULTSET_TOO_LARGE"
)

// Each calls each for every balance-affecting transaction from start to end (at most MaxSpan;
// both inclusive, as PayPal's are), in cur when it is set, page by page. A window PayPal finds too
// large is searched again as two halves, so a transaction on the cut is listed twice: callers
// that count deduplicate by transaction ID and event code. Errors keep PayPal's
// *paypal.ErrorResponse for errors.As.
func Each(ctx context.Context, c *paypal.Client, cur money.Currency, start, end time.Time, each func(paypal.SearchTransactionInfo) error) error {
	for page := 1; ; page++ {
		req := &paypal.TransactionSearchRequest{
			StartDate: start, EndDate: end,
			Fields: ptr("transaction_info"), BalanceAffectingRecordsOnly: ptr("Y"),
			PageSize: ptr(pageSize), Page: ptr(page),
		}
		if cur != "" {
			req.TransactionCurrency = ptr(cur.Upper())
		}
		var res *paypal.TransactionSearchResponse
		err := paypalauth.Do(ctx, c, func(bool) (err error) {
			res, err = c.ListTransactions(ctx, req)
			return err
		})
		var pe *paypal.ErrorResponse
		if errors.As(err, &pe) && pe.Name == tooLarge && end.Sub(start) > minSpan {
			mid := start.Add(end.Sub(start) / 2).Truncate(time.Second)
			if err := Each(ctx, c, cur, start, mid, each); err != nil {
				return err
			}
			return Each(ctx, c, cur, mid, end, each)
		}
		if err != nil {
			return fmt.Errorf("paypal: list transactions %s..%s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
		}
		for _, d := range res.TransactionDetails {
			if err := each(d.TransactionInfo); err != nil {
				return err
			}
		}
		if page >= res.TotalPages || len(res.TransactionDetails) == 0 {
			return nil
		}
	}
}

// IsPayment says whether a transaction is a payment received and completed: a T00nn
// (account-to-account payment, T0006 for Orders API captures) with a positive amount, either
// still standing (S) or since refunded in full (V, the refund is its own transaction). Pending
// and denied payments are not sales; payments we sent (payouts) have negative amounts.
func IsPayment(t paypal.SearchTransactionInfo) bool {
	return strings.HasPrefix(t.TransactionEventCode, "T00") && (t.TransactionStatus == "S" || t.TransactionStatus == "V") &&
		t.TransactionAmount.Value != "" && !strings.HasPrefix(t.TransactionAmount.Value, "-")
}

// ClientOf reads client_id from the URL-encoded custom_id the store plugins send (reported as
// custom_field); anything else in the field (another integration's text) names no client. A
// field not all a valid query string names the client its valid pairs do, as the webhook reads
// the capture's custom_id, so a capture counts for the same client from either. A client_id
// given twice differently is both (Value): no client's, as the webhook's payment is filed under
// none, yet still the platform's for reconciliation.
func ClientOf(custom string) string {
	v, _ := url.ParseQuery(custom) // the valid pairs, whatever the error on the others
	return Value(v, "client_id")
}

// Value is key's value in a custom_id's pairs: the value given, or every distinct value given,
// comma-separated, when the key is given more than once differently. No order key can be read as
// that, so an ambiguous one parks the payment naming them, where taking the first (url.Values.Get)
// split or paid on a guess what the checkout sent twice.
func Value(v url.Values, key string) string {
	var distinct []string
	for _, s := range v[key] {
		if !slices.Contains(distinct, s) {
			distinct = append(distinct, s)
		}
	}
	return strings.Join(distinct, ",")
}

// Amount is a transaction's amount in minor units of its own currency.
func Amount(t paypal.SearchTransactionInfo) (int64, money.Currency, error) {
	cur := money.Currency(strings.ToLower(t.TransactionAmount.Currency))
	v, err := money.ParseAmount(t.TransactionAmount.Value, cur)
	if err != nil {
		return 0, cur, fmt.Errorf("paypal: transaction %s: %w", t.TransactionID, err)
	}
	return v, cur, nil
}

func ptr[T any](v T) *T { return &v }
