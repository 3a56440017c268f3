package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"paysplit/internal/store"
	"paysplit/workflows/payment"
)

// inboxEvent is a stored webhook event with its payment's workflow ID, for the admin who wants
// to know what has not reached Temporal yet (and what has).
type inboxEvent struct {
	store.InboxEntry
	WorkflowID string `json:"workflow_id"`
}

// listInbox answers GET /api/v1/admin/webhook-inbox: the events still waiting for Temporal
// (state=pending, the default, oldest first) or the latest forwarded (state=forwarded), and the
// backlog. Events appear in the Temporal UI only once forwarded; this is where they are before.
func (s *Server) listInbox(c echo.Context) error {
	var f store.InboxFilter
	switch c.QueryParam("state") {
	case "", "pending":
	case "forwarded":
		f.Forwarded = true
	default:
		return errorf(http.StatusBadRequest, "invalid_request", "state must be pending or forwarded")
	}
	switch p := c.QueryParam("provider"); p {
	case "", providerStripe, providerPayPal:
		f.Provider = p
	default:
		return errorf(http.StatusBadRequest, "invalid_request", "provider must be stripe or paypal")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return errorf(http.StatusBadRequest, "invalid_request", "limit must be between 1 and 500")
		}
		f.Limit = n
	}
	ctx := c.Request().Context()
	entries, err := s.deps.Store.ListInbox(ctx, f)
	if err != nil {
		return err
	}
	backlog, err := s.deps.Store.InboxBacklog(ctx)
	if err != nil {
		return err
	}
	events := make([]inboxEvent, 0, len(entries))
	for _, e := range entries {
		events = append(events, inboxEvent{InboxEntry: e, WorkflowID: payment.WorkflowID(e.Provider, e.PaymentID)})
	}
	return c.JSON(http.StatusOK, map[string]any{
		"events": events, "pending": backlog.Pending, "oldest_wait_seconds": backlog.OldestWait.Seconds(),
	})
}
