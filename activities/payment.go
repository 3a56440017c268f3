package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"paysplit/internal/ledger"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
)

// LoadPaymentInput names a payment by its workflow ID.
type LoadPaymentInput struct {
	WorkflowID string
}

// LoadPaymentOutput is the stored state, if any.
type LoadPaymentOutput struct {
	Found  bool
	Record payment.Record
	// Behind lists what the last closed run did that the store had lost, when Record is that
	// run's result rather than the stored record (see againstLastRun).
	Behind []string `json:",omitempty"`
}

// LoadPayment reads a payment's stored state so a follow-up run resumes where the last one ended.
// It is checked against the last closed run (againstLastRun).
func (a *Activities) LoadPayment(ctx context.Context, in LoadPaymentInput) (LoadPaymentOutput, error) {
	loaded, savedAt, err := a.loadStored(ctx, in.WorkflowID)
	if err != nil {
		return loaded, err
	}
	return a.againstLastRun(ctx, in.WorkflowID, loaded, savedAt)
}

// loadStored reads the stored record and when it was saved (its row's updated_at).
func (a *Activities) loadStored(ctx context.Context, workflowID string) (LoadPaymentOutput, time.Time, error) {
	r, savedAt, err := a.Store.GetPaymentSaved(ctx, workflowID)
	if errors.Is(err, store.ErrNotFound) {
		return LoadPaymentOutput{}, time.Time{}, nil
	}
	if err != nil {
		return LoadPaymentOutput{}, time.Time{}, err
	}
	return LoadPaymentOutput{Found: true, Record: r}, savedAt, nil
}

// PrepareInput names a payment and, when the run already holds its capture, what the capture
// said.
type PrepareInput struct {
	WorkflowID string
	// Capture, when set, has the order and the split read in the same step if nothing is stored.
	Capture    *EnrichInput
	CapturedAt time.Time
	// FirstRun says the run was started with its capture, which the API does only for a
	// payment that never had a run; any other run may follow one (a capture can reach a
	// follow-up run as a signal).
	FirstRun bool `json:",omitempty"`
}

// PrepareOutput is the stored state, or else what Enrich and ComputeSplit would have answered.
type PrepareOutput struct {
	LoadPaymentOutput
	// Enriched is Enrich's answer, set when a capture was given and nothing was stored.
	Enriched *EnrichOutput
	// Split is the split of an enriched order that had no problem and no missing field;
	// SplitProblem says why it could not be computed (ComputeSplit's refusal).
	Split        *split.Split
	SplitProblem string
}

// Prepare is the first step of a payment's run: LoadPayment, and for a new payment whose capture
// came with the start, Enrich (the order and the provider's fee) and ComputeSplit too: one step
// where there were three. All of it reads (Postgres, and Stripe for its fee), except Enrich
// recording the run as waiting for its order, which is idempotent, so a retry repeats it safely.
// Refusals come back as data, as the separate steps' would have been.
//
// A run that resumes stored state, or is not its payment's first (FirstRun), is checked against
// the payment's last closed run; a first run with nothing stored is not: it has no run before
// it, and the check would cost every new payment a visibility query. A capture that reaches a
// follow-up run (a signal, after a restore erased the payment) is checked, or it would split
// and pay the payment again.
func (a *Activities) Prepare(ctx context.Context, in PrepareInput) (PrepareOutput, error) {
	clients := &clientLookup{store: a.Store}
	loaded, savedAt, err := a.loadFirst(ctx, in, clients)
	if err == nil && (loaded.Found || !in.FirstRun) {
		loaded, err = a.againstLastRun(ctx, in.WorkflowID, loaded, savedAt)
	}
	if err != nil || loaded.Found || in.Capture == nil {
		return PrepareOutput{LoadPaymentOutput: loaded}, err
	}
	enriched, affiliate, err := a.enrichWith(ctx, *in.Capture, clients)
	if err != nil {
		return PrepareOutput{}, err
	}
	out := PrepareOutput{Enriched: &enriched}
	if enriched.Problem != "" || len(enriched.Missing) > 0 {
		return out, nil
	}
	// The rule in force when the payment counts as captured: the workflow records that time too.
	capturedAt := in.CapturedAt
	if !enriched.CapturedAt.IsZero() {
		capturedAt = enriched.CapturedAt
	}
	s, err := a.computeSplit(ctx, ComputeSplitInput{Provider: in.Capture.Provider, Order: enriched.Order, Gross: in.Capture.Gross, Currency: in.Capture.Currency,
		CapturedAt: capturedAt, StripeUnits: in.Capture.StripeUnits}, affiliate)
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &app) && app.NonRetryable():
		out.SplitProblem = app.Message()
	case err != nil:
		return PrepareOutput{}, err
	default:
		out.Split = &s
	}
	return out, nil
}

// SavePaymentInput carries the state to persist.
type SavePaymentInput struct {
	Record payment.Record
}

// SavePayment persists the workflow's state for admins and follow-up runs.
func (a *Activities) SavePayment(ctx context.Context, in SavePaymentInput) error {
	if err := a.Store.SavePayment(ctx, in.Record); err != nil {
		return err
	}
	if err := a.flagSplitOnOtherVendors(ctx, in.Record); err != nil {
		return err
	}
	a.metrics().PaymentSaved(string(in.Record.Status))
	return nil
}

