package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"paysplit/internal/monitor"
)

// alertMessageCursor is the last message of a page.
type alertMessageCursor struct {
	ID int64 `json:"id"`
}

// complete: message IDs start at 1.
func (c alertMessageCursor) complete() bool { return c.ID > 0 }

// listAlertMessages lists the alert messages queued for the webhook and email, newest first, a
// page at a time, with what each channel did with them: by default those that did not reach
// every channel (pending, expired, given up), so on-call can see the alerts nobody got.
func (s *Server) listAlertMessages(c echo.Context) error {
	f := monitor.MessageFilter{State: monitor.DeliveryState(c.QueryParam("state")), Now: s.deps.Now()}
	if f.State == "" {
		f.State = monitor.DeliveryUndelivered
	}
	if !f.State.Valid() {
		return errorf(http.StatusBadRequest, "invalid_request", "state must be one of: "+messageStates())
	}
	var err error
	if f.MonitorID, f.Limit, f.From, f.To, err = alertListParams(c); err != nil {
		return err
	}
	var cur alertMessageCursor
	if ok, err := decodeCursor(c, &cur); err != nil {
		return err
	} else if ok {
		f.BeforeID = cur.ID
	}
	limit := f.Limit
	f.Limit++
	ms, err := s.monitors().Messages(c.Request().Context(), f)
	if err != nil {
		return integrityError(err)
	}
	ms, next := pageOf(ms, limit, func(last monitor.Message) any { return alertMessageCursor{ID: last.ID} })
	return c.JSON(http.StatusOK, map[string]any{"messages": nonNil(ms), "next_cursor": next})
}

func messageStates() string {
	names := make([]string, len(monitor.DeliveryStates))
	for i, v := range monitor.DeliveryStates {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}

var (
	alertMessagesDesc = prometheus.NewDesc("paysplit_alert_messages_undelivered",
		"Alert messages that did not reach every channel, by state: pending (still tried), expired (queued over 48 hours ago, no longer tried), given_up (a channel refused it for good, none left to try).",
		[]string{"state"}, nil)
	alertOldestDesc = prometheus.NewDesc("paysplit_alert_messages_oldest_pending_seconds",
		"How long the oldest alert message still tried has waited (0 when none).", nil, nil)
)

// alertMessagesCollector reports the undelivered alert messages from one query per scrape, from
// the API, whose /metrics answers while every worker (which delivers them) is down. When
// Postgres does not answer it reports the last counts read, as the inbox gauges do: an alert on
// them must not resolve just when nothing can be delivered.
type alertMessagesCollector struct {
	monitors *monitor.Store
	now      func() time.Time
	logger   *slog.Logger
	last     lastRead[monitor.UndeliveredCounts]
}

func (s *Server) registerAlertMessageGauges() {
	s.metrics.registry.MustRegister(&alertMessagesCollector{monitors: s.monitors(), now: s.deps.Now, logger: s.deps.Logger})
}

func (c *alertMessagesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- alertMessagesDesc
	ch <- alertOldestDesc
}

func (c *alertMessagesCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	n := c.last.read(now, func(ctx context.Context) (monitor.UndeliveredCounts, error) {
		return c.monitors.Undelivered(ctx, now)
	}, func(n monitor.UndeliveredCounts, since time.Duration) monitor.UndeliveredCounts {
		if n.Pending > 0 {
			n.OldestPending += since
		}
		return n
	}, c.logger, "undelivered alert messages for metrics: reporting the last counts read")
	for state, v := range map[monitor.DeliveryState]int64{monitor.DeliveryPending: n.Pending, monitor.DeliveryExpired: n.Expired, monitor.DeliveryGivenUp: n.GivenUp} {
		ch <- prometheus.MustNewConstMetric(alertMessagesDesc, prometheus.GaugeValue, float64(v), string(state))
	}
	ch <- prometheus.MustNewConstMetric(alertOldestDesc, prometheus.GaugeValue, n.OldestPending.Seconds())
}
