package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/stripe/stripe-go/v76"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

const providerStripeConnect = "stripe_connect"

// connectReleases is how many held payments one Connect event releases at once: each holds a
// Postgres connection while Temporal takes its signal.
const connectReleases = 4

// stripeAccountPattern is a connected account's ID, as payees hold them (store.Payee).
var stripeAccountPattern = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,64}$`)

// stripeConnectWebhook takes the events of the platform's connected accounts, which Stripe sends
// to a Connect endpoint signed with that endpoint's own secret, each naming its account
// (account). When an account can receive transfers again (account.updated with the transfers
// capability active, capability.updated of transfers to active), the payouts held for payees paid
// at it are released as an admin's release would (signalled to the payment's run, audited with
// the event as the actor), and a payment held only by top-ups due held for such a payee is sent
// an admin's retry of its dues. The run checks the payee again before it sends anything: a leg
// or top-up held for another reason, or at an account Stripe still refuses, is held again. Every
// other event is answered 200 ignored.
func (s *Server) stripeConnectWebhook(c echo.Context) error {
	if s.deps.StripeConnectWebhookSecret == "" {
		// Never verified against an empty secret, which anyone can sign with.
		s.count(providerStripeConnect, "unknown", "not_configured")
		return errorf(http.StatusBadRequest, "not_configured", "Stripe Connect webhooks are not configured on this server (STRIPE_CONNECT_WEBHOOK_SECRET)")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "unreadable_body", "could not read the request body")
	}
	sig := c.Request().Header.Get("Stripe-Signature")
	evt, badSignature, err := verifiedStripeEvent(body, sig, s.deps.StripeConnectWebhookSecret)
	if err != nil {
		if !badSignature {
			s.count(providerStripeConnect, "unknown", "invalid")
			return errorf(http.StatusBadRequest, "invalid_event", "signed body is not a Stripe event: "+err.Error())
		}
		s.count(providerStripeConnect, "unknown", "bad_signature")
		return errorf(http.StatusBadRequest, "invalid_signature", "Stripe-Signature verification failed (the Connect endpoint's own signing secret): "+err.Error())
	}
	typ := string(evt.Type)
	account, err := receivingAccount(evt)
	if errors.Is(err, errIgnored) {
		s.count(providerStripeConnect, typ, "ignored")
		return c.JSON(http.StatusOK, map[string]string{"status": "ignored", "type": typ})
	}
	if err == nil && !providerIDPattern.MatchString(evt.ID) {
		// It is recorded in the audit log, which would refuse some text (a NUL character).
		err = fmt.Errorf("event id %.80q is not a Stripe event ID", evt.ID)
	}
	if err != nil {
		s.count(providerStripeConnect, typ, "invalid")
		return errorf(http.StatusBadRequest, "invalid_event", err.Error())
	}
	held, err := s.deps.Store.HeldAtStripeAccount(c.Request().Context(), account)
	if err != nil {
		s.count(providerStripeConnect, typ, "unavailable")
		s.deps.Logger.Error("connect event: held payments not read", "event_id", evt.ID, "type", typ, "account", account, "error", err)
		return errorf(http.StatusServiceUnavailable, "storage_unavailable", "the held payments could not be read; retry later")
	}
	released, retried, skipped, unavailable := s.releaseHeld(c, evt.ID, typ, account, held)
	if unavailable != nil {
		// Stripe delivers the event again; what was released now is not released twice.
		s.count(providerStripeConnect, typ, "unavailable")
		return unavailable
	}
	outcome := "released"
	if len(released) == 0 && len(retried) == 0 {
		outcome = "nothing_released"
	}
	s.count(providerStripeConnect, typ, outcome)
	return c.JSON(http.StatusOK, map[string]any{"status": outcome, "type": typ, "account": account, "released": released, "retried": retried, "skipped": skipped})
}

// receivingAccount is the connected account an event says can now receive transfers;
// errIgnored for any other event (another type, or another capability or status).
func receivingAccount(evt stripe.Event) (string, error) {
	if evt.Type != "account.updated" && evt.Type != "capability.updated" {
		return "", errIgnored
	}
	if evt.Data == nil {
		return "", fmt.Errorf("%s event without data.object", evt.Type)
	}
	var of string
	switch evt.Type {
	case "account.updated":
		var a stripe.Account
		if err := json.Unmarshal(evt.Data.Raw, &a); err != nil {
			return "", fmt.Errorf("account.updated: %w", err)
		}
		if a.Capabilities == nil || a.Capabilities.Transfers != stripe.AccountCapabilityStatusActive {
			return "", errIgnored
		}
		of = a.ID
	case "capability.updated":
		var cp stripe.Capability
		if err := json.Unmarshal(evt.Data.Raw, &cp); err != nil {
			return "", fmt.Errorf("capability.updated: %w", err)
		}
		if cp.ID != "transfers" || cp.Status != stripe.CapabilityStatusActive {
			return "", errIgnored
		}
		if cp.Account != nil {
			of = cp.Account.ID
		}
	}
	// A Connect event names its account at the top (account); the object names it too.
	if evt.Account != "" && of != "" && evt.Account != of {
		return "", fmt.Errorf("%s names account %.80q, its object %.80q", evt.Type, evt.Account, of)
	}
	account := cmp.Or(evt.Account, of)
	if !stripeAccountPattern.MatchString(account) {
		return "", fmt.Errorf("%s names no connected account (acct_...): %.80q", evt.Type, account)
	}
	return account, nil
}

// skippedRelease is a held payment a Connect event did not release, and why.
type skippedRelease struct {
	WorkflowID string `json:"workflow_id"`
	Reason     string `json:"reason"`
}

// errReleasedBefore: the payment's run was sent a release for its state as saved, which it has
// not saved since, or for this event.
var errReleasedBefore = errors.New("released before")

// errRetriedBefore: as errReleasedBefore, for a retry of held top-ups.
var errRetriedBefore = errors.New("retried before")

// releaseHeld releases each held payment as an admin's release would, a few at once. A payment
// is released once per event and once per save of its run (SavedAt, kept as the audit entry's
// idempotency_key; the event's ID as its event_id): an event delivered again never releases it
// twice, and another event about the account sends no other release while the run has not taken
// the first; once the run saved the payment again (held again: the account still cannot
// receive, or the leg is held for another reason) a later event releases it again. unavailable
// is the 503 to answer when a release was not sent (Temporal did not take it, or Postgres could
// not record it); the payments after it are left to Stripe's next
// delivery, so the answer does not wait for Temporal's deadline once per payment.
//
// A payment with no leg held at the account, only top-ups held for payees paid at it, is sent a
// retry of its dues instead (retryOne; retried), under the same once-per-event-and-save rule. A
// payment gets one or the other, never both: one with a leg held at the account is released,
// whatever top-ups it holds (see retryOne).
func (s *Server) releaseHeld(c echo.Context, eventID, typ, account string, held []store.HeldPayment) (released, retried []string, skipped []skippedRelease, unavailable error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, connectReleases)
	released, retried, skipped = []string{}, []string{}, []skippedRelease{}
	for _, h := range held {
		slots <- struct{}{}
		mu.Lock()
		stop := unavailable != nil // Stripe delivers the event again: the rest wait for that
		mu.Unlock()
		if stop {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			act, done := s.releaseOne, &released
			if len(h.Parties) == 0 {
				act, done = s.retryOne, &retried
			}
			err := act(c, eventID, typ, account, h)
			mu.Lock()
			defer mu.Unlock()
			var ae *apiError
			switch {
			case err == nil:
				*done = append(*done, h.Record.WorkflowID)
			case errors.Is(err, errReleasedBefore):
				skipped = append(skipped, skippedRelease{h.Record.WorkflowID, "released_before"})
			case errors.Is(err, errRetriedBefore):
				skipped = append(skipped, skippedRelease{h.Record.WorkflowID, "retried_before"})
			case errors.As(err, &ae) && ae.status == http.StatusConflict:
				skipped = append(skipped, skippedRelease{h.Record.WorkflowID, ae.Code})
			default:
				s.deps.Logger.Error("connect event: release not sent", "event_id", eventID, "type", typ, "account", account,
					"workflow_id", h.Record.WorkflowID, "error", err)
				if !errors.As(err, &ae) { // Postgres: the transaction of the release and its audit entry
					err = errorf(http.StatusServiceUnavailable, "storage_unavailable", "the release or retry could not be recorded; retry later")
				}
				unavailable = cmp.Or(unavailable, err)
			}
		}()
	}
	wg.Wait()
	slices.Sort(released)
	slices.Sort(retried)
	slices.SortFunc(skipped, func(a, b skippedRelease) int { return strings.Compare(a.WorkflowID, b.WorkflowID) })
	return released, retried, skipped, unavailable
}

// releaseOne releases one held payment, checked as the admin API checks a release, and audits it
// with the event as the actor in the same transaction.
func (s *Server) releaseOne(c echo.Context, eventID, typ, account string, h store.HeldPayment) error {
	r := h.Record
	var party split.Party
	if len(h.Parties) == 1 {
		party = h.Parties[0] // both held at the account: release every held leg
	}
	refused := func(r ipayment.Record) error {
		if r.HasDues() && !payoutWaiting(r) {
			return errorf(http.StatusConflict, "invalid_state", "only top-ups or reversals are due")
		}
		return decisionRefused(payment.ActionRelease, r, party)
	}
	if err := refused(r); err != nil {
		return err
	}
	return s.onceForEventAndSave(c, h, typ, eventID, errReleasedBefore, refused, decision{
		action: "payment." + string(payment.ActionRelease),
		// Made on the hold as saved now (Decision, stamped by decideOnSave): a run that asks
		// another decision by the time it reads the release drops it (code path 22).
		signal: &payment.AdminCommand{Action: payment.ActionRelease, Party: party},
		after:  map[string]any{"signal": payment.ActionRelease, "party": party, "account": account},
	})
}

// onceForEventAndSave makes a Connect event's decision d on a held payment (decideOnSave, sent
// as the event's and audited with the event as the actor) once per event and once per save of
// the payment's run: one the audit log already records for the event's ID or for the save (the
// entry's idempotency_key, "stripe-connect/<save>") is before, and nothing is sent; nor is one
// while the payment's last decision waits for the run (decisionPending). The entry
// records the event's ID and the key beside what d.after says.
//
// The payment is read again in the lock, as every decision reads it (decideOnSave): h is as the
// event listed it, and its run may have saved it since (paid it, released from the Temporal UI
// or by its own ask, in the time the event took over the account's other payments). One saved
// since is decided on as saved now: 409 payment_changed when it is no longer held (the event was
// about a hold), else refused by what refused says, as the event would have refused it listed;
// it was sent the decision listed and dropped it, audited as taken.
func (s *Server) onceForEventAndSave(c echo.Context, h store.HeldPayment, typ, eventID string, before error,
	refused func(ipayment.Record) error, d decision) error {
	target := "payment:" + h.Record.WorkflowID
	d.actor = "stripe:" + typ
	d.sender = d.actor + " " + eventID
	d.still = func(_ context.Context, _ *store.Store, r ipayment.Record) error {
		if r.Status != ipayment.StatusHeld {
			return paymentChanged(r)
		}
		return refused(r)
	}
	d.madeBefore = func(ctx context.Context, tx *store.Store, saved string) (map[string]any, error) {
		key := "stripe-connect/" + saved
		done, err := tx.AuditRecordedAny(ctx, d.action, target, map[string]string{"idempotency_key": key, "event_id": eventID})
		if err != nil || done {
			return nil, cmp.Or(err, before)
		}
		return map[string]any{"event_id": eventID, "idempotency_key": key}, nil
	}
	return s.decideOnSave(c, h.Record.WorkflowID, d)
}

// retryOne sends a payment held only by top-ups due held for their payees (Due.Held; one of them
// paid at the account) the admin's retry of its dues, checked as the admin API checks a retry
// (adminAction: a payment whose only outstanding movements are dues gets decideDues' event, one
// whose run waits on a held or failed leg is refused in status held), and audits it with the
// event as the actor in the same transaction, once per event and once per save (as releaseOne).
//
// A payment with a leg held is never sent this retry, whatever top-ups it holds: the admin API
// refuses it, and the release is the leg's way out. Its run waits in awaitReleases, where a retry
// of dues would be taken as an event beside a release: each pays only its own movements (a held
// leg has no dues: a failed refund's give-back and a correction leave a leg not sent yet to its
// transfer), but the admin's rule is kept rather than a second way of sending money to one run.
// Once the release has paid the leg and the payment is held for its top-ups alone (saved since),
// the next event about their account (or this one delivered again: it sent no retry), an admin's
// retry or the automatic retry in the settle window sends them.
func (s *Server) retryOne(c echo.Context, eventID, typ, account string, h store.HeldPayment) error {
	refused := func(r ipayment.Record) error {
		if !r.HasDues() || payoutWaiting(r) {
			return cmp.Or(decisionRefused(payment.ActionRetry, r, ""),
				errorf(http.StatusConflict, "invalid_state", "a leg waits for a decision: release or retry it first"))
		}
		for _, l := range r.Legs {
			if slices.ContainsFunc(l.Dues, func(d ipayment.Due) bool { return d.Kind != ipayment.DueTopUp || !d.Held }) {
				// A refused or in-doubt movement is an admin's to retry (or resolve), not Stripe's.
				return errorf(http.StatusConflict, "invalid_state", "movements due that are not held top-ups: an admin retries them")
			}
		}
		return nil
	}
	if err := refused(h.Record); err != nil {
		return err
	}
	return s.onceForEventAndSave(c, h, typ, eventID, errRetriedBefore, refused,
		decision{action: "payment.retry", event: duesRetry, after: map[string]any{"retry": "dues", "account": account}})
}