// flagSplitOnOtherVendors flags a split payment, once saved, whose shop's order sells from other
// vendors than it was split on: a payment split on its metadata while the shop's order was being
// stored (Enrich did not find it yet, and the storefront webhook, which flags the payments it
// finds split, read before this save). Nothing is paid or undone; an admin decides.
func (a *Activities) flagSplitOnOtherVendors(ctx context.Context, r payment.Record) error {
	if len(r.Legs) == 0 || r.Order.ClientID == "" || r.Order.OrderID == "" {
		return nil
	}
	shop, err := a.Store.GetOrder(ctx, r.Order.ClientID, r.Order.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shop's order of payment %s: %w", r.WorkflowID, err)
	}
	flagged, err := a.Store.FlagSplitOnOtherVendors(ctx, "storefront:"+shop.Platform, r, shop)
	if flagged {
		slog.Error("payment split on other vendors than the shop's order sells from: an admin must decide",
			"workflow_id", r.WorkflowID, "client_id", r.Order.ClientID, "order_id", r.Order.OrderID)
	}
	return err
}

// EnrichInput is what the capture event said about the payment.
type EnrichInput struct {
	// WorkflowID is recorded as waiting when the order has not arrived yet, so the order's
	// webhook can wake it.
	WorkflowID string
	Provider   string
	PaymentID  string
	Gross      int64
	Currency   money.Currency
	Metadata   map[string]string
	// ChargeID is the provider's charge or capture; Fee is the processing fee its event said
	// (0: look it up where the provider can be asked).
	ChargeID string `json:",omitempty"`
	Fee      int64  `json:",omitempty"`
	// StripeUnits says the amounts are in Stripe's own units, not ISO's (money.FromStripe): a
	// payment run from before code path 10 read Stripe's amounts as they came, and its movements
	// must be sent and read the same way. Only ISK, UGX and MGA differ.
	StripeUnits bool `json:",omitempty"`
	// EventAt is the capture event's time and IntentCreated its Stripe PaymentIntent's: the
	// bounds within which the charge's balance transaction is believed to say when the payment
	// counts (stripeCapturedAt). Zero (a run from before they were passed) keeps the event's time.
	EventAt       time.Time `json:",omitzero"`
	IntentCreated time.Time `json:",omitzero"`
}

// EnrichOutput is the order, or why it could not be had.
type EnrichOutput struct {
	Order payment.Order
	// Fee is the processing fee the provider kept, in the payment's currency; 0 when unknown.
	Fee int64 `json:",omitempty"`
	// CapturedAt is when the payment counts as captured when the provider says it was earlier
	// than the event (Stripe: the charge's balance transaction, which a bank debit has from its
	// submission to the bank, days before it succeeded); zero: the event's time stands.
	CapturedAt time.Time `json:",omitzero"`
	// Missing lists metadata fields not found anywhere yet: the workflow waits and asks again.
	Missing []string
	// Problem is set when waiting cannot help (unknown client, malformed value): the payment parks.
	Problem string
	// Named is the client, order and vendor the capture's metadata names (each a well-formed ID,
	// the order and vendor when given) when the order cannot be had yet (Missing) or at all
	// (Problem) and the client is a known client: whose payment it is before its split. Empty when
	// the client is unknown or not named. Runs from code path 18 keep it on the record and in
	// their search attributes; earlier ones ignore it.
	Named payment.Order `json:",omitzero"`
}

// Platforms are the storefronts whose plugins attach order metadata.
var Platforms = []string{"shopify", "woocommerce", "tiktok", "instagram"}

var requiredFields = []string{"client_id", "order_id", "vendor_id", "subtotal", "platform"}

// Enrich reads the order behind a payment: from the payment's own metadata when it carries the
// whole order, else from the order its storefront delivered (joined on client and order ID; an
// order of another platform than the metadata names is not the payment's: otherPlatform).
// When that order has not arrived yet the payment is recorded as waiting for it. Once the order
// is had, so is the processing fee (processingFee).
func (a *Activities) Enrich(ctx context.Context, in EnrichInput) (EnrichOutput, error) {
	out, _, err := a.enrich(ctx, in)
	return out, err
}

// affiliateRead is the order's affiliate as enrich read it, for the split that follows in the
// same Prepare (affiliateIsVendor): the ID the order ends with, and the payee registered under
// it, or none (found false: no payee has that ID).
type affiliateRead struct {
	id    string
	payee store.Payee
	found bool
}

// loadFirst is loadStored for Prepare. A first run with its capture reads, in the same round
// trip, the order its metadata names (and whether its client is registered), which enrich reads
// first when nothing is stored: clients answers it from there once. Any other run reads the
// stored payment alone.
func (a *Activities) loadFirst(ctx context.Context, in PrepareInput, clients *clientLookup) (LoadPaymentOutput, time.Time, error) {
	if !in.FirstRun || in.Capture == nil {
		return a.loadStored(ctx, in.WorkflowID)
	}
	clientID, orderID := in.Capture.Metadata["client_id"], in.Capture.Metadata["order_id"]
	if store.ValidID("client_id", clientID) != nil || store.ValidID("order_id", orderID) != nil {
		return a.loadStored(ctx, in.WorkflowID)
	}
	r, savedAt, order, err := a.Store.PaymentSavedAndOrderOfClient(ctx, in.WorkflowID, clientID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		clients.prefetched = &prefetchedOrder{clientID: clientID, orderID: orderID, read: order}
		return LoadPaymentOutput{}, time.Time{}, nil
	}
	if err != nil {
		return LoadPaymentOutput{}, time.Time{}, err
	}
	return LoadPaymentOutput{Found: true, Record: r}, savedAt, nil
}

// enrich is Enrich, also answering the affiliate's payee it read (nil when the order has none).
func (a *Activities) enrich(ctx context.Context, in EnrichInput) (EnrichOutput, *affiliateRead, error) {
	return a.enrichWith(ctx, in, &clientLookup{store: a.Store})
}

