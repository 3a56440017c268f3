package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/money"
	"paysplit/internal/paypalauth"
)

// processingFee is what the provider kept from the payment, in the payment's currency, so the
// books show what the provider really holds. PayPal says it in the capture event; Stripe keeps
// it on the charge's balance transaction, which is read here. A fee that cannot be had (no
// balance transaction yet, the charge unknown, a fee in the platform's settlement currency
// rather than the payment's) is 0: the payment goes on, and the fee is left to reconciliation
// rather than booked at a converted guess. capturedAt is, for Stripe, when the same balance
// transaction says the payment counts (stripeCapturedAt); zero when the event's time stands.
func (a *Activities) processingFee(ctx context.Context, in EnrichInput) (fee int64, capturedAt time.Time, err error) {
	switch {
	case in.Fee > 0:
		if in.Fee > in.Gross {
			slog.Warn("processing fee not booked: larger than the payment", "payment", in.PaymentID, "fee", in.Fee, "gross", in.Gross)
			return 0, time.Time{}, nil
		}
		return in.Fee, time.Time{}, nil
	case in.Provider == ProviderStripe && a.Stripe != nil && in.ChargeID != "":
		var ch *stripe.Charge
		var why string
		ch, why, err = stripeRail{api: a.Stripe}.charge(ctx, in.ChargeID)
		if ch != nil {
			fee, why = balanceFee(ch, in.Currency, in.Gross, in.StripeUnits)
			capturedAt = stripeCapturedAt(ch, in.IntentCreated, in.EventAt)
		}
		if why != "" {
			slog.Debug("processing fee not booked", "payment", in.PaymentID, "charge", in.ChargeID, "why", why)
		}
		return fee, capturedAt, err
	}
	return 0, time.Time{}, nil
}

// stripeCapturedAt is when a Stripe payment counts as captured, if not at its
// payment_intent.succeeded event (eventAt): when Stripe created its charge's balance
// transaction, which Stripe's own lists count it by (internal/kpi/stripekpi). For a card that is
// the capture, the event's second or just before. For a bank debit (ACH, SEPA, BECS...) it is,
// since Stripe's 2024 change for debit payment methods, when Stripe submitted the debit to the
// bank, days before the payment succeeded: counted on the event's day, the payment was on
// another day in our payments than from Stripe, and a range whose days come from both counted it
// twice or not at all (api/server TestStripeDebitPaymentSameDayHotAndCold).
//
// The time is believed only within what the payment itself says: not before its PaymentIntent
// was made (intentCreated, from the event) nor its charge, and before the event. Anything else
// (no balance transaction yet, a bound unknown, a time out of them, as stripe-mock's fixed 2009
// fixtures) is zero: the event's time stands.
func stripeCapturedAt(ch *stripe.Charge, intentCreated, eventAt time.Time) time.Time {
	if ch == nil || ch.BalanceTransaction == nil || ch.BalanceTransaction.Created <= 0 || intentCreated.IsZero() || eventAt.IsZero() {
		return time.Time{}
	}
	at := time.Unix(ch.BalanceTransaction.Created, 0).UTC()
	if at.Before(intentCreated) || at.Before(time.Unix(ch.Created, 0)) || !at.Before(eventAt) {
		return time.Time{}
	}
	return at
}

// charge reads a charge with its balance transaction expanded. A charge Stripe refuses to show
// for good (unknown, a key without read access) comes back nil with the reason; err is set only
// for what a retry may cure.
func (r stripeRail) charge(ctx context.Context, chargeID string) (*stripe.Charge, string, error) {
	params := &stripe.ChargeParams{Params: stripe.Params{Context: ctx}}
	params.AddExpand("balance_transaction")
	ch, err := r.api.Charges.Get(chargeID, params)
	if err != nil {
		why, err := refusal(classifyStripe("retrieve charge "+chargeID, err))
		return nil, why, err
	}
	return ch, "", nil
}

// balanceFee is the fee on a charge's balance transaction in ISO units (in Stripe's own for a
// payment that counts in them, see EnrichInput.StripeUnits), if it can be booked against the
// payment; why says why not.
func balanceFee(ch *stripe.Charge, cur money.Currency, gross int64, stripeUnits bool) (int64, string) {
	bt := ch.BalanceTransaction
	if bt == nil {
		return 0, "the charge has no balance transaction yet"
	}
	fee := bt.Fee
	if !stripeUnits {
		var err error
		if fee, err = money.FromStripe(bt.Fee, money.Currency(bt.Currency)); err != nil {
			return 0, "fee of " + bt.ID + ": " + err.Error()
		}
	}
	if why := money.FeeProblem(fee, string(bt.Currency), cur, gross); why != "" {
		return 0, why
	}
	return fee, ""
}

// capture reads a capture (Payments API v2). One PayPal refuses to show for good comes back nil
// with the reason; err is set only for what a retry may cure, and for a 401 (readRefused).
func (r paypalRail) capture(ctx context.Context, captureID string) (*paypal.CaptureDetailsResponse, string, error) {
	var c *paypal.CaptureDetailsResponse
	err := r.withToken(ctx, func(bool) (err error) {
		c, err = r.c.CapturedDetail(ctx, captureID)
		return err
	})
	if err != nil {
		why, err := refusal(readRefused("get capture "+captureID, err))
		return nil, why, err
	}
	return c, "", nil
}

