package activities_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// A split payment saved after its shop's order was stored, on other vendors than that order sells
// from (split on its metadata while the order was being stored: the storefront webhook read the
// payments before this save), is flagged by its save for an admin: one audit entry, however often
// it is saved. A payment split on the order's own vendors, one not split yet, or one whose order
// the shop never delivered is not flagged. Nothing is paid or undone either way.
func TestSavePaymentFlagsASplitOnOtherVendorsThanItsShopsOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, f.st.SaveOrder(ctx, payment.Order{
		ClientID: "shop1", OrderID: "o-two", Platform: "shopify", Subtotal: 900, Currency: "usd",
		Lines: []payment.OrderLine{{VendorID: "v1", Subtotal: 600}, {VendorID: "v2", Subtotal: 300}},
	}, "paid"))
	legs := []payment.Leg{{Party: split.PartyVendor, PayeeID: "v1", Amount: 900, State: payment.LegPending}}
	twoLines := []payment.OrderLine{{VendorID: "v1", Subtotal: 600}, {VendorID: "v2", Subtotal: 300}}
	tests := []struct {
		name  string
		order payment.Order
		legs  []payment.Leg
		want  int
	}{
		{"split on one vendor of a two-vendor order", payment.Order{ClientID: "shop1", OrderID: "o-two", VendorID: "v1", Subtotal: 900}, legs, 1},
		{"split on the order's own vendors", payment.Order{ClientID: "shop1", OrderID: "o-two", Subtotal: 900, Lines: twoLines}, legs, 0},
		// Vendors are compared as sets: a split whose lines come in another order, or name a
		// vendor twice, sells from the same vendors.
		{"split on the order's vendors, lines in another order", payment.Order{ClientID: "shop1", OrderID: "o-two", Subtotal: 900,
			Lines: []payment.OrderLine{{VendorID: "v2", Subtotal: 300}, {VendorID: "v1", Subtotal: 200}, {VendorID: "v1", Subtotal: 400}}}, legs, 0},
		// And without regard to case, as payee IDs match: a plugin's "V1" is the shop's "v1".
		{"split on the order's vendors in another case", payment.Order{ClientID: "shop1", OrderID: "o-two", Subtotal: 900,
			Lines: []payment.OrderLine{{VendorID: "V2", Subtotal: 300}, {VendorID: "v1", Subtotal: 600}}}, legs, 0},
		{"not split yet", payment.Order{ClientID: "shop1", OrderID: "o-two"}, nil, 0},
		{"order never delivered", payment.Order{ClientID: "shop1", OrderID: "o-none", VendorID: "v1", Subtotal: 900}, legs, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("payment-stripe-pi_flag_%d", i)
			rec := payment.Record{WorkflowID: id, Provider: "stripe", PaymentID: id, Currency: "usd", Gross: 900,
				Order: tt.order, Legs: tt.legs, Status: payment.StatusPaid}
			for range 2 { // saved at each milestone
				require.NoError(t, f.a.SavePayment(ctx, activities.SavePaymentInput{Record: rec}))
			}
			entries, err := f.st.ListAudit(ctx, store.AuditFilter{Action: store.ActionOrderDisagrees, Target: "payment:" + id})
			require.NoError(t, err)
			require.Len(t, entries, tt.want)
			if tt.want > 0 {
				require.Equal(t, "storefront:shopify", entries[0].Actor)
				require.JSONEq(t, `{"shop_vendors":["v1","v2"],"order_id":"o-two","disagreement":"v1 / v1,v2"}`, string(entries[0].After))
			}
		})
	}
}