// enrichWith is enrich with the clients' lookup of its caller (which may hold the order read).
func (a *Activities) enrichWith(ctx context.Context, in EnrichInput, clients *clientLookup) (EnrichOutput, *affiliateRead, error) {
	out, err := a.enrichOrder(ctx, in, clients)
	if err == nil && (out.Problem != "" || len(out.Missing) > 0) {
		out.Named, err = named(ctx, in.Metadata, clients)
	}
	if err != nil || out.Problem != "" || len(out.Missing) > 0 {
		return out, nil, err
	}
	var affiliate *affiliateRead
	if out.Order.AffiliateID != "" {
		// The shop's or checkout's spelling of the affiliate, as the client registered it (an
		// admin's capitals): the split's leg, its ledger account and its keys use that ID
		// (store.RegisteredPayeeID, whose payee is read with it).
		p, err := a.Store.RegisteredPayee(ctx, out.Order.ClientID, out.Order.AffiliateID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return EnrichOutput{}, nil, err
		}
		if err == nil {
			out.Order.AffiliateID = p.ID
		}
		affiliate = &affiliateRead{id: out.Order.AffiliateID, payee: p, found: err == nil}
	}
	out.Fee, out.CapturedAt, err = a.processingFee(ctx, in)
	return out, affiliate, err
}

func (a *Activities) enrichOrder(ctx context.Context, in EnrichInput, clients *clientLookup) (EnrichOutput, error) {
	md := in.Metadata
	missing := missingFields(md)
	if len(missing) == 0 {
		order, problem := parseOrder(md)
		if problem != "" {
			return EnrichOutput{Problem: problem}, nil
		}
		return a.metadataOrder(ctx, in, order, clients)
	}
	clientID, orderID := md["client_id"], md["order_id"]
	if clientID == "" || orderID == "" {
		return EnrichOutput{Missing: missing}, nil // nothing to join an order on
	}
	for field, v := range map[string]string{"client_id": clientID, "order_id": orderID} {
		if err := store.ValidID(field, v); err != nil {
			return EnrichOutput{Problem: "metadata " + err.Error()}, nil
		}
	}
	order, err := clients.getOrder(ctx, clientID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		if out, err := checkClient(ctx, payment.Order{ClientID: clientID}, clients); err != nil || out.Problem != "" {
			return out, err
		}
		if err := a.Store.AddOrderWaiter(ctx, clientID, orderID, in.WorkflowID); err != nil {
			return EnrichOutput{}, err
		}
		// Look again once recorded: a shop's webhook reads the waiters after it stored the order,
		// so an order it stored after the first look either wakes this payment or is found now.
		// Without this, one stored between the look and the record did neither, and the payment
		// waited for its next poll with its order at hand.
		order, err = a.Store.GetOrder(ctx, clientID, orderID)
		if errors.Is(err, store.ErrNotFound) {
			return EnrichOutput{Missing: missing}, nil
		}
		if err != nil {
			return EnrichOutput{}, err
		}
		out, err := shopOrder(ctx, in, order, clients)
		if err != nil || out.Problem != "" {
			// A parked payment keeps its waiter: it may still need waking, and files it under its
			// client (store.SavePayment).
			return out, err
		}
		// Found on the second look: the payment waits for nothing, so its waiter would only
		// linger until pruned, and a later update of the order would signal it for nothing.
		return out, a.Store.RemoveOrderWaiter(ctx, clientID, orderID, in.WorkflowID)
	}
	if err != nil {
		return EnrichOutput{}, err
	}
	return shopOrder(ctx, in, order, clients)
}

// shopOrder is the order the shop delivered for the payment: it says who sold what and for how
// much. The split checks its total against the captured amount, so an order the shop changed
// since this payment (another total) parks rather than pays.
func shopOrder(ctx context.Context, in EnrichInput, order payment.Order, clients *clientLookup) (EnrichOutput, error) {
	if problem := otherPlatform(in, order); problem != "" {
		return EnrichOutput{Problem: problem}, nil
	}
	md := in.Metadata
	if order.Currency != "" && order.Currency != in.Currency {
		return EnrichOutput{Problem: fmt.Sprintf("order %s is in %s but the payment in %s", order.OrderID, order.Currency.Upper(), in.Currency.Upper())}, nil
	}
	if order.AffiliateID == "" && md["affiliate_id"] != "" {
		// A referral the checkout knew and the shop did not. It becomes a leg's payee, so part of
		// idempotency keys and a ledger account: checked as parseOrder checks it.
		if err := store.ValidID("affiliate_id", md["affiliate_id"]); err != nil {
			return EnrichOutput{Problem: "metadata " + err.Error()}, nil
		}
		order.AffiliateID = md["affiliate_id"]
	}
	order.Currency = ""
	return checkClient(ctx, order, clients)
}

