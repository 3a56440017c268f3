package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"paysplit/internal/money"
	"paysplit/internal/monitor"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// bind decodes a JSON body strictly: unknown fields and trailing data are errors, so a typo in a
// field name never silently becomes a default. A string with a NUL character is refused (nul.go).
func bind(c echo.Context, dst any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if jsonHasNUL(body) {
		return errNUL("request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errorf(http.StatusBadRequest, "invalid_json", decodeError(err))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "invalid_json", "request body: trailing data after the JSON object")
	}
	if msg := ambiguousName(body, dst); msg != "" {
		return errorf(http.StatusBadRequest, "invalid_json", "request body: "+msg)
	}
	return nil
}

// ambiguousName says what makes a body that decoded say something other than what it plainly
// reads, "" when nothing does: Go's decoder matches a name in any case and lets the last of a
// repeated name win, so {"platform_bps":100,"PLATFORM_BPS":200} made a 200 bps rule. A name given
// twice in an object (in any case), or a top-level name in another case than dst's field, is one.
func ambiguousName(body []byte, dst any) string {
	fields := jsonNames(reflect.TypeOf(dst))
	dec := json.NewDecoder(bytes.NewReader(body))
	// One frame per open object or array, innermost last: an object's names so far, and whether
	// its next token is a name (else a value).
	type frame struct {
		names    map[string]bool
		wantName bool
	}
	var open []*frame
	// valueDone turns the enclosing object back to expecting a name after a value.
	valueDone := func() {
		if n := len(open); n > 0 && open[n-1].names != nil {
			open[n-1].wantName = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "" // the body decoded already: only its end is left
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, &frame{names: map[string]bool{}, wantName: true})
			continue
		case json.Delim('['):
			open = append(open, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
			valueDone()
			continue
		}
		top := len(open) > 0 && open[len(open)-1].wantName
		if !top {
			valueDone()
			continue
		}
		f := open[len(open)-1]
		f.wantName = false
		k, _ := tok.(string)
		folded := foldName(k)
		if f.names[folded] {
			return fmt.Sprintf("%s is given twice: send each field once", k)
		}
		f.names[folded] = true
		if want, known := fields[folded]; len(open) == 1 && known && want != k {
			return fmt.Sprintf("unknown field %q: names are case-sensitive (%s)", k, want)
		}
	}
}

// jsonNames maps the folded JSON name of each field of the struct t points to to the name
// itself; empty for another type.
func jsonNames(t reflect.Type) map[string]string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]string{}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[foldName(name)] = name
	}
	return out
}

// foldName is a name as Go's decoder compares it: through upper case, so the long s (ſ) and the
// Kelvin sign (K) fold with s and k as they do there.
func foldName(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// decodeError says why a body did not decode in the API's terms: the decoder's own words quote Go
// ("cannot unmarshal array into Go value of type struct { Name string ... }", "of type int64").
func decodeError(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "request body is empty: send a JSON object"
	case errors.As(err, &te):
		got := "a " + te.Value // "string", "array", "number", "bool", "object"
		switch {
		case te.Value == "array" || te.Value == "object":
			got = "an " + te.Value
		case strings.HasPrefix(te.Value, "number "):
			got = strings.TrimPrefix(te.Value, "number ") // "number 10.5": the number itself
		}
		if te.Field == "" {
			return "request body must be a JSON object, not " + got
		}
		return fmt.Sprintf("request body: %s must be %s, not %s", te.Field, jsonKind(te.Type), got)
	}
	return "request body: " + strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names what a Go type takes in JSON.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number within 64 bits"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another type"
}

// listClients lists every client, or those with ?status=active|offboarded.
func (s *Server) listClients(c echo.Context) error {
	// An unknown status is store.ErrInvalid: 400 with the statuses there are.
	clients, err := s.deps.Store.ListClientsByStatus(c.Request().Context(), c.QueryParam("status"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"clients": nonNil(clients)})
}

// setClientStatus offboards (or reactivates) an existing client, audited as action, then brings
// its KPI sync schedule in line: deleted while offboarded, back on reactivation. Weekly reports
// skip an offboarded client by its status. Setting the status it has again is harmless and
// repairs a schedule change that could not reach Temporal the first time.
func (s *Server) setClientStatus(status, action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().ContentLength != 0 {
			var none struct{}
			if err := bind(c, &none); err != nil {
				return err
			}
		}
		id := c.Param("client_id")
		var cl store.Client
		err := s.audited(c, action, "client:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
			prev, err := tx.GetClient(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			cl, err = tx.SetClientStatus(ctx, id, status)
			return prev, cl, err
		})
		if err != nil {
			return err
		}
		s.clientChanged(c, id)
		return c.JSON(http.StatusOK, cl)
	}
}

func (s *Server) putClient(c echo.Context) error {
	var body struct {
		Name            string `json:"name"`
		DefaultCurrency string `json:"default_currency"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id := c.Param("client_id")
	var cl store.Client
	var created bool
	err := s.audited(c, "client.upsert", "client:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		before, err = existing(tx.GetClient(ctx, id))
		if err != nil {
			return nil, nil, err
		}
		cl, created, err = tx.UpsertClient(ctx, store.Client{ID: id, Name: body.Name, DefaultCurrency: moneyCurrency(body.DefaultCurrency)})
		return before, cl, err
	})
	if err != nil {
		return err
	}
	s.clientChanged(c, id)
	return c.JSON(createdOrOK(created), cl)
}

func (s *Server) putPayee(c echo.Context) error {
	var body struct {
		ClientID       string `json:"client_id"`
		Kind           string `json:"kind"`
		StripeAccount  string `json:"stripe_account"`
		PayPalReceiver string `json:"paypal_receiver"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	id := c.Param("payee_id")
	var p store.Payee
	var created bool
	err := s.audited(c, "payee.upsert", "payee:"+id, func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		old, err := tx.LockPayee(ctx, id) // held to the commit: see payeeStaysPut
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, nil, err
		default:
			before = payeeForAudit(old)
			if err := payeeStaysPut(ctx, tx, old, body.ClientID, body.Kind); err != nil {
				return nil, nil, err
			}
		}
		p, created, err = tx.UpsertPayee(ctx, store.Payee{ID: id, ClientID: body.ClientID, Kind: body.Kind, StripeAccount: body.StripeAccount, PayPalReceiver: body.PayPalReceiver})
		if errors.Is(err, store.ErrPayeeIDTaken) {
			return nil, nil, errorf(http.StatusConflict, "payee_id_taken", err.Error())
		}
		return before, payeeForAudit(p), err
	})
	if err != nil {
		return err
	}
	return c.JSON(createdOrOK(created), p)
}

