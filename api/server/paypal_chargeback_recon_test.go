package server_test

import (
	"cmp"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/testenv"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// A PayPal chargeback the seller wins (RESOLVED_SELLER_FAVOUR) or the buyer cancels
// (CANCELED_BY_BUYER), through the webhook, then reconciled with PayPal as it may answer after
// it. The books give the reversal back; PayPal's capture may be COMPLETED again or stay REVERSED
// (PayPal documents neither: REST has no event for a reversal undone), and the funds it returns
// show in Transaction Search as a credit that names the capture (paypal_reference_id): T1202,
// chargeback reversal, or T1111, cancellation of the hold for the dispute. A capture left
// REVERSED with such a credit is no drift (it was reported as all refunded against the books'
// nothing); one with no credit (or another kind of credit, or one naming another capture),
// where the books gave the reversal back all the same, is, as is the part not returned. A lost
// chargeback's capture keeps all of it refunded whatever hold PayPal released before it.
func TestPayPalReconciliationOfAChargebackGivenBack(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("ppcbrec", "VENDORCBREC01")
	tests := []struct {
		name, capture, outcome string
		status                 string // the capture's status PayPal shows after it
		// PayPal's credit returning the funds: its event code (none if empty), value and the
		// capture it names (this one's if empty)
		credit, value, names string
		// PayPal's hold for the dispute (T1110, its value negative), none if empty
		hold string
		// a chargeback (T1201) PayPal took after the credit, its webhook lost, none if empty
		again string
		want  map[string][]stackpkg.Drift
	}{
		{"won, capture completed again", "CAPCBW1", "RESOLVED_SELLER_FAVOUR", "COMPLETED", "", "", "", "", "", map[string][]stackpkg.Drift{}},
		{"won, capture still reversed, chargeback reversal credited", "CAPCBW2", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1202", "110.00", "", "", "", map[string][]stackpkg.Drift{}},
		{"cancelled, capture still reversed, hold cancelled", "CAPCBC1", "CANCELED_BY_BUYER", "REVERSED", "T1111", "110.00", "", "", "", map[string][]stackpkg.Drift{}},
		{"cancelled, capture completed again", "CAPCBC2", "CANCELED_BY_BUYER", "COMPLETED", "", "", "", "", "", map[string][]stackpkg.Drift{}},
		// Given back in the books, not returned by PayPal: drift, as before.
		{"won, capture still reversed, nothing returned", "CAPCBW3", "RESOLVED_SELLER_FAVOUR", "REVERSED", "", "", "", "", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW3"), "(refunded)", 0, 11000)},
		}},
		{"cancelled, capture still reversed, nothing returned", "CAPCBC3", "CANCELED_BY_BUYER", "REVERSED", "", "", "", "", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBC3"), "(refunded)", 0, 11000)},
		}},
		{"won, capture still reversed, a refund credited, not a return", "CAPCBW4", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1107", "110.00", "", "", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW4"), "(refunded)", 0, 11000)},
		}},
		{"won, capture still reversed, another capture's chargeback reversed", "CAPCBW5", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1202", "110.00", "CAPCBOTHER", "", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW5"), "(refunded)", 0, 11000)},
		}},
		// Lost: the books keep the reversal, and a hold PayPal released before taking the
		// chargeback (T1110, T1111, then the reversal) returns nothing of it.
		{"lost, capture reversed, an earlier hold released", "CAPCBL1", "RESOLVED_BUYER_FAVOUR", "REVERSED", "T1111", "110.00", "", "", "", map[string][]stackpkg.Drift{}},
		// Won in the books, yet PayPal released its hold only to take the chargeback (its trail
		// is a lost one's): the hold's release returns nothing of the reversal.
		{"won, hold released then reversed, nothing returned", "CAPCBW7", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1111", "110.00", "", "-110.00", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW7"), "(refunded)", 0, 11000)},
		}},
		// A chargeback the buyer cancels shows as its cancellation (T1208), crediting it back.
		{"cancelled, capture still reversed, chargeback cancellation credited", "CAPCBC4", "CANCELED_BY_BUYER", "REVERSED", "T1208", "110.00", "", "", "", map[string][]stackpkg.Drift{}},
		// Won and returned, then charged back again with no webhook: PayPal took it all again.
		{"won and returned, then charged back again unheard of", "CAPCBW8", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1202", "110.00", "", "", "-110.00", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW8"), "(refunded)", 0, 11000)},
		}},
		{"won, capture still reversed, part returned", "CAPCBW6", "RESOLVED_SELLER_FAVOUR", "REVERSED", "T1202", "80.00", "", "", "", map[string][]stackpkg.Drift{
			"amount_differs": {drift(payment.WorkflowID("paypal", "CAPCBW6"), "(refunded)", 0, 3000)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := paypalCapture("ppcbrec", tt.capture)
			code, out := s.paypalWebhook(body, s.paypal.Sign(body))
			require.Equal(t, http.StatusOK, code, out)
			id := payment.WorkflowID("paypal", tt.capture)
			s.result(id)
			now := time.Now()
			for _, b := range [][]byte{
				paypalevent.Dispute{EventID: "WH-CBO-" + tt.capture, Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-" + tt.capture, CaptureID: tt.capture,
					Currency: "usd", Amount: 11000, Created: now}.Body(),
				paypalevent.Reversal{EventID: "WH-CBR-" + tt.capture, ReversalID: "REV-" + tt.capture, CaptureID: tt.capture,
					Currency: "usd", Amount: 11000, Created: now}.Body(),
				paypalevent.Dispute{EventID: "WH-CBX-" + tt.capture, Type: "CUSTOMER.DISPUTE.RESOLVED", DisputeID: "PP-D-" + tt.capture, CaptureID: tt.capture,
					Currency: "usd", Amount: 11000, Outcome: tt.outcome, Created: now.Add(time.Minute)}.Body(),
			} {
				code, out := s.paypalWebhook(b, s.paypal.Sign(b))
				require.Equal(t, http.StatusOK, code, out)
				s.result(id)
			}
			rec := s.result(id)
			if tt.outcome == "RESOLVED_BUYER_FAVOUR" {
				require.EqualValues(t, 11000, rec.Refunded, "the books keep a lost chargeback")
			} else {
				require.Equal(t, ipayment.StatusPaid, rec.Status, "the books gave the chargeback back")
				require.Zero(t, rec.Refunded)
			}

			s.paypal.AddCapture(testenv.PayPalCapture{ID: tt.capture, Currency: "USD", Amount: "110.00", Fee: "4.33", Status: tt.status, Order: "ORDER-" + tt.capture})
			s.paypal.AddTransactions(
				testenv.PayPalTransaction{ID: tt.capture, EventCode: "T0006", Status: "S", Currency: "USD", Value: "110.00",
					CustomField: "client_id=ppcbrec&order_id=order-" + tt.capture, At: now},
				testenv.PayPalTransaction{ID: "REV-" + tt.capture, EventCode: "T1106", Status: "S", Currency: "USD", Value: "-110.00",
					ReferenceID: tt.capture, At: now})
			if tt.hold != "" {
				s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "HOLD-" + tt.capture, EventCode: "T1110", Status: "S", Currency: "USD", Value: tt.hold,
					ReferenceID: tt.capture, At: now.Add(-time.Minute)})
			}
			if tt.credit != "" {
				s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "BACK-" + tt.capture, EventCode: tt.credit, Status: "S", Currency: "USD", Value: tt.value,
					ReferenceID: cmp.Or(tt.names, tt.capture), At: now.Add(time.Minute)})
			}
			if tt.again != "" {
				s.paypal.AddTransactions(testenv.PayPalTransaction{ID: "AGAIN-" + tt.capture, EventCode: "T1201", Status: "S", Currency: "USD", Value: tt.again,
					ReferenceID: tt.capture, At: now.Add(2 * time.Minute)})
			}
			mine := func(p, _ string) bool { return strings.HasSuffix(p, tt.capture) }
			require.Equal(t, tt.want, s.Reconcile("paypal", mine))
		})
	}
}
