package activities

import (
	"testing"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/assert"

	"paysplit/internal/payment"
)

// What reconciliation counts as PayPal's return of a capture's reversed funds, from Transaction
// Search's transaction_info: completed credits of T1202, T1208, and T1111 beyond the capture's
// T1110 holds, in the payment's currency, each transaction once however often it is listed, under
// the capture it names only, and never more than the books gave back.
func TestPayPalReturnsOf(t *testing.T) {
	tx := func(id, code, status, cur, value, ref string) paypal.SearchTransactionInfo {
		return paypal.SearchTransactionInfo{TransactionID: id, TransactionEventCode: code, TransactionStatus: status,
			TransactionAmount: paypal.Money{Currency: cur, Value: value}, PayPalReferenceID: ref}
	}
	rec := func(capture string, revs ...payment.Reversal) payment.Record {
		return payment.Record{ChargeID: capture, Currency: "usd", Reversals: revs}
	}
	won := func(took, beyond int64) payment.Reversal {
		return payment.Reversal{Took: took, Beyond: beyond, Reinstated: true}
	}
	lost := func(took int64) payment.Reversal { return payment.Reversal{Took: took} }
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	at := func(x paypal.SearchTransactionInfo, minutes int) paypal.SearchTransactionInfo {
		x.TransactionInitiationDate = paypal.JSONTime(day.Add(time.Duration(minutes) * time.Minute))
		return x
	}
	tests := []struct {
		name string
		txs  []paypal.SearchTransactionInfo
		rec  payment.Record
		want int64
	}{
		{"a chargeback reversal", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 11000},
		{"a chargeback cancellation", []paypal.SearchTransactionInfo{tx("B1", "T1208", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 11000},
		{"listed twice (a search cut in halves)", []paypal.SearchTransactionInfo{
			tx("B1", "T1202", "S", "USD", "60.00", "C1"), tx("B1", "T1202", "S", "USD", "60.00", "C1")}, rec("C1", won(11000, 0)), 6000},
		{"pending", []paypal.SearchTransactionInfo{tx("B1", "T1202", "P", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 0},
		{"another currency", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "EUR", "110.00", "C1")}, rec("C1", won(11000, 0)), 0},
		{"another capture's", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "110.00", "C2")}, rec("C1", won(11000, 0)), 0},
		{"a debit of a credit's code", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "-110.00", "C1")}, rec("C1", won(11000, 0)), 0},
		{"unreadable", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "110.001", "C1")}, rec("C1", won(11000, 0)), 0},
		{"a refund", []paypal.SearchTransactionInfo{tx("B1", "T1107", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 0},
		{"the books gave nothing back", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "110.00", "C1")}, rec("C1", lost(11000)), 0},
		{"capped at what the books gave back, Beyond included", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "USD", "110.00", "C1")},
			rec("C1", won(5000, 1000), lost(5000)), 6000},
		{"a hold cancelled returns nothing", []paypal.SearchTransactionInfo{
			tx("H1", "T1110", "S", "USD", "-110.00", "C1"), tx("H1X", "T1111", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 0},
		{"a hold cancelled beyond the holds listed", []paypal.SearchTransactionInfo{tx("H1X", "T1111", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 11000},
		// Two disputes: the lost one's hold was released before its chargeback; the won one's
		// reversal PayPal never returned. Nothing came back.
		{"another dispute's hold released", []paypal.SearchTransactionInfo{
			tx("H1", "T1110", "S", "USD", "-50.00", "C1"), tx("H1X", "T1111", "S", "USD", "50.00", "C1")}, rec("C1", lost(5000), won(6000, 0)), 0},
		{"a hold of another capture's", []paypal.SearchTransactionInfo{
			tx("H1", "T1110", "S", "USD", "-110.00", "C2"), tx("H1X", "T1111", "S", "USD", "110.00", "C1")}, rec("C1", won(11000, 0)), 11000},
		{"a yen chargeback reversal", []paypal.SearchTransactionInfo{tx("B1", "T1202", "S", "JPY", "1100", "C1")},
			payment.Record{ChargeID: "C1", Currency: "jpy", Reversals: []payment.Reversal{won(1100, 0)}}, 1100},
		// PayPal returned the chargeback, then took it again (a second chargeback whose webhook
		// never came): nothing is returned any more, whatever the books say.
		{"returned, then taken again", []paypal.SearchTransactionInfo{
			at(tx("R1", "T1106", "S", "USD", "-110.00", "C1"), 0), at(tx("B1", "T1202", "S", "USD", "110.00", "C1"), 1),
			at(tx("R2", "T1201", "S", "USD", "-110.00", "C1"), 2)}, rec("C1", won(11000, 0)), 0},
		// The trail of a lost dispute (hold, its release, the reversal) then won on appeal: the
		// reversal before the chargeback reversal takes nothing back.
		{"hold released, reversed, then returned", []paypal.SearchTransactionInfo{
			at(tx("H1", "T1110", "S", "USD", "-110.00", "C1"), 0), at(tx("H1X", "T1111", "S", "USD", "110.00", "C1"), 1),
			at(tx("R1", "T1106", "S", "USD", "-110.00", "C1"), 2), at(tx("B1", "T1202", "S", "USD", "110.00", "C1"), 3)}, rec("C1", won(11000, 0)), 11000},
		// Two disputes: the first's chargeback returned, the second's (known to the books, lost)
		// took what was left, not what was returned.
		{"returned, then another chargeback the books keep", []paypal.SearchTransactionInfo{
			at(tx("R1", "T1201", "S", "USD", "-50.00", "C1"), 0), at(tx("B1", "T1202", "S", "USD", "50.00", "C1"), 1),
			at(tx("R2", "T1201", "S", "USD", "-60.00", "C1"), 2)}, rec("C1", won(5000, 0), lost(6000)), 5000},
		// Two disputes both won and returned, one after the other.
		{"two returned in turn", []paypal.SearchTransactionInfo{
			at(tx("R1", "T1201", "S", "USD", "-50.00", "C1"), 0), at(tx("B1", "T1202", "S", "USD", "50.00", "C1"), 1),
			at(tx("R2", "T1201", "S", "USD", "-60.00", "C1"), 2), at(tx("B2", "T1202", "S", "USD", "60.00", "C1"), 3)},
			rec("C1", won(5000, 0), won(6000, 0)), 11000},
		{"taken, then returned", []paypal.SearchTransactionInfo{
			at(tx("R1", "T1201", "S", "USD", "-110.00", "C1"), 0), at(tx("B1", "T1202", "S", "USD", "110.00", "C1"), 1)}, rec("C1", won(11000, 0)), 11000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paypalReturns{}
			for _, x := range tt.txs {
				p.add(x)
			}
			assert.Equal(t, tt.want, p.of(tt.rec))
		})
	}
}
