package paypalsearch

import (
	"testing"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

func TestReadingTransactions(t *testing.T) {
	tx := func(code, status, cur, value string) paypal.SearchTransactionInfo {
		return paypal.SearchTransactionInfo{TransactionID: "T1", TransactionEventCode: code, TransactionStatus: status,
			TransactionAmount: paypal.Money{Currency: cur, Value: value}}
	}
	payments := []struct {
		name string
		t    paypal.SearchTransactionInfo
		want bool
	}{
		{"an Orders API capture", tx("T0006", "S", "USD", "110.00"), true},
		{"refunded in full since", tx("T0006", "V", "USD", "110.00"), true},
		{"pending", tx("T0006", "P", "USD", "110.00"), false},
		{"a payout we sent", tx("T0000", "S", "USD", "-95.45"), false},
		{"a refund", tx("T1107", "S", "USD", "-11.00"), false},
		{"no amount", tx("T0006", "S", "USD", ""), false},
	}
	for _, tt := range payments {
		require.Equal(t, tt.want, IsPayment(tt.t), tt.name)
	}

	for custom, want := range map[string]string{
		"client_id=acme&order_id=o-1": "acme",
		"order_id=o-1":                "",
		"donation for the shop":       "",
		"%zz":                         "",
	} {
		require.Equal(t, want, ClientOf(custom), custom)
	}

	for _, tt := range []struct {
		cur, value string
		want       int64
	}{
		{"USD", "110.00", 11000},
		{"JPY", "4100", 4100},
		{"KWD", "1.234", 1234},
		{"USD", "-11.00", -1100},
	} {
		v, cur, err := Amount(tx("T0006", "S", tt.cur, tt.value))
		require.NoError(t, err)
		require.Equal(t, tt.want, v)
		require.Equal(t, money.Currency(map[string]string{"USD": "usd", "JPY": "jpy", "KWD": "kwd"}[tt.cur]), cur)
	}
	_, _, err := Amount(tx("T0006", "S", "USD", "1.234"))
	require.Error(t, err, "more decimals than the currency has")
}
