package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"paysplit/internal/split"
)

// NewRegistry is the one registry a program's /metrics serves: Go runtime and process metrics
// here, the Temporal SDK's and ours added by whoever owns them.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Metrics are paysplit's own business metrics. Money is counted in integer minor units per
// currency (exact up to 2^53, far beyond any realistic total), never mixed across currencies.
// They are updated from activities and API handlers, never from workflow code: a replayed
// workflow would count everything again.
type Metrics struct {
	paymentUpdates  *prometheus.CounterVec
	splits          *prometheus.CounterVec
	splitAmount     *prometheus.CounterVec
	transfers       *prometheus.CounterVec
	transferAmount  *prometheus.CounterVec
	reversals       *prometheus.CounterVec
	reversalAmount  *prometheus.CounterVec
	reportDelivered *prometheus.CounterVec
	backlog         *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		paymentUpdates: counter("paysplit_payment_updates_total",
			"Payment states persisted by the payment workflow, by the status they leave the payment in.", "status"),
		splits: counter("paysplit_splits_total", "Payments split into legs, by currency.", "currency"),
		splitAmount: counter("paysplit_split_amount_minor_total",
			"Sum of split legs in minor units, by currency and party.", "currency", "party"),
		transfers: counter("paysplit_transfers_total", "Stripe transfers to payees that succeeded, by currency.", "currency"),
		transferAmount: counter("paysplit_transfer_amount_minor_total",
			"Sum of successful Stripe transfers in minor units, by currency.", "currency"),
		reversals: counter("paysplit_reversals_total", "Stripe transfer reversals that succeeded, by currency.", "currency"),
		reversalAmount: counter("paysplit_reversal_amount_minor_total",
			"Sum of successful Stripe transfer reversals in minor units, by currency.", "currency"),
		reportDelivered: counter("paysplit_report_deliveries_total",
			"Report deliveries by channel and outcome.", "channel", "outcome"),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paysplit_task_queue_backlog",
			Help: "Approximate number of tasks waiting for a worker, by task queue and type (workflow, activity).",
		}, []string{"task_queue", "type"}),
	}
	reg.MustRegister(m.paymentUpdates, m.splits, m.splitAmount, m.transfers, m.transferAmount,
		m.reversals, m.reversalAmount, m.reportDelivered, m.backlog)
	return m
}

// PaymentSaved counts a persisted payment state.
func (m *Metrics) PaymentSaved(status string) { m.paymentUpdates.WithLabelValues(status).Inc() }

// SplitComputed counts a payment's split and the amount of each leg.
func (m *Metrics) SplitComputed(s split.Split) {
	cur := string(s.Currency)
	m.splits.WithLabelValues(cur).Inc()
	for _, l := range s.Legs {
		m.splitAmount.WithLabelValues(cur, string(l.Party)).Add(float64(l.Amount))
	}
}

// Transferred counts a successful transfer.
func (m *Metrics) Transferred(currency string, amount int64) {
	m.transfers.WithLabelValues(currency).Inc()
	m.transferAmount.WithLabelValues(currency).Add(float64(amount))
}

// Reversed counts a successful transfer reversal.
func (m *Metrics) Reversed(currency string, amount int64) {
	m.reversals.WithLabelValues(currency).Inc()
	m.reversalAmount.WithLabelValues(currency).Add(float64(amount))
}

// ReportDelivered counts a report delivery attempt's outcome.
func (m *Metrics) ReportDelivered(channel, outcome string) {
	m.reportDelivered.WithLabelValues(channel, outcome).Inc()
}
