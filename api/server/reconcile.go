package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/recon"
	"paysplit/internal/store"
	"paysplit/workflows/reconcile"
)

// reconCursor is the last run of a reconciliation page.
type reconCursor struct {
	ID int64 `json:"id"`
}

// complete: IDs start at 1, and 0 is the store's "no cursor".
func (c reconCursor) complete() bool { return c.ID > 0 }

// listReconciliations shows reconciliation runs and their drift, newest first, a page at a time:
// by default the latest; ?from=&to= (dates, inclusive) the runs of those reconciled days, e.g. a
// month's, and ?provider= one provider's.
func (s *Server) listReconciliations(c echo.Context) error {
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errorf(http.StatusBadRequest, "invalid_request", "limit must be 1-100")
		}
		limit = n
	}
	from, to, err := optionalDateRange(c)
	if err != nil {
		return err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	var cur reconCursor
	if _, err := decodeCursor(c, &cur); err != nil {
		return err
	}
	// An unknown provider answers 400, not an empty list that reads as "no runs".
	switch provider := c.QueryParam("provider"); provider {
	case "", activities.ProviderStripe, activities.ProviderPayPal:
	default:
		return errorf(http.StatusBadRequest, "invalid_request", fmt.Sprintf("provider %q must be one of %s, %s", provider, activities.ProviderStripe, activities.ProviderPayPal))
	}
	runs, err := s.deps.Store.ListReconciliations(c.Request().Context(), store.ReconciliationFilter{
		Provider: c.QueryParam("provider"), From: from, To: to, BeforeID: cur.ID, Limit: limit + 1,
	})
	if err != nil {
		return err
	}
	runs, next := pageOf(runs, limit, func(last store.ReconciliationRun) any { return reconCursor{ID: last.ID} })
	var cs []money.Currency
	for _, r := range runs {
		cs = append(cs, driftCurrencies(r.Drifts)...)
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": nonNil(runs), "next_cursor": next, "exponents": exponents(cs)})
}

// driftCurrencies are the currencies of drifts, for the answer's exponents.
func driftCurrencies(ds []recon.Drift) []money.Currency {
	out := make([]money.Currency, 0, len(ds))
	for _, d := range ds {
		out = append(out, money.Currency(d.Currency))
	}
	return out
}

// runReconciliation reconciles one day now. It waits briefly for the result and otherwise
// answers 202 with the workflow to follow.
func (s *Server) runReconciliation(c echo.Context) error {
	var body struct {
		Date string `json:"date"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	in := reconcile.Input{}
	if body.Date != "" {
		day, err := time.Parse(time.DateOnly, body.Date)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid_request", "date must be YYYY-MM-DD")
		}
		if day.After(time.Now()) {
			return errorf(http.StatusBadRequest, "invalid_request", "date is in the future")
		}
		// The workflow reads a zero day (0001-01-01) as "no date" and reconciles yesterday: it
		// did so, answering 200 for a day that was not asked. No provider has payments before.
		if day.Before(earliestReconcileDay) {
			return errorf(http.StatusBadRequest, "invalid_request", "date must be 2000-01-01 or later")
		}
		in.Day = day
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 30*time.Second)
	defer cancel()
	id := fmt.Sprintf("reconcile-manual-%d", time.Now().UnixNano())
	if body.Date != "" {
		id = fmt.Sprintf("reconcile-manual-%s-%d", body.Date, time.Now().UnixNano())
	}
	run, err := s.deps.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.deps.TaskQueue}, reconcile.WorkflowName, in)
	if err != nil {
		return errorf(http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; retry later")
	}
	var out reconcile.Output
	if err := run.Get(ctx, &out); err != nil {
		if ctx.Err() != nil {
			return c.JSON(http.StatusAccepted, map[string]string{"status": "running", "workflow_id": id})
		}
		return fmt.Errorf("reconciliation %s: %w", id, err)
	}
	// Each run as GET /api/v1/admin/reconciliation names its fields (the workflow's result has
	// no JSON names of its own, and changing them would change what its histories recorded).
	runs := make(map[string]any, len(out.Runs))
	var cs []money.Currency
	for provider, r := range out.Runs {
		runs[provider] = map[string]any{"id": r.RunID, "checked": r.Checked, "drift_count": r.DriftCount, "drifts": nonNil(r.Drifts)}
		cs = append(cs, driftCurrencies(r.Drifts)...)
	}
	return c.JSON(http.StatusOK, map[string]any{"workflow_id": id, "day": out.Day, "runs": runs, "exponents": exponents(cs)})
}

// earliestReconcileDay is the first day a manual reconciliation can be asked for.
var earliestReconcileDay = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