// payeeStaysPut refuses to move a payee the books know to another client or kind: its account
// (vendor_payable:<id>) holds what that client's payments owe it, its held and failed legs
// could never be released again (each release holds them for "registered to another client"),
// and the account would mix two clients' money. A payee not yet in the books was only mistyped.
// A payment paying the payee counts as in the books (its entries come with its next save). The
// transaction holds the payee (LockPayee) and the check waits for bookings in flight, so a
// payment of the old client either comes first and the move is refused, or comes after and
// finds the payee another client's (its leg held).
func payeeStaysPut(ctx context.Context, tx *store.Store, old store.Payee, clientID, kind string) error {
	if old.ClientID == clientID && old.Kind == kind {
		return nil
	}
	in, err := tx.PayeeInBooks(ctx, old)
	if err != nil || !in {
		return err
	}
	return errorf(http.StatusConflict, "payee_in_books", fmt.Sprintf(
		"payee %s is the %s of client %s in the books: it cannot become the %s of client %s; register a payee of its own for that",
		old.ID, old.Kind, old.ClientID, kind, clientID))
}

// payeeForAudit is the payee as the append-only audit log keeps it: a PayPal receiver that is an
// email address is a person's, which a log nothing can be erased from must not hold (as report
// recipients are counted, not named); a payer ID is an account's and stays.
func payeeForAudit(p store.Payee) store.Payee {
	if strings.Contains(p.PayPalReceiver, "@") {
		p.PayPalReceiver = "(an email address, not recorded)"
	}
	return p
}