// metadataOrder is the order of a payment whose metadata carries a whole one-vendor order. When
// the shop delivered that order too, the shop's order decides (shopOrder): a plugin that knows
// one vendor sends it for an order of several, and the metadata alone paid that vendor on the
// whole order and the others nothing. Metadata naming a vendor the shop's order does not sell
// from parks the payment: one of the two is wrong about who is paid, and paying either could pay
// the wrong party. Amounts that differ are the shop's (its lines are what each vendor sold);
// logged, as the split then follows the shop's and not the checkout's figures.
func (a *Activities) metadataOrder(ctx context.Context, in EnrichInput, md payment.Order, clients *clientLookup) (EnrichOutput, error) {
	shop, err := clients.getOrder(ctx, md.ClientID, md.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return checkClient(ctx, md, clients)
	}
	if err != nil {
		return EnrichOutput{}, fmt.Errorf("shop's order of payment %s: %w", in.PaymentID, err)
	}
	if problem := otherPlatform(in, shop); problem != "" {
		// Before the vendors: another vendor is no disagreement with an order not this payment's.
		return EnrichOutput{Problem: problem}, nil
	}
	vendors := shop.Vendors()
	// Without regard to case, as payee IDs match (store.RegisteredPayeeID): shops' vendor IDs
	// are lower-case slugs, a plugin may send one as an admin typed it.
	if !slices.ContainsFunc(vendors, func(v string) bool { return strings.EqualFold(v, md.VendorID) }) {
		return EnrichOutput{Problem: fmt.Sprintf("payment metadata names vendor %s but the shop's order %s sells from %s: correct the order in the shop or cancel the payment",
			md.VendorID, md.OrderID, strings.Join(vendors, ", "))}, nil
	}
	if !sameAmounts(md, shop) {
		slog.Warn("payment metadata and the shop's order differ in amounts",
			"client", md.ClientID, "order", md.OrderID, "payment", in.PaymentID,
			"Metadata", [5]int64{md.Subtotal, md.Tax, md.Shipping, md.Discount, md.Extras},
			"Shop", [5]int64{shop.Subtotal, shop.Tax, shop.Shipping, shop.Discount, shop.Extras})
		if shopTotal, ok := shop.Total(); !ok || shopTotal != in.Gross {
			if mdTotal, ok := md.Total(); ok && mdTotal == in.Gross {
				return thisPayment(ctx, in, md, shop, shopTotal, clients)
			}
		}
	}
	return shopOrder(ctx, in, shop, clients)
}

// otherPlatform says why shop, the order stored under the payment's client and order ID, is not
// the payment's when the metadata names another platform: orders are keyed by client and order
// ID whatever their platform, so a client with two shops can have WooCommerce's order 7311 paid
// while Shopify's 7311 is stored, and a split on that one pays its vendors for the other shop's sale.
// Nor can waiting help: the storefront webhook refuses the named platform's order under an ID
// the client has from another (invalid_order, audited), so the payment parks, naming both, for
// an admin. Complete metadata parks too rather than being split on its own: a collision of IDs
// and a plugin that misnames its platform look alike from here, in the second the shop's order
// is this payment's and the metadata's one vendor would take the whole of it (what the shop's
// order deciding prevents), and the check behind a metadata split (the payment flagged when its
// shop's order, delivered later, sells from other vendors) can never run for an order that is
// never stored. "" when the metadata names the order's platform (in any case) or none.
func otherPlatform(in EnrichInput, shop payment.Order) string {
	named := strings.ToLower(strings.TrimSpace(in.Metadata["platform"]))
	if named == "" || shop.Platform == "" || named == strings.ToLower(shop.Platform) {
		return ""
	}
	if !slices.Contains(Platforms, named) {
		named = strconv.Quote(named) // the checkout's text, not a platform of ours
	}
	return fmt.Sprintf("payment metadata names %s order %s, but the client's order %s is from %s: it is not this payment's order, and the %s order cannot be stored while the %s one is (a client's order IDs are one across its platforms): cancel the payment and settle it by hand, or correct the plugin if it misnames its platform",
		named, shop.OrderID, shop.OrderID, shop.Platform, named, shop.Platform)
}

// sameAmounts says whether the metadata says the shop order's amounts. A plugin that does not send
// the "extras" key (one from before it) counts a tip, duties or a checkout's fee in shipping, so
// its shipping and extras together are compared with the shop's; compared apart, every such
// payment was logged as differing. No overflow: the store refuses a shop order whose shipping and
// extras do, parseOrder metadata whose do. Likewise the shop's order counts the tax on shipping
// as tax, and a plugin may send shipping with its tax: metadata with less tax than the shop's and
// that much more shipping agrees (more tax than the shop's does not).
func sameAmounts(md, shop payment.Order) bool {
	return md.Subtotal == shop.Subtotal && md.Discount == shop.Discount && md.Tax <= shop.Tax &&
		md.Tax+md.Shipping+md.Extras == shop.Tax+shop.Shipping+shop.Extras
}

// thisPayment is the order of a payment whose metadata adds up to what was captured while the
// shop's order, of the same vendor, does not (part of the order paid otherwise: a gift card,
// store credit, a second payment). An order of that one vendor is split on the metadata's
// amounts, which describe this payment (the shop's affiliate, platform and currency kept): the
// shop's total was refused by the split and parked a payment that paid until 2026-11-27. An order
// of several vendors parks saying why: nobody knows which vendor sold what of this payment.
func thisPayment(ctx context.Context, in EnrichInput, md, shop payment.Order, shopTotal int64, clients *clientLookup) (EnrichOutput, error) {
	if shop.Currency != "" && shop.Currency != in.Currency {
		return shopOrder(ctx, in, shop, clients) // parks for its currency, which says more
	}
	if vendors := shop.Vendors(); len(vendors) > 1 {
		return EnrichOutput{Problem: fmt.Sprintf("the shop's order %s totals %s, not the %s captured (which the payment metadata's amounts add up to), and sells from %s: which vendor sold what of this payment is unknown: correct the order in the shop or cancel the payment",
			md.OrderID, amountText(shopTotal, in), amountText(in.Gross, in), strings.Join(vendors, ", "))}, nil
	}
	order := shop
	// Every amount the metadata's, extras too: the metadata's "extras" (none from a plugin that
	// counts them in shipping), as the shop's added to its total would not make the capture the
	// metadata adds up to.
	order.Subtotal, order.Tax, order.Shipping, order.Discount, order.Extras = md.Subtotal, md.Tax, md.Shipping, md.Discount, md.Extras
	return shopOrder(ctx, in, order, clients)
}

// amountText is an amount of the payment as people read it; in Stripe's own units (a run from
// before code path 10) bare, as those are not ISO's.
func amountText(amount int64, in EnrichInput) string {
	if in.StripeUnits {
		return strconv.FormatInt(amount, 10)
	}
	return money.Format(amount, in.Currency)
}

