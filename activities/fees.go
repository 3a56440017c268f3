package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/money"
)

// processingFee is what the provider kept from the payment, in the payment's currency, so the
// books show what the provider really holds. PayPal says it in the capture event; Stripe keeps
// it on the charge's balance transaction, which is read here. A fee that cannot be had (no
// balance transaction yet, the charge unknown, a fee in the platform's settlement currency
// rather than the payment's) is 0: the payment goes on, and the fee is left to reconciliation
// rather than booked at a converted guess.
func (a *Activities) processingFee(ctx context.Context, in EnrichInput) (int64, error) {
	switch {
	case in.Fee > 0:
		if in.Fee > in.Gross {
			slog.Warn("processing fee not booked: larger than the payment", "payment", in.PaymentID, "fee", in.Fee, "gross", in.Gross)
			return 0, nil
		}
		return in.Fee, nil
	case in.Provider == ProviderStripe && a.Stripe != nil && in.ChargeID != "":
		fee, why, err := stripeRail{a.Stripe}.chargeFee(ctx, in.ChargeID, in.Currency, in.Gross)
		if why != "" {
			slog.Debug("processing fee not booked", "payment", in.PaymentID, "charge", in.ChargeID, "why", why)
		}
		return fee, err
	}
	return 0, nil
}

// chargeFee reads a charge's fee from its balance transaction (one call, expanded). why says why
// no fee is known; err is set only for what a retry may cure (rate limits, Stripe down).
func (r stripeRail) chargeFee(ctx context.Context, chargeID string, cur money.Currency, gross int64) (fee int64, why string, err error) {
	params := &stripe.ChargeParams{Params: stripe.Params{Context: ctx}}
	params.AddExpand("balance_transaction")
	ch, err := r.api.Charges.Get(chargeID, params)
	if err != nil {
		// Refused for good (an unknown charge, a key without read access): the payment goes on
		// without its fee rather than wait for an admin.
		err = classifyStripe("retrieve charge "+chargeID, err)
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.NonRetryable() {
			return 0, err.Error(), nil
		}
		return 0, "", err
	}
	bt := ch.BalanceTransaction
	switch {
	case bt == nil:
		return 0, "the charge has no balance transaction yet", nil
	case !strings.EqualFold(string(bt.Currency), string(cur)):
		return 0, fmt.Sprintf("fee in %s, the payment in %s", bt.Currency, cur), nil
	case bt.Fee < 0 || bt.Fee > gross:
		return 0, fmt.Sprintf("fee %d outside 0..%d", bt.Fee, gross), nil
	}
	return bt.Fee, "", nil
}