func (s *Server) createRule(c echo.Context) error {
	var body struct {
		PlatformBps          *int64 `json:"platform_bps"`
		AffiliateBps         int64  `json:"affiliate_bps"`
		CommissionOnTax      bool   `json:"commission_on_tax"`
		CommissionOnShipping bool   `json:"commission_on_shipping"`
		MinPlatformFee       int64  `json:"min_platform_fee"`
		MaxPlatformFee       int64  `json:"max_platform_fee"`
		// FeeCurrency is the currency of the fee bounds; the client's default currency if absent.
		FeeCurrency string `json:"fee_currency"`
		// BaseVersion, when given, is the version the admin's change was made on (0: none yet):
		// a save when another admin's version has come since is refused (rule_changed) instead
		// of silently superseding it.
		BaseVersion *int `json:"base_version"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.PlatformBps == nil {
		return errorf(http.StatusBadRequest, "invalid_request", "platform_bps is required (basis points, 0-10000)")
	}
	if body.BaseVersion != nil && *body.BaseVersion < 0 {
		return errorf(http.StatusBadRequest, "invalid_request", "base_version must be 0 (no rule yet) or a version of the rule")
	}
	var r store.RuleVersion
	err := s.audited(c, "split_rule.create", "client:"+c.Param("client_id"), func(ctx context.Context, tx *store.Store) (before, after any, err error) {
		r, err = tx.CreateRuleOnBase(ctx, split.Rule{
			ClientID: c.Param("client_id"), PlatformBps: *body.PlatformBps, AffiliateBps: body.AffiliateBps,
			CommissionOnTax: body.CommissionOnTax, CommissionOnShipping: body.CommissionOnShipping,
			MinPlatformFee: body.MinPlatformFee, MaxPlatformFee: body.MaxPlatformFee, FeeCurrency: money.Currency(body.FeeCurrency),
		}, actor(c), body.BaseVersion)
		return nil, r, err
	})
	if changed := (*store.RuleChangedError)(nil); errors.As(err, &changed) {
		return errorf(http.StatusConflict, "rule_changed", fmt.Sprintf(
			"the split rule is at version %d, not base_version %d: another save came first; read it and decide again", changed.Current, changed.Base))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) listRules(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.deps.Store.GetClient(ctx, c.Param("client_id")); err != nil {
		return err
	}
	rules, err := s.deps.Store.ListRules(ctx, c.Param("client_id"))
	if err != nil {
		return err
	}
	// current_version is what a change based on this answer sends as base_version (0: none yet).
	current := 0
	if len(rules) > 0 {
		current = rules[len(rules)-1].Version
	}
	return c.JSON(http.StatusOK, map[string]any{"rules": nonNil(rules), "current_version": current})
}

// legView is one leg as the admin API shows it.
type legView struct {
	Party       split.Party `json:"party"`
	PayeeID     string      `json:"payee_id"`
	Amount      int64       `json:"amount"`
	Currency    string      `json:"currency"`
	Refunded    int64       `json:"refunded"`
	Transferred int64       `json:"transferred"`
	Reversed    int64       `json:"reversed"`
	TransferID  *string     `json:"transfer_id"`
	TransferKey string      `json:"transfer_key,omitempty"`
	InDoubt     bool        `json:"in_doubt,omitempty"`
	SentAt      time.Time   `json:"sent_at,omitzero"`
	State       string      `json:"state"`
	Reason      string      `json:"reason,omitempty"`
	// TopUps are the transfers beside the first (a correction's, a failed refund's), each with
	// what was taken back.
	TopUps []ipayment.TopUp `json:"top_ups,omitempty"`
	// Dues are the top-ups and reversals the provider did not make, owed until a retry.
	Dues []dueView `json:"dues,omitempty"`
}

// dueView is a movement due with the key its last attempt was sent under, to look up at the
// provider and to name in a resolve.
type dueView struct {
	ipayment.Due
	Key string `json:"key"`
}

func (s *Server) paymentView(r ipayment.Record) map[string]any {
	legs := make([]legView, 0, len(r.Legs))
	for _, l := range r.Legs {
		v := legView{Party: l.Party, PayeeID: l.PayeeID, Amount: l.Amount, Currency: string(r.Currency), Refunded: l.Refunded,
			Transferred: l.Transferred, Reversed: l.Reversed, State: string(l.State), Reason: l.Reason, TopUps: l.TopUps,
			TransferKey: l.TransferKey, InDoubt: l.InDoubt(r.WorkflowID), SentAt: l.SentAt}
		for _, d := range l.Dues {
			v.Dues = append(v.Dues, dueView{Due: d, Key: d.Key(l)})
		}
		if l.TransferID != "" {
			v.TransferID = &l.TransferID
		}
		legs = append(legs, v)
	}
	return map[string]any{
		"workflow_id": r.WorkflowID, "provider": r.Provider, "payment_id": r.PaymentID, "charge_id": r.ChargeID,
		"status": r.Status, "reason": r.Reason, "client_id": r.Order.ClientID, "order_id": r.Order.OrderID,
		"vendor_id": r.Order.VendorID, "affiliate_id": r.Order.AffiliateID, "platform": r.Order.Platform,
		"currency": r.Currency, "gross": r.Gross, "subtotal": r.Order.Subtotal, "tax": r.Order.Tax,
		"shipping": r.Order.Shipping, "extras": r.Order.Extras, "discount": r.Order.Discount, "commission_base": r.CommissionBase,
		"payout_unit": max(r.PayoutUnit, 1), "fee": r.Fee, "fee_returned": r.FeeReturned, "dispute_fees": r.DisputeFees, "rule_version": r.RuleVersion, "corrected_to": r.CorrectedTo, "refunded": r.Refunded, "disputes_lost": r.DisputesLost, "dispute_loss_beyond_refunds": r.DisputeLossBeyondRefunds, "failed_refunds": r.FailedRefunds, "disputed": r.Disputed, "compensated": r.Compensated, "due_retries": r.DueRetries, "decision": r.Decision, "captured_at": r.CapturedAt,
		"legs": legs, "workflow_url": s.workflowURL(r.WorkflowID),
	}
}

// workflowURL is the workflow id in the Temporal UI, "" without TEMPORAL_UI_URL (production
// without it): the link monitor.PaymentRef.WorkflowURL gives alerts.
func (s *Server) workflowURL(id string) string {
	return monitor.PaymentRef{WorkflowID: id}.WorkflowURL(s.deps.TemporalUIURL, s.deps.Namespace)
}

func (s *Server) listPayments(c echo.Context) error {
	q := c.QueryParams()
	// A typo in ?status= listed no payment at all, as if none were in that status.
	if st := q.Get("status"); st != "" && !slices.Contains(ipayment.Statuses, ipayment.Status(st)) {
		names := make([]string, len(ipayment.Statuses))
		for i, p := range ipayment.Statuses {
			names[i] = string(p)
		}
		return errorf(http.StatusBadRequest, "invalid_request", "status must be one of "+strings.Join(names, ", "))
	}
	from, to, err := instantRange(c)
	if err != nil {
		return err
	}
	clientID, err := s.clientFilter(c)
	if err != nil {
		return err
	}
	return s.paymentsPage(c, store.PaymentFilter{
		ClientID: clientID, VendorID: q.Get("vendor_id"), OrderID: q.Get("order_id"), Status: q.Get("status"),
		From: from, To: to,
	})
}

// paymentsPage answers a page of the payments f selects, after ?cursor=, ?limit= long.
func (s *Server) paymentsPage(c echo.Context, f store.PaymentFilter) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	f.Limit = limit + 1
	var cur paymentCursor
	if ok, err := decodeCursor(c, &cur); err != nil {
		return err
	} else if ok {
		f.After = &store.PaymentCursor{At: cur.At, WorkflowID: cur.WorkflowID}
	}
	recs, err := s.deps.Store.ListPaymentsPage(c.Request().Context(), f)
	if err != nil {
		return err
	}
	recs, next := pageOf(recs, limit, func(last store.ListedPayment) any {
		return paymentCursor{At: last.Cursor.At, WorkflowID: last.Cursor.WorkflowID}
	})
	records := make([]ipayment.Record, 0, len(recs))
	for _, r := range recs {
		records = append(records, r.Record)
	}
	answer := s.paymentsAnswer(records)
	answer["next_cursor"] = next
	return c.JSON(http.StatusOK, answer)
}

// paymentCursor is the last payment of an admin payments page: its time (capture, or creation
// before capture) and workflow ID, the listing's order.
type paymentCursor struct {
	At         time.Time `json:"t"`
	WorkflowID string    `json:"w"`
}

func (c paymentCursor) complete() bool { return !c.At.IsZero() && c.WorkflowID != "" }

// paymentsAnswer lists payments with the minor-unit digits of their currencies (exponents), so
// the dashboard formats a JPY or KWD amount with its own digits.
func (s *Server) paymentsAnswer(recs []ipayment.Record) map[string]any {
	out := make([]map[string]any, 0, len(recs))
	cs := make([]money.Currency, 0, len(recs))
	for _, r := range recs {
		out = append(out, s.paymentView(r))
		cs = append(cs, r.Currency)
	}
	return map[string]any{"payments": out, "exponents": exponents(cs)}
}

func (s *Server) getPayment(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := s.deps.Store.GetPaymentView(ctx, c.Param("workflow_id"))
	if err != nil {
		return err
	}
	entries, err := s.deps.Ledger.EntriesByReference(ctx, r.WorkflowID)
	if err != nil {
		return err
	}
	view := s.paymentView(r)
	view["ledger_entries"] = nonNil(entries)
	view["exponents"] = exponents([]money.Currency{r.Currency})
	return c.JSON(http.StatusOK, view)
}

// allowed says which payment statuses each admin action makes sense in.
var allowed = map[payment.AdminAction][]ipayment.Status{
	payment.ActionRetry:   {ipayment.StatusNeedsAttention, ipayment.StatusPayoutFailed},
	payment.ActionCancel:  {ipayment.StatusNeedsAttention, ipayment.StatusPayoutFailed, ipayment.StatusHeld},
	payment.ActionRelease: {ipayment.StatusHeld},
}

// adminAction signals a parked or held payment's workflow with an admin decision.
func (s *Server) adminAction(action payment.AdminAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body struct {
			Party string `json:"party"`
		}
		if c.Request().ContentLength != 0 {
			if err := bind(c, &body); err != nil {
				return err
			}
		}
		if body.Party != "" && body.Party != string(split.PartyVendor) && body.Party != string(split.PartyAffiliate) {
			return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("party %q must be vendor or affiliate", body.Party))
		}
		if body.Party != "" && action != payment.ActionRelease {
			// The run reads a party on a release only: a cancel naming one leg cancelled them all.
			return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf(
				"party names the leg of a release only: a %s acts on the whole payment; send it without party", action))
		}
		ctx := c.Request().Context()
		r, err := s.deps.Store.GetPayment(ctx, c.Param("workflow_id"))
		if err != nil {
			return err
		}
		if r.HasDues() && !payoutWaiting(r) {
			return s.decideDues(c, action, r)
		}
		if err := decisionRefused(action, r, split.Party(body.Party)); err != nil {
			return err
		}
		return s.decideForAdmin(c, r.WorkflowID, action, decision{
			action: "payment." + string(action),
			signal: &payment.AdminCommand{Action: action, Party: split.Party(body.Party)},
			after:  map[string]any{"signal": action, "party": body.Party},
			still: func(ctx context.Context, tx *store.Store, cur ipayment.Record) error {
				if cur.HasDues() && !payoutWaiting(cur) {
					return paymentChanged(cur)
				}
				if err := decisionRefused(action, cur, split.Party(body.Party)); err != nil {
					return err
				}
				return comesToNothing(ctx, tx, action, cur, split.Party(body.Party))
			},
		})
	}
}

// decisionRefused says why the payment's run cannot take an admin's action (party: the leg a
// release names, or ""), as an API error; nil when it can. A payment whose only failed payouts are
// movements due is decided apart (decideDues).
func decisionRefused(action payment.AdminAction, r ipayment.Record, party split.Party) error {
	if i := slices.IndexFunc(r.Legs, func(l ipayment.Leg) bool { return l.InDoubt(r.WorkflowID) }); i >= 0 && r.Compensated != "" {
		return errorf(http.StatusConflict, "in_doubt", fmt.Sprintf("the payment was compensated and its %s transfer %s is in doubt: look it up at the provider and resolve it (POST .../resolve)",
			r.Legs[i].Party, r.Legs[i].TransferKey))
	}
	waitingForOrder := action == payment.ActionCancel && r.Status == ipayment.StatusAwaitingMetadata
	if waitingForOrder && r.CodePath < payment.CancelWaitingForOrderPath {
		return errorf(http.StatusConflict, "invalid_state", "this payment's run takes a cancel only once it parks (after PAYMENT_ENRICH_WAIT), or cancel its workflow in the Temporal UI")
	}
	if !slices.Contains(allowed[action], r.Status) && !waitingForOrder {
		return errorf(http.StatusConflict, "invalid_state", fmt.Sprintf("cannot %s a payment in status %s", action, r.Status))
	}
	if action == payment.ActionRelease && party != "" &&
		!slices.ContainsFunc(r.Legs, func(l ipayment.Leg) bool { return l.Party == party && l.State == ipayment.LegHeld }) {
		// The run would take it and release nothing: say so rather than answer 202.
		return errorf(http.StatusConflict, "not_held", fmt.Sprintf("the payment's %s leg is not held: release the held one", party))
	}
	if action == payment.ActionRetry && r.Gross == 0 && r.CapturedAt.IsZero() {
		// A refund or dispute came and its capture has not: the run splits and pays the
		// payment when the capture comes (code path 9), so there is nothing to retry.
		return errorf(http.StatusConflict, "awaiting_capture", "the payment has no capture event yet: nothing to retry; it is split and paid when its capture comes, or cancel it")
	}
	return nil
}

// paymentChanged is the 409 for a decision on a payment whose run saved it, between the
// request's read and its send, in a state that takes the decision another way.
func paymentChanged(r ipayment.Record) error {
	return errorf(http.StatusConflict, "payment_changed", fmt.Sprintf("the payment changed while the decision was made (now %s): read it again and decide on what it shows", r.Status))
}

// decisionPending is 409 decision_pending while the payment's last decision (by an admin, or by
// Stripe's Connect event) waits to be taken by its run, whichever save of the payment it was made
// on: the run saves what comes of a decision it takes (a payout, a hold, a cancel, a resolve's
// outcome), and a second sent meanwhile would be dropped. One made on the save the payment shows
// (savedAt) waits while the run has not saved since. One made on an earlier save may wait still:
// the run saved since for something else (a refund taken before it), and takes the decision after;
// it waits until the run's history has a save recorded after the decision reached the run
// (runSince). Either counts no more once the run rests with every signal taken, no workflow task
// and no activity pending, and no local activity waiting for its next attempt: the run took it and
// saved nothing for it (it was not waiting for it), and never will. A run with nothing pending may
// still be acting on the decision: a provider call (a local activity) waits for its next attempt
// on a timer when its backoff is longer than a workflow task's timeout, and DescribeWorkflow lists
// no timer. Nor does one count once its run closed (a new decision starts another run, or is
// refused not_running): one sent when another run was the payment's (its entry's run_id) whose
// signal the current run's history does not have was that run's. Nor one made on a decision
// number the payment has moved past (decision: the number the payment shows).
//
// at is where the run's history stands now (zero without a run): a decision sent next is recorded
// after it, and its audit entry says so (run_id, history_length), so that runSince finds that
// decision's signal and not an earlier one of the same sender's.
func (s *Server) decisionPending(ctx context.Context, tx *store.Store, workflowID string, savedAt time.Time, decision int) (at historyAt, err error) {
	e, madeOn, found, err := tx.LastDecision(ctx, "payment:"+workflowID)
	if err != nil {
		return historyAt{}, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	desc, err := s.deps.Temporal.DescribeWorkflow(dctx, workflowID, "")
	var nf *serviceerror.NotFound
	var d *workflowservice.DescribeWorkflowExecutionResponse
	if err == nil {
		d = desc.RawResponse
	}
	switch {
	case errors.As(err, &nf):
		return historyAt{}, nil // no run: sendAdmin answers not_running
	case err != nil:
		s.deps.Logger.WarnContext(ctx, "decision_pending: describe the payment's run", "workflow_id", workflowID, "error", err)
		return historyAt{}, temporalUnavailable()
	}
	info := d.GetWorkflowExecutionInfo()
	at = historyAt{RunID: info.GetExecution().GetRunId(), Length: info.GetHistoryLength()}
	if !found || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return at, nil
	}
	var was struct {
		historyAt
		Decision int `json:"decision"`
	}
	_ = json.Unmarshal(e.After, &was) // an entry that says neither is read as one from before them
	// The run saved a new decision it asks since this one was made on its number: it took this one
	// and asked again, or it drops it as made on another decision (madeOnAnother) and takes the
	// next, made on the number it asks. Its history need not say so: the workflow task that saved
	// the ask may go on (code path 20's ask after a hold), its save recorded only once it ends.
	if was.Decision > 0 && decision > was.Decision {
		return at, nil
	}
	resting := d.GetPendingWorkflowTask() == nil && len(d.GetPendingActivities()) == 0
	// The run may have saved since for what it did before it took the decision: its history says.
	earlier := madeOn != store.SavedKey(savedAt)
	// Sent when another run was the payment's: that run had it, or a later one it started.
	otherRun := was.RunID != "" && was.RunID != at.RunID
	if resting || earlier || otherRun {
		var sent *decisionSent
		if earlier || otherRun {
			sent = &decisionSent{sender: e.Actor}
			// Sent to this run: its signal is recorded after where the history stood then. Sent to
			// another (one it started, or entries from before history_length), anywhere in it.
			if was.RunID == at.RunID {
				sent.after = was.Length
			}
		}
		run, err := s.runSince(dctx, workflowID, at.RunID, sent)
		if err != nil {
			// Logged: a server or proxy without the reverse history read answers Unimplemented
			// while Temporal is otherwise up, and the 503 alone would not say so.
			s.deps.Logger.WarnContext(ctx, "decision_pending: read the run's history", "workflow_id", workflowID, "run_id", at.RunID, "error", err)
			return historyAt{}, temporalUnavailable()
		}
		switch {
		case sent != nil && run.savedSince, resting && !run.retrying:
			return at, nil
		case otherRun && !run.signalled:
			// Not in this run's history, where a signal that started it is recorded at its start:
			// an earlier run had it, which has closed since.
			return at, nil
		}
	}
	return historyAt{}, errorf(http.StatusConflict, "decision_pending", fmt.Sprintf(
		"the payment's run has not yet saved what came of the %s sent by %s at %s: read the payment again once it has, and decide on what it shows",
		strings.TrimPrefix(e.Action, "payment."), e.Actor, e.CreatedAt.UTC().Format(time.RFC3339)))
}

// historyAt is a run and the length of its history (the last event's ID), as a decision's audit
// entry records them beside the save it was made on.
type historyAt struct {
	RunID  string `json:"run_id"`
	Length int64  `json:"history_length"`
}

// decisionSent is a decision runSince looks for in a run's history: the last signal (an admin
// command or an event) whose Actor is sender, or begins with it and a space (a Connect event's
// names the event too), recorded after the event ID after.
type decisionSent struct {
	sender string
	after  int64
}

// localActivityMarker is how the Go SDK records a local activity's attempt: a marker named
// LocalActivity whose data says the activity's type and, for a failed attempt it retries after a
// backoff longer than a workflow task's timeout, the backoff, then a timer of that length started
// in the same workflow task (the SDK's own test of a backoff, not a wait of the run's: a wait's
// timer may follow a save's marker). This is the Go SDK's format (v1.51: the marker's "data"
// payload, its ActivityType and Backoff fields), not the API's:
// TestADecisionWhosePayoutWaitsToRetryIsStillPending runs a real backoff, and
// TestADecisionSavedForOnAnEarlierSaveBlocksNothing a real save, under the SDK go.mod names, and
// fail (a cancel answered 202, or 409 decision_pending for a decision saved for) if an upgrade
// records them otherwise.
const localActivityMarker = "LocalActivity"

// saveSteps are the payment workflow's steps that save the payment (its stepSavePayment and
// stepSaveAndBook: the activities' method names, as the worker registers them), local activities
// or, when their local attempts are spent, regular ones.
var saveSteps = []string{"SavePayment", "SaveAndBook"}

// runReading is what runSince read in a run's history.
type runReading struct {
	// retrying: the run waits on a timer to try one of its local activities again (a provider
	// call the provider answered 503, a step Postgres refused): it is inside a step, not resting,
	// though DescribeWorkflow lists neither a workflow task nor an activity.
	retrying bool
	// savedSince: a save of the payment (saveSteps) is recorded after the decision's signal, in a
	// workflow task that had it. Signals that come while a workflow task runs are recorded after
	// the saves of that task, so a save the run made before it took the decision is recorded
	// before it. False when the signal is not in the run's history (not recorded yet: the
	// workflow task that ran when it came still runs), or no decision is looked for.
	savedSince bool
	// signalled: the decision's signal is in the run's history.
	signalled bool
}

// runSince reads the history of the run of workflowID: its local activity markers and timers, for
// a backoff not over yet, and its saves since the signal of the decision sent (nil: none). It reads
// the history's tail (historyTail), not the whole: a run that retried a step for days has tens of
// megabytes of history, read in the payment's audit lock.
func (s *Server) runSince(ctx context.Context, workflowID, runID string, sent *decisionSent) (runReading, error) {
	dc := converter.GetDefaultDataConverter()
	tail, err := s.historyTail(ctx, workflowID, runID, sent, dc)
	if err != nil {
		return runReading{}, err
	}
	var backoffAsked time.Duration     // the backoff a local activity's marker asked for in this task
	backoffTimers := map[int64]bool{}  // started event ID: a local activity's backoff not over yet
	savesScheduled := map[int64]bool{} // scheduled event ID: a save run on the server since the signal
	var out runReading
	for _, ev := range tail {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if sent.sentBy(ev, dc) {
				out.signalled, out.savedSince = true, false
				clear(savesScheduled)
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := ev.GetMarkerRecordedEventAttributes()
			if a.GetMarkerName() != localActivityMarker {
				continue
			}
			var md struct {
				ActivityType string
				Backoff      time.Duration
			}
			if data := a.GetDetails()["data"]; data == nil || dc.FromPayloads(data, &md) != nil {
				continue
			}
			if md.Backoff > 0 {
				backoffAsked = md.Backoff
			}
			if out.signalled && a.GetFailure() == nil && slices.Contains(saveSteps, md.ActivityType) {
				out.savedSince = true
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if out.signalled && slices.Contains(saveSteps, ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()) {
				savesScheduled[ev.GetEventId()] = true
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if savesScheduled[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
				out.savedSince = true
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			if backoffAsked > 0 && ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration() == backoffAsked {
				backoffTimers[ev.GetEventId()] = true
				backoffAsked = 0
			}
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			delete(backoffTimers, ev.GetTimerFiredEventAttributes().GetStartedEventId())
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			delete(backoffTimers, ev.GetTimerCanceledEventAttributes().GetStartedEventId())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			backoffAsked = 0 // a backoff's timer is started in the task that recorded its marker
		}
	}
	out.retrying = len(backoffTimers) > 0
	return out, nil
}

// sentBy reports whether ev is the signal of the decision looked for (d nil: none is): an admin
// command or an event from its sender, recorded after d.after.
func (d *decisionSent) sentBy(ev *historypb.HistoryEvent, dc converter.DataConverter) bool {
	a := ev.GetWorkflowExecutionSignaledEventAttributes()
	if d == nil || ev.GetEventId() <= d.after || (a.GetSignalName() != payment.SignalAdmin && a.GetSignalName() != payment.SignalEvent) {
		return false
	}
	var from struct{ Actor string }
	return dc.FromPayloads(a.GetInput(), &from) == nil && (from.Actor == d.sender || strings.HasPrefix(from.Actor, d.sender+" "))
}

// backoffHorizon is how long before a run's last event runSince looks for a local activity's
// backoff timer not fired yet. The payment workflow's local activities back off a minute at
// most (workflows/payment dbRetryPolicy and payoutRetryPolicy: MaximumInterval), and Temporal
// records a timer's firing when it is due: a timer started earlier than this before the last
// event has fired, unless Temporal fired it over nine minutes late. A test shortens it.
var backoffHorizon = 10 * time.Minute

// historyPageRead, set only by a test, is told the events of each page of history historyTail
// read.
var historyPageRead func(workflowID string, events int)

// historyTail is the end of the history of run runID of workflowID, oldest event first, read
// backwards (GetWorkflowExecutionHistoryReverse) as far as runSince needs and no further, so that
// reading it from the start of the tail finds what reading the whole history would:
//   - back to the signal of the decision sent (its last one, after sent.after), or to sent.after
//     when it is not there, so the saves after it are all in the tail;
//   - back past every event of backoffHorizon before the last, so a backoff timer not fired yet is
//     in it;
//   - starting at a workflow task's completion: a backoff's marker and its timer are recorded
//     after the completion of the task that asked them.
//
// Without a decision looked for, or one sent to this run (its audit entry's history_length), the
// tail of a long run is a few events; one sent to another run, or recorded before
// history_length, is looked for in the whole history.
func (s *Server) historyTail(ctx context.Context, workflowID, runID string, sent *decisionSent, dc converter.DataConverter) ([]*historypb.HistoryEvent, error) {
	req := &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: cmp.Or(s.deps.Namespace, client.DefaultNamespace),
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		// A tail is often a few workflow tasks: small pages first (a page's size counts batches of
		// events, a workflow task's few), larger ones for a long read.
		MaximumPageSize: 16,
	}
	var back []*historypb.HistoryEvent // newest first
	var horizon time.Time
	signalFound := sent == nil
	for {
		res, err := s.deps.Temporal.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s run %s backwards: %w", workflowID, runID, err)
		}
		events := res.GetHistory().GetEvents()
		if f := historyPageRead; f != nil {
			f(workflowID, len(events))
		}
		for _, ev := range events {
			if horizon.IsZero() {
				horizon = ev.GetEventTime().AsTime().Add(-backoffHorizon)
			}
			back = append(back, ev)
			signalFound = signalFound || ev.GetEventId() <= sent.after+1 || sent.sentBy(ev, dc)
			if signalFound && ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && ev.GetEventTime().AsTime().Before(horizon) {
				slices.Reverse(back)
				return back, nil
			}
		}
		if len(res.GetNextPageToken()) == 0 {
			slices.Reverse(back)
			return back, nil
		}
		req.NextPageToken = res.GetNextPageToken()
		req.MaximumPageSize = min(2*req.GetMaximumPageSize(), 1024)
	}
}

// sendAdmin signals a decision to the payment's run runID, the one decisionPending described:
// 409 not_running when there was none ("") or it has closed since, 503 temporal_unavailable when
// Temporal did not take it (in 10 s: the caller holds the payment's audit lock meanwhile). Not to
// whichever run is current by then: another event may have started a new run meanwhile (a refund
// after the run closed), which would take a decision checked, and audited, against the run
// before it, whose history decisionPending reads for it.
func (s *Server) sendAdmin(ctx context.Context, workflowID, runID string, cmd payment.AdminCommand) error {
	if runID == "" {
		return errNotRunning()
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.deps.Temporal.SignalWorkflow(sctx, workflowID, runID, payment.SignalAdmin, cmd)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return errNotRunning()
	}
	if err != nil {
		return temporalUnavailable()
	}
	return nil
}

// errNotRunning is the 409 for a signalled decision whose run is gone.
func errNotRunning() error {
	return errorf(http.StatusConflict, "not_running", "the payment's workflow is not running")
}

// resolvePayment takes an admin's word on a movement in doubt of a leg, looked up at the provider:
// its transfer (payment.ActionResolve, a signal to the run waiting on it; once a compensation left
// it in doubt, an event) or a top-up due (payment.EventResolveDue, an event, which also reaches a
// closed run), by key when the leg has several. Made: as the provider's movement provider_ref,
// which the workflow checks before booking it; not made: the next attempt takes a new key.
func (s *Server) resolvePayment(c echo.Context) error {
	var body struct {
		Party       string `json:"party"`
		PayeeID     string `json:"payee_id"`
		Key         string `json:"key"`
		Made        *bool  `json:"made"`
		ProviderRef string `json:"provider_ref"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	switch {
	case body.Party != string(split.PartyVendor) && body.Party != string(split.PartyAffiliate):
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("party %q must be vendor or affiliate", body.Party))
	case body.Made == nil:
		return errorf(http.StatusBadRequest, "invalid_request", "made is required: true (the transfer was made, as provider_ref) or false (it was not)")
	case *body.Made && body.ProviderRef == "":
		return errorf(http.StatusBadRequest, "invalid_request", "provider_ref is required with made: true: the Stripe transfer (tr_...) or PayPal payout batch that made it")
	case !*body.Made && body.ProviderRef != "":
		return errorf(http.StatusBadRequest, "invalid_request", "provider_ref goes with made: true only")
	case len(body.ProviderRef) > 255 || strings.ContainsFunc(body.ProviderRef, unicode.IsSpace):
		return errorf(http.StatusBadRequest, "invalid_request", "provider_ref must be a provider's ID: at most 255 characters, no spaces")
	}
	r, err := s.deps.Store.GetPayment(c.Request().Context(), c.Param("workflow_id"))
	if err != nil {
		return err
	}
	leg, err := legOfParty(r, split.Party(body.Party), body.PayeeID)
	if err != nil {
		return err
	}
	key, isTransfer, err := movementInDoubt(r, leg, body.Key)
	if err != nil {
		return err
	}
	d := decision{action: "payment.resolve",
		after: map[string]any{"party": leg.Party, "payee_id": leg.PayeeID, "made": *body.Made, "provider_ref": body.ProviderRef, "key": key}}
	// Whether the movement is the transfer a run waits on (a signal) or not (an event), as saved now.
	bySignal := func(cur ipayment.Record) (bool, error) {
		l, err := legOfParty(cur, leg.Party, leg.PayeeID)
		if err != nil {
			return false, err
		}
		_, isTransfer, err := movementInDoubt(cur, l, key)
		return isTransfer && payoutWaiting(cur), err
	}
	if isTransfer && payoutWaiting(r) {
		d.after["signal"] = payment.ActionResolve
		d.signal = &payment.AdminCommand{Action: payment.ActionResolve, Party: leg.Party, PayeeID: leg.PayeeID, Made: *body.Made, Ref: body.ProviderRef, Key: key}
		d.still = func(_ context.Context, _ *store.Store, cur ipayment.Record) error {
			if signal, err := bySignal(cur); err != nil || !signal {
				return cmp.Or(err, paymentChanged(cur))
			}
			return nil
		}
		return s.decideForAdmin(c, r.WorkflowID, payment.ActionResolve, d)
	}
	ev := payment.Event{ID: fmt.Sprintf("due-resolve/%s/%t/%s", key, *body.Made, body.ProviderRef), Kind: payment.EventResolveDue,
		DueKey: key, Made: *body.Made, Ref: body.ProviderRef}
	d.event = func(ipayment.Record) payment.Event { return ev }
	d.still = func(_ context.Context, _ *store.Store, cur ipayment.Record) error {
		if signal, err := bySignal(cur); err != nil || signal {
			return cmp.Or(err, paymentChanged(cur))
		}
		return nil
	}
	return s.decideForAdmin(c, r.WorkflowID, payment.ActionResolve, d)
}