// refundedOf is what a capture's refunds add up to, as its checkout order lists them (the
// capture's "up" link; PayPal lists refunds by no capture anywhere else): the COMPLETED ones, in
// the payment's currency. Only the refunds are read of the order; its payer is not kept. why says
// why it cannot be told (no order link, a refund in another currency or unreadable), err is set
// only for what a retry may cure.
func (r paypalRail) refundedOf(ctx context.Context, c *paypal.CaptureDetailsResponse, cur money.Currency) (refunded int64, why string, err error) {
	var orderPath string
	for _, l := range c.Links {
		if u, err := url.Parse(l.Href); err == nil && l.Rel == "up" && strings.HasPrefix(u.Path, "/v2/checkout/orders/") {
			orderPath = u.Path // asked of the configured API, whatever host the link names
		}
	}
	if orderPath == "" {
		return 0, "capture " + c.ID + " links no checkout order", nil
	}
	var order struct {
		PurchaseUnits []struct {
			Payments struct {
				Captures []struct {
					ID string `json:"id"`
				} `json:"captures"`
				Refunds []struct {
					ID     string        `json:"id"`
					Status string        `json:"status"`
					Amount *paypal.Money `json:"amount"`
					Links  []paypal.Link `json:"links"`
				} `json:"refunds"`
			} `json:"payments"`
		} `json:"purchase_units"`
	}
	if why, err := r.get(ctx, orderPath, "order "+path.Base(orderPath), &order); why != "" || err != nil {
		return 0, why, err
	}
	for _, u := range order.PurchaseUnits {
		only := len(u.Payments.Captures) == 1 && u.Payments.Captures[0].ID == c.ID
		for _, f := range u.Payments.Refunds {
			of := only
			for _, l := range f.Links {
				if l.Rel == "up" {
					of = strings.HasSuffix(l.Href, "/captures/"+c.ID)
				}
			}
			if !of || f.Status != "COMPLETED" {
				continue
			}
			if f.Amount == nil || !strings.EqualFold(f.Amount.Currency, string(cur)) {
				return 0, "refund " + f.ID + " is not in " + string(cur), nil
			}
			v, err := money.ParseAmount(f.Amount.Value, cur)
			if err != nil {
				return 0, fmt.Sprintf("refund %s: amount %q unreadable", f.ID, f.Amount.Value), nil
			}
			refunded += v
		}
	}
	return refunded, "", nil
}

// feeLessReturns is what PayPal kept of a capture (its seller_receivable_breakdown) less what it
// gave back with the given refunds (each one's seller_payable_breakdown), all in the payment's
// currency. why and err as chargeFee's.
func (r paypalRail) feeLessReturns(ctx context.Context, c *paypal.CaptureDetailsResponse, refunds []string, cur money.Currency, gross int64) (fee int64, why string, err error) {
	if c.SellerReceivableBreakdown == nil || c.SellerReceivableBreakdown.PaypalFee == nil {
		return 0, "the capture states no fee", nil
	}
	fee, why = paypalMoney(c.SellerReceivableBreakdown.PaypalFee, cur, gross)
	if why != "" {
		return 0, "capture " + c.ID + ": " + why, nil
	}
	for _, id := range refunds {
		var refund struct {
			Breakdown struct {
				Fee *paypal.Money `json:"paypal_fee"`
			} `json:"seller_payable_breakdown"`
		}
		if why, err := r.get(ctx, "/v2/payments/refunds/"+id, "refund "+id, &refund); why != "" || err != nil {
			return 0, why, err
		}
		if refund.Breakdown.Fee == nil {
			continue // nothing of the fee came back with this one
		}
		back, why := paypalMoney(refund.Breakdown.Fee, cur, fee)
		if why != "" {
			return 0, "refund " + id + ": " + why, nil
		}
		fee -= back
	}
	return fee, "", nil
}

// get reads the PayPal resource at a path of the configured API into out; what names it in
// errors. why says why PayPal refuses it for good; err is set only for what a retry may cure.
func (r paypalRail) get(ctx context.Context, resource, what string, out any) (why string, err error) {
	req, err := r.c.NewRequest(ctx, http.MethodGet, r.c.APIBase+resource, nil)
	if err != nil {
		return "", err
	}
	if err := paypalauth.SendWithAuth(ctx, r.c, req, out); err != nil {
		return refusal(readRefused("get "+what, err))
	}
	return "", nil
}

// paypalMoney reads a PayPal fee in the payment's currency, at most max.
func paypalMoney(m *paypal.Money, cur money.Currency, max int64) (int64, string) {
	v, err := money.ParseAmount(m.Value, cur)
	if err != nil {
		return 0, fmt.Sprintf("fee %q unreadable: %v", m.Value, err)
	}
	return v, money.FeeProblem(v, m.Currency, cur, max)
}

// refusal splits a classified provider error: a refusal for good (non-retryable) becomes the
// reason no fee is known; anything else stays an error for the retry policy.
func refusal(err error) (why string, retry error) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return err.Error(), nil
	}
	return "", err
}