// named is what EnrichOutput.Named says: the client, order and vendor md names, each a
// well-formed ID, when the client is known; nothing otherwise (an unknown client's payment is no
// client's, as the store files it).
func named(ctx context.Context, md map[string]string, clients *clientLookup) (payment.Order, error) {
	if store.ValidID("client_id", md["client_id"]) != nil {
		return payment.Order{}, nil
	}
	if known, err := clients.known(ctx, md["client_id"]); err != nil || !known {
		return payment.Order{}, err
	}
	o := payment.Order{ClientID: md["client_id"]}
	if store.ValidID("order_id", md["order_id"]) == nil {
		o.OrderID = md["order_id"]
	}
	if store.ValidID("vendor_id", md["vendor_id"]) == nil {
		o.VendorID = md["vendor_id"]
	}
	return o, nil
}

func checkClient(ctx context.Context, o payment.Order, clients *clientLookup) (EnrichOutput, error) {
	known, err := clients.known(ctx, o.ClientID)
	if err != nil {
		return EnrichOutput{}, err
	}
	if !known {
		return EnrichOutput{Order: o, Problem: fmt.Sprintf("unknown client %q", o.ClientID)}, nil
	}
	return EnrichOutput{Order: o}, nil
}

// clientLookup says whether a client is known, reading it once for one Enrich, which asks twice
// of a payment not split yet (the order's check, then Named's) on every poll while it waits.
type clientLookup struct {
	store   *store.Store
	id      string
	isKnown bool
	read    bool
	// prefetched is the order Prepare read with the stored payment, answered once, to the first
	// look for it: a look again (once the payment is recorded as waiting) reads anew.
	prefetched *prefetchedOrder
}

// prefetchedOrder is a read of the order clientID/orderID (store.GetOrderOfClient's answer).
type prefetchedOrder struct {
	clientID, orderID string
	read              store.OrderOfClient
}

// getOrder is Store.GetOrder, learning in the same round trip whether the order's client is
// known: every Enrich that looks an order up asks that next, of the same client.
func (l *clientLookup) getOrder(ctx context.Context, clientID, orderID string) (payment.Order, error) {
	var o payment.Order
	var known bool
	var err error
	if p := l.prefetched; p != nil && p.clientID == clientID && p.orderID == orderID {
		l.prefetched = nil
		o, known, err = p.read.Order, p.read.Known, p.read.Err
	} else {
		o, known, err = l.store.GetOrderOfClient(ctx, clientID, orderID)
	}
	if err == nil || errors.Is(err, store.ErrNotFound) {
		l.id, l.isKnown, l.read = clientID, known, true
	}
	return o, err
}

func (l *clientLookup) known(ctx context.Context, id string) (bool, error) {
	if l.read && l.id == id {
		return l.isKnown, nil
	}
	_, err := l.store.GetClient(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	l.id, l.isKnown, l.read = id, err == nil, true
	return l.isKnown, nil
}

func missingFields(md map[string]string) []string {
	var missing []string
	for _, f := range requiredFields {
		if strings.TrimSpace(md[f]) == "" {
			missing = append(missing, f)
		}
	}
	return missing
}

// parseOrder reads the metadata format documented in the README ("Order metadata"). Extras (a
// tip, duties, a checkout's fee: the "extras" key, since 2026-11-28) are the order's as a shop's
// order's are: in its total, never commissioned (split.Order.Extras).
func parseOrder(md map[string]string) (payment.Order, string) {
	o := payment.Order{
		ClientID: md["client_id"], OrderID: md["order_id"], VendorID: md["vendor_id"],
		AffiliateID: md["affiliate_id"], Platform: strings.ToLower(md["platform"]),
	}
	for field, v := range map[string]string{"client_id": o.ClientID, "order_id": o.OrderID, "vendor_id": o.VendorID} {
		if err := store.ValidID(field, v); err != nil {
			return o, "metadata " + err.Error()
		}
	}
	if o.AffiliateID != "" {
		if err := store.ValidID("affiliate_id", o.AffiliateID); err != nil {
			return o, "metadata " + err.Error()
		}
	}
	if !slices.Contains(Platforms, o.Platform) {
		return o, fmt.Sprintf("metadata platform %q is not one of %s", o.Platform, strings.Join(Platforms, ", "))
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"subtotal", &o.Subtotal}, {"tax", &o.Tax}, {"shipping", &o.Shipping}, {"discount", &o.Discount}, {"extras", &o.Extras}} {
		raw := md[f.name]
		if strings.TrimSpace(raw) == "" {
			continue // tax, shipping, discount and extras are optional and default to zero
		}
		// Bare digits only: strconv.ParseInt alone takes a leading '+', and trimming took padding,
		// leniency that lets a malformed amount through instead of parking it (see ParseAmount).
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < 0 || strings.TrimLeft(raw, "0123456789") != "" {
			return o, fmt.Sprintf("metadata %s %q must be a non-negative integer in minor units", f.name, raw)
		}
		*f.dst = v
	}
	// The order is recorded (workflow history, payments.state) with its extras in shipping too
	// (payment.Order.MarshalJSON), as the release before extras reads it: a sum past int64 could
	// not be recorded, and Enrich would fail on every attempt instead of parking.
	if _, err := money.AddInt(o.Shipping, o.Extras); err != nil {
		return o, fmt.Sprintf("metadata shipping %d and extras %d overflow together", o.Shipping, o.Extras)
	}
	return o, ""
}