// legOfParty is the one leg of party (and payee, when given) in the payment.
func legOfParty(r ipayment.Record, party split.Party, payeeID string) (ipayment.Leg, error) {
	var found []ipayment.Leg
	for _, l := range r.Legs {
		if l.Party == party && (payeeID == "" || l.PayeeID == payeeID) {
			found = append(found, l)
		}
	}
	switch {
	case len(found) == 0:
		return ipayment.Leg{}, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("the payment has no %s leg %s", party, payeeID))
	case len(found) > 1:
		return ipayment.Leg{}, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("the payment has %d %s legs: name the payee_id", len(found), party))
	}
	return found[0], nil
}

// movementInDoubt is the key of the leg's movement in doubt a resolve is for: the one under key,
// or, without one, the leg's only one. isTransfer says it is the leg's transfer, not a top-up due.
// Reversals due are not resolved by hand: only Stripe makes them, and a retry finds what their key
// made by the key in their metadata.
func movementInDoubt(r ipayment.Record, leg ipayment.Leg, key string) (string, bool, error) {
	var keys []string
	if leg.InDoubt(r.WorkflowID) {
		keys = append(keys, leg.TransferKey)
	}
	for _, d := range leg.Dues {
		if d.ResolvableInDoubt() {
			keys = append(keys, d.Key(leg))
		}
	}
	switch {
	case key != "" && !slices.Contains(keys, key):
		return "", false, errorf(http.StatusConflict, "not_in_doubt", fmt.Sprintf("the %s leg has no transfer or top-up in doubt under key %s", leg.Party, key))
	case key == "" && len(keys) == 0:
		return "", false, errorf(http.StatusConflict, "not_in_doubt",
			fmt.Sprintf("the %s leg has no transfer or top-up in doubt (leg %s): there is nothing to resolve; a refused one takes a new key at the retry", leg.Party, leg.State))
	case key == "" && len(keys) > 1:
		return "", false, errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("the %s leg has %d movements in doubt: name the key (%s)", leg.Party, len(keys), strings.Join(keys, ", ")))
	case key == "":
		key = keys[0]
	}
	return key, key == leg.TransferKey && leg.InDoubt(r.WorkflowID), nil
}

