package activities

import (
	"testing"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

// What a paid payout item's fee books: PayPal's payout_item_fee in the payout's currency, in its
// minor units; the batch header's fees when the item states none (one item a batch); nothing for
// a fee in another currency or one that is not an amount of the payout's currency.
func TestPayoutItemFee(t *testing.T) {
	amount := func(cur, v string) *paypal.AmountPayout { return &paypal.AmountPayout{Currency: cur, Value: v} }
	tests := []struct {
		name      string
		item, hdr *paypal.AmountPayout
		cur       money.Currency
		want      int64
	}{
		{"the item's fee", amount("USD", "0.25"), nil, "usd", 25},
		{"the item's over the batch's", amount("USD", "0.25"), amount("USD", "0.30"), "usd", 25},
		{"the batch's when the item has none", nil, amount("USD", "0.25"), "usd", 25},
		{"no fee stated", nil, nil, "usd", 0},
		{"a fee of nothing", amount("USD", "0.00"), nil, "usd", 0},
		{"whole units", amount("JPY", "30"), nil, "jpy", 30},
		{"three decimals", amount("KWD", "0.125"), nil, "kwd", 125},
		{"another currency", amount("EUR", "0.25"), nil, "usd", 0},
		{"lower-case currency", amount("usd", "0.25"), nil, "usd", 25},
		{"finer than the currency", amount("USD", "0.255"), nil, "usd", 0},
		{"negative", amount("USD", "-0.25"), nil, "usd", 0},
		{"not a number", amount("USD", "0,25"), nil, "usd", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := paypal.PayoutItemResponse{PayoutItemID: "ITEM1", TransactionStatus: "SUCCESS", PayoutItemFee: tt.item}
			batch := &paypal.PayoutResponse{BatchHeader: &paypal.BatchHeader{Fees: tt.hdr}, Items: []paypal.PayoutItemResponse{item}}
			require.Equal(t, tt.want, payoutItemFee(batch, item, tt.cur))
		})
	}
}