// ComputeSplitInput is a payment to split with the client's rule in force at capture.
type ComputeSplitInput struct {
	// Provider is the payment's ("" means stripe): its payouts may take whole units only.
	Provider   string
	Order      payment.Order
	Gross      int64
	Currency   money.Currency
	CapturedAt time.Time
	// RuleVersion pins a rule version (an admin's correction); 0 means the one in force at capture.
	RuleVersion int // StripeUnits says the amounts are in Stripe's own units, not ISO's (money.FromStripe): a
	// payment run from before code path 10 read Stripe's amounts as they came, and its movements
	// must be sent and read the same way. Only ISK, UGX and MGA differ.
	StripeUnits bool `json:",omitempty"`
}

// ComputeSplit loads the rule version in force at capture time and applies the pure split. It runs
// as an activity so the result, and the rule version, are recorded in history: a later change to
// the rules or the split code never changes a split already computed.
func (a *Activities) ComputeSplit(ctx context.Context, in ComputeSplitInput) (split.Split, error) {
	return a.computeSplit(ctx, in, nil)
}

// computeSplit is ComputeSplit with the order's affiliate as enrich read it (nil: read it here).
func (a *Activities) computeSplit(ctx context.Context, in ComputeSplitInput, affiliate *affiliateRead) (split.Split, error) {
	var rule store.RuleVersion
	var err error
	if in.RuleVersion > 0 {
		rule, err = a.Store.GetRule(ctx, in.Order.ClientID, in.RuleVersion)
	} else {
		rule, err = a.Store.RuleAt(ctx, in.Order.ClientID, in.CapturedAt)
	}
	if errors.Is(err, store.ErrNotFound) {
		return split.Split{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNoSplitRule, err)
	}
	if err != nil {
		return split.Split{}, err
	}
	order := in.Order.SplitOrder(in.Currency, in.Gross)
	if order.AffiliateIsVendor, err = a.affiliateIsVendor(ctx, in.Order, affiliate); err != nil {
		return split.Split{}, err
	}
	s, err := split.Compute(order, rule.Rule)
	if err != nil {
		return split.Split{}, temporal.NewNonRetryableApplicationError("split: "+err.Error(), ErrTypeInvalidSplit, err)
	}
	unit := PayoutUnit(in.Provider, in.Currency)
	if in.StripeUnits {
		unit = 1 // Stripe's own unit is what the run pays in
	}
	s = s.PayableIn(unit)
	a.metrics().SplitComputed(s)
	return s, nil
}

// affiliateIsVendor says whether the order's affiliate is registered as a vendor of its client:
// ResolvePayee pays a payee only as its kind, and a payee in the books keeps it, so such an
// affiliate leg would be held for good and its share paid to nobody (split.Order.AffiliateIsVendor).
// An affiliate not registered, or another client's payee, is split as named: its leg is held for
// an admin, who can register the payee, and is never paid to another client.
//
// read is the affiliate as enrich read it in the same Prepare (nil when it was not): the payee
// with exactly o.AffiliateID, or that there is none, read once for both.
func (a *Activities) affiliateIsVendor(ctx context.Context, o payment.Order, read *affiliateRead) (bool, error) {
	if o.AffiliateID == "" {
		return false, nil
	}
	p, err := a.affiliatePayee(ctx, o.AffiliateID, read)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read affiliate %s: %w", o.AffiliateID, err)
	}
	if p.ClientID != o.ClientID || p.Kind != store.KindVendor {
		return false, nil
	}
	// Said, since nothing else shows it: a shop whose vendors and affiliates share one numbering
	// (WooCommerce user IDs as both _vendor_id and _affiliate_id) makes them one payee ID.
	slog.Warn("order's affiliate is a vendor: no affiliate share", "client", o.ClientID, "order", o.OrderID, "affiliate", o.AffiliateID)
	return true, nil
}

// affiliatePayee is the payee with exactly the ID id: as read when read is of that ID, else read
// now.
func (a *Activities) affiliatePayee(ctx context.Context, id string, read *affiliateRead) (store.Payee, error) {
	switch {
	case read == nil || read.id != id:
		return a.Store.GetPayee(ctx, id)
	case read.found:
		return read.payee, nil
	}
	return store.Payee{}, store.ErrNotFound
}

// ResolvePayeeInput names the payee of a leg.
type ResolvePayeeInput struct {
	// Provider picks the payout rail: the payment's own provider ("" means stripe).
	Provider string
	PayeeID  string
	Kind     string
	ClientID string
	Currency money.Currency
	// Fresh asks the provider even when it said a minute ago that the destination can receive
	// (the ready cache): the provider has just refused a transfer to it.
	Fresh bool `json:",omitempty"`
}

// ResolvePayeeOutput says where the leg goes, or why it must be held.
type ResolvePayeeOutput struct {
	Destination string
	HoldReason  string
}