// payoutWaiting reports whether the payment's run waits for an admin's decision on a leg's payout
// (a failed leg, or a held one), which takes the decision as a signal. A compensated payment's
// run waits for nothing: a leg its compensation left in doubt is resolved by an event.
func payoutWaiting(r ipayment.Record) bool {
	if r.Compensated != "" {
		return false
	}
	return slices.ContainsFunc(r.Legs, func(l ipayment.Leg) bool {
		return l.State == ipayment.LegFailed || l.State == ipayment.LegHeld
	})
}

// decideDues takes an admin's decision on a payment whose only failed payouts are movements
// due (top-ups to payees, reversals from them): a retry goes to the workflow as an event, which
// also reaches a run that has closed (its ID counts the retries taken, so a request sent twice
// is taken once, and the second, sent before the run saved the first, is 409 decision_pending).
// A movement due is money one side owes the other, so it cannot be cancelled.
func (s *Server) decideDues(c echo.Context, action payment.AdminAction, r ipayment.Record) error {
	if action != payment.ActionRetry {
		return errorf(http.StatusConflict, "invalid_state", fmt.Sprintf("cannot %s a top-up or reversal due: it is owed to the payee, or by it; retry it once the provider can make it", action))
	}
	// Once per save of the payment (decideOnSave): two retries sent for one stored state carry
	// one event ID, and the run takes one of them.
	return s.decideForAdmin(c, r.WorkflowID, action, decision{
		action: "payment.retry",
		event:  duesRetry,
		after:  map[string]any{"retry": "dues"},
		still: func(_ context.Context, _ *store.Store, cur ipayment.Record) error {
			if !cur.HasDues() || payoutWaiting(cur) {
				return cmp.Or(decisionRefused(action, cur, ""), paymentChanged(cur))
			}
			return nil
		},
	})
}

// duesRetry is the event of a retry of the payment's movements due, which also reaches a run
// that has closed (it starts the follow-up run). Its ID counts the retries the payment has taken
// as stored (due-retry-<DueRetries+1>), so two retries sent for the same stored state are taken
// once.
func duesRetry(r ipayment.Record) payment.Event {
	return payment.Event{ID: fmt.Sprintf("due-retry-%d", r.DueRetries+1), Kind: payment.EventRetryDues}
}

func (s *Server) balances(c echo.Context) error {
	asOf := time.Time{}
	if v := c.QueryParam("as_of"); v != "" {
		t, err := parseQueryTime("as_of", v)
		if err != nil {
			return err
		}
		if t.IsZero() {
			// The ledger reads the zero time as "now": nothing was booked by then.
			return c.JSON(http.StatusOK, map[string]any{"balances": []any{}, "exponents": map[string]int{}})
		}
		asOf = t
	}
	b, err := s.deps.Ledger.Balances(c.Request().Context(), asOf)
	if err != nil {
		return integrityError(err)
	}
	cs := make([]money.Currency, 0, len(b))
	for _, x := range b {
		cs = append(cs, x.Currency)
	}
	return c.JSON(http.StatusOK, map[string]any{"balances": nonNil(b), "exponents": exponents(cs)})
}