// ResolvePayee finds where the payee is paid on the payment's rail (a Stripe connected account,
// a PayPal receiver) and checks it can receive now. A payee that cannot is not an error: the leg
// is held for an admin to release later. The leg's payee is looked up as Enrich takes an order's
// affiliate (store.RegisteredPayeeID): a leg split under a shop's lower-case spelling before an
// admin registered the payee with capitals (or while Enrich ran) is paid to the payee registered,
// its key and ledger account keeping the ID it was split under; looked up exactly, it stayed held
// for good, or was paid only once the admin registered the spelling too, one payee as two.
func (a *Activities) ResolvePayee(ctx context.Context, in ResolvePayeeInput) (ResolvePayeeOutput, error) {
	// Marked resolved when it is the client's, so that an admin cannot move it to another client
	// while this payment pays it and books it with its next save.
	p, err := a.Store.ResolvePayee(ctx, in.PayeeID, in.ClientID, in.Kind)
	if errors.Is(err, store.ErrNotFound) {
		// Not under its exact ID (every payout's case, asked first): the client's twin in
		// another case, if it has one.
		p, err = a.resolveTwin(ctx, in)
	}
	if errors.Is(err, store.ErrNotFound) {
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("%s %q is not registered", in.Kind, in.PayeeID)}, nil
	}
	if err != nil {
		return ResolvePayeeOutput{}, err
	}
	switch {
	case p.ClientID != in.ClientID:
		// The reason reaches the client's own payouts list: it must not name the other client.
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q is registered to another client", p.ID)}, nil
	case p.Kind != in.Kind:
		return ResolvePayeeOutput{HoldReason: fmt.Sprintf("payee %q is registered as %s, not as %s", p.ID, p.Kind, in.Kind)}, nil
	}
	r, err := a.rail(in.Provider)
	if err != nil {
		return ResolvePayeeOutput{}, err
	}
	key := in.Provider + "/" + p.StripeAccount + "/" + p.PayPalReceiver
	now := time.Now()
	if !in.Fresh && a.ready.ok(key, now) {
		return ResolvePayeeOutput{Destination: destination(in.Provider, p)}, nil
	}
	out, err := r.resolve(ctx, p)
	switch {
	case err == nil && out.HoldReason == "":
		a.ready.remember(key, now)
	case err == nil:
		a.ready.forget(key) // the other payments paying it must not take the old yes either
	}
	return out, err
}

// resolveTwin resolves the client's payee whose ID differs from in.PayeeID only in case
// (store.RegisteredPayeeID); store.ErrNotFound when it has none.
func (a *Activities) resolveTwin(ctx context.Context, in ResolvePayeeInput) (store.Payee, error) {
	id, err := a.Store.RegisteredPayeeID(ctx, in.ClientID, in.PayeeID)
	if err != nil {
		return store.Payee{}, err
	}
	if id == in.PayeeID {
		return store.Payee{}, store.ErrNotFound
	}
	return a.Store.ResolvePayee(ctx, id, in.ClientID, in.Kind)
}

// TransferInput is one payout of a payee's share.
type TransferInput struct {
	// Provider picks the payout rail: the payment's own provider ("" means stripe).
	Provider          string
	IdempotencyKey    string
	Destination       string
	Amount            int64
	Currency          money.Currency
	SourceTransaction string
	TransferGroup     string
	Metadata          map[string]string
	// Asked says the key was sent before and its outcome never learnt. Stripe forgets a key after
	// 24 hours and would then make a second transfer under it, so a rail that can looks first for
	// a transfer made under the key (its metadata's MetaIdempotencyKey).
	Asked bool // StripeUnits says the amounts are in Stripe's own units, not ISO's (money.FromStripe): a
	// payment run from before code path 10 read Stripe's amounts as they came, and its movements
	// must be sent and read the same way. Only ISK, UGX and MGA differ.
	StripeUnits bool `json:",omitempty"`
}

// MetaIdempotencyKey is the transfer metadata that names the key a transfer was made under (code
// path 5 on), so an in-doubt retry can find it after the provider forgot the key.
const MetaIdempotencyKey = "idempotency_key"

// TransferOutput is the payout the provider made (or had made for this key before).
type TransferOutput struct {
	TransferID string
	// Fee is what the provider took from the platform's balance for the payout, on top of its
	// amount, in the payout's currency (PayPal's payout_item_fee; a Stripe transfer has none); 0
	// when there is none or it cannot be booked (payoutItemFee says why).
	Fee int64 `json:",omitempty"`
}

// Transfer pays a payee's share with an idempotency key derived from the workflow and leg, so a
// retry after a lost answer returns the first payout instead of paying twice.
func (a *Activities) Transfer(ctx context.Context, in TransferInput) (TransferOutput, error) {
	if in.Amount <= 0 || in.IdempotencyKey == "" {
		return TransferOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("transfer needs a positive amount and a key (amount %d, key %q)", in.Amount, in.IdempotencyKey), ErrTypeInvalidSplit, nil)
	}
	r, err := a.rail(in.Provider)
	if err != nil {
		return TransferOutput{}, err
	}
	out, err := r.send(ctx, in)
	if err != nil {
		return TransferOutput{}, err
	}
	a.metrics().Transferred(string(in.Currency), in.Amount)
	return out, nil
}

// ConfirmTransferInput names the movement an admin found at the provider for a transfer in
// doubt: Ref is a Stripe transfer (tr_…) or a PayPal payout batch.
type ConfirmTransferInput struct {
	Transfer TransferInput
	Ref      string
}

// ConfirmTransfer checks an admin's word that a transfer in doubt was made, against the provider:
// Ref must be the movement made under the transfer's key for its amount and currency (a Stripe
// transfer made before keys went into metadata: of its amount, currency, order and leg). It answers as Transfer would for that
// key: the transfer made (a PayPal payout still pending is watched), or a refusal
// (ErrTypeRejected) when the provider says it failed; a movement that is not the transfer is
// ErrTypeNotThisMovement and says nothing of it. It never moves money.
func (a *Activities) ConfirmTransfer(ctx context.Context, in ConfirmTransferInput) (TransferOutput, error) {
	if in.Ref == "" || in.Transfer.IdempotencyKey == "" || in.Transfer.Amount <= 0 {
		return TransferOutput{}, notThisMovement(fmt.Sprintf("confirming needs the provider's movement, the key and its amount (ref %q, key %q, amount %d)",
			in.Ref, in.Transfer.IdempotencyKey, in.Transfer.Amount))
	}
	r, err := a.rail(in.Transfer.Provider)
	if err != nil {
		return TransferOutput{}, err
	}
	out, err := r.confirm(ctx, in.Transfer, in.Ref)
	if err != nil {
		return TransferOutput{}, err
	}
	return out, nil
}

func notThisMovement(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeNotThisMovement, nil)
}