func actor(c echo.Context) string {
	if a, ok := c.Get("actor").(string); ok {
		return a
	}
	return "unknown"
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func moneyCurrency(s string) money.Currency {
	return money.Currency(strings.ToLower(strings.TrimSpace(s)))
}

// correctPayment asks a paid payment's workflow to re-split under another rule version (for
// example one that stops taking commission on tax). It goes through the same delivery as provider
// events, so it also reaches a payment whose run has closed.
func (s *Server) correctPayment(c echo.Context) error {
	var body struct {
		RuleVersion int `json:"rule_version"`
	}
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.RuleVersion < 1 {
		// Versions start at 1: a missing rule_version (0) was answered "split rule v0 ... not found".
		return errorf(http.StatusBadRequest, "invalid_request", "rule_version is required: a version of the client's split rules (1 or more)")
	}
	ctx := c.Request().Context()
	r, err := s.deps.Store.GetPayment(ctx, c.Param("workflow_id"))
	if err != nil {
		return err
	}
	// Only a version the client does not have is the caller's: any other failure to read it is
	// the server's (500, logged), never a 400 quoting the database.
	if _, err := s.deps.Store.GetRule(ctx, r.Order.ClientID, body.RuleVersion); errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("rule_version %d: %v", body.RuleVersion, err))
	} else if err != nil {
		return fmt.Errorf("rule v%d of %s: %w", body.RuleVersion, r.Order.ClientID, err)
	}
	switch {
	case r.Status != ipayment.StatusPaid:
		return errorf(http.StatusConflict, "invalid_state", fmt.Sprintf("only paid payments can be corrected; this one is %s", r.Status))
	case r.RuleVersion == body.RuleVersion:
		return errorf(http.StatusConflict, "invalid_state", fmt.Sprintf("the payment already uses rule v%d", body.RuleVersion))
	}
	ev := payment.Event{ID: fmt.Sprintf("correction-v%d", body.RuleVersion), Kind: payment.EventCorrection, RuleVersion: body.RuleVersion, Actor: actor(c)}
	// Audited like every admin decision: the entry commits only once the workflow took the event.
	err = s.audited(c, "payment.correct", "payment:"+r.WorkflowID, func(ctx context.Context, _ *store.Store) (before, after any, err error) {
		if _, err := s.deliver(ctx, r.Provider, r.PaymentID, ev); err != nil {
			return nil, nil, temporalUnavailable()
		}
		return map[string]any{"status": r.Status, "rule_version": r.RuleVersion}, map[string]any{"rule_version": body.RuleVersion}, nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"status": "correction requested", "workflow_id": r.WorkflowID, "rule_version": body.RuleVersion})
}