// ReverseTransferInput takes money back from a payee.
type ReverseTransferInput struct {
	Provider       string
	IdempotencyKey string
	TransferID     string
	Amount         int64
	Currency       money.Currency
	Metadata       map[string]string
	// Asked says the key was sent before and its outcome never learnt: a rail that can looks
	// first for a reversal made under it (TransferInput.Asked says why).
	Asked bool // StripeUnits says the amounts are in Stripe's own units, not ISO's (money.FromStripe): a
	// payment run from before code path 10 read Stripe's amounts as they came, and its movements
	// must be sent and read the same way. Only ISK, UGX and MGA differ.
	StripeUnits bool `json:",omitempty"`
}

// ReverseTransferOutput is the reversal the provider made.
type ReverseTransferOutput struct {
	ReversalID string
}

// ReverseTransfer reverses part or all of a payout, idempotently. A rail that cannot reverse
// answers a non-retryable error; the workflow then keeps the amount as owed by the payee.
func (a *Activities) ReverseTransfer(ctx context.Context, in ReverseTransferInput) (ReverseTransferOutput, error) {
	if in.Amount <= 0 || in.IdempotencyKey == "" || in.TransferID == "" {
		return ReverseTransferOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("reversal needs a transfer, a positive amount and a key (transfer %q, amount %d)", in.TransferID, in.Amount), ErrTypeInvalidSplit, nil)
	}
	r, err := a.rail(in.Provider)
	if err != nil {
		return ReverseTransferOutput{}, err
	}
	id, err := r.reverse(ctx, in)
	if err != nil {
		return ReverseTransferOutput{}, err
	}
	a.metrics().Reversed(string(in.Currency), in.Amount)
	return ReverseTransferOutput{ReversalID: id}, nil
}

// PostEntryOutput is the stored journal entry's ID.
type PostEntryOutput struct {
	EntryID int64
	Created bool
}

// PostEntry appends a balanced journal entry; its idempotency key makes a replay write nothing.
func (a *Activities) PostEntry(ctx context.Context, e ledger.Entry) (PostEntryOutput, error) {
	stored, created, err := a.Ledger.Post(ctx, e)
	return PostEntryOutput{EntryID: stored.ID, Created: created}, ledgerError(err)
}

// Booking is a journal entry the workflow books later, with its next save or post, and what
// it books (payment.CaptureEntry, a leg's name, or "" when no record field keeps its ID).
type Booking struct {
	For   string
	Entry ledger.Entry
}

// PostEntriesOutput is the stored entries' IDs, in the order booked.
type PostEntriesOutput struct {
	EntryIDs []int64
}

// PostEntries appends several journal entries in one transaction (ledger.PostBatch): one commit
// and one round trip where a post per entry took one each.
func (a *Activities) PostEntries(ctx context.Context, book []Booking) (PostEntriesOutput, error) {
	entries := make([]ledger.Entry, len(book))
	for i, b := range book {
		entries[i] = b.Entry
	}
	posted, err := a.Ledger.PostBatch(ctx, entries)
	if err != nil {
		return PostEntriesOutput{}, ledgerError(err)
	}
	out := PostEntriesOutput{EntryIDs: make([]int64, len(posted))}
	for i, p := range posted {
		out.EntryIDs[i] = p.Entry.ID
	}
	return out, nil
}

// SaveAndBookInput is the state to persist and the entries to book before it.
type SaveAndBookInput struct {
	Record payment.Record
	Book   []Booking
}

// SaveAndBook books the entries, fills their IDs into the record and saves it: a payment that
// settles in one workflow task books its capture and transfers and saves its state in one step.
// The entries commit before the save, as they did when each was its own step; a retry after a
// failed save books nothing twice (each entry keeps its idempotency key).
func (a *Activities) SaveAndBook(ctx context.Context, in SaveAndBookInput) (PostEntriesOutput, error) {
	out, err := a.PostEntries(ctx, in.Book)
	if err != nil {
		return out, err
	}
	rec := in.Record
	rec.Legs = slices.Clone(rec.Legs)
	for i, b := range in.Book {
		if b.For != "" && !rec.SetEntryID(b.For, out.EntryIDs[i]) {
			return PostEntriesOutput{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("entry %q books %q, which the payment does not have", b.Entry.IdempotencyKey, b.For), ErrTypeInvalidSplit, nil)
		}
	}
	return out, a.SavePayment(ctx, SavePaymentInput{Record: rec})
}

// ledgerError marks the ledger's permanent refusals non-retryable: retrying a conflicting or
// malformed entry can never succeed, while a lost connection can.
func ledgerError(err error) error {
	for _, permanent := range []error{ledger.ErrIdempotencyConflict, ledger.ErrUnbalanced, ledger.ErrInvalidEntry, ledger.ErrAlreadyReversed, ledger.ErrNotFound} {
		if errors.Is(err, permanent) {
			return temporal.NewNonRetryableApplicationError("ledger: "+err.Error(), ErrTypeLedgerConflict, err)
		}
	}
	return err
}

// ReverseEntryInput names an entry to reverse.
type ReverseEntryInput struct {
	EntryID        int64
	IdempotencyKey string
	Description    string
}

// ReverseEntry appends the reversing entry of an earlier one.
func (a *Activities) ReverseEntry(ctx context.Context, in ReverseEntryInput) (PostEntryOutput, error) {
	stored, created, err := a.Ledger.Reverse(ctx, in.EntryID, in.IdempotencyKey, in.Description)
	return PostEntryOutput{EntryID: stored.ID, Created: created}, ledgerError(err)
}

// destination is where a payee is paid on a provider's rail.
func destination(provider string, p store.Payee) string {
	if provider == ProviderPayPal {
		return p.PayPalReceiver
	}
	return p.StripeAccount
}
