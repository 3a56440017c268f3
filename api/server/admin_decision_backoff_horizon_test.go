package server_test

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
	"paysplit/workflows/reconcile"
)

// TestDecisionPendingHorizonOutlastsEveryLocalActivityBackoff pins what decision_pending's tail read
// of a run's history assumes (backoffHorizon): a local activity's backoff timer started more than
// the horizon before the run's last event has fired, because no local activity of the payment
// workflow backs off longer than a tenth of it (a minute of ten), the rest being Temporal's
// leeway to fire a timer late. A retry policy whose cap is raised (or removed) past that would
// leave a backoff timer not fired yet out of the tail read: decision_pending would take a run
// waiting to retry a provider call for one at rest and let a second decision through.
//
// The policies are read from the workflow as it runs (a worker interceptor sees every local
// activity's options) through a hold, a release and its payout: the database steps
// (dbRetryPolicy), the payee check and the transfer (payoutRetryPolicy). The SDK caps a backoff at
// MaximumInterval (InitialInterval×100 when 0), unless the activity's error names its own delay
// (ApplicationError's NextRetryDelay), which nothing in the module may do unnoticed.
func TestDecisionPendingHorizonOutlastsEveryLocalActivityBackoff(t *testing.T) {
	limit := server.BackoffHorizon() / 10

	t.Run("the retry policies the workflow runs its local activities with", func(t *testing.T) {
		seen := &localActivityPolicies{backoff: map[string]time.Duration{}}
		st := stackpkg.New(t, stackpkg.Options{Settings: payment.Settings{SettleWindow: 0}, WebhookAck: server.AckOnTemporal, NoWorker: true})
		startInterceptedWorker(t, st, seen)
		s := &stack{Stack: st, t: t, api: st.API, tc: st.Temporal, ledger: st.Ledger, stripe: st.Stripe, paypal: st.PayPal}

		client := uniqueName("horizon")
		id := s.heldPayment(client, "pi_"+client, "vendor")
		code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor",
			map[string]any{"client_id": client, "kind": "vendor", "stripe_account": uniqueAccount("horizon")}, adminKey)
		require.Equal(t, http.StatusOK, code, body)
		code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
		require.Equal(t, http.StatusAccepted, code, body)
		s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)

		got := seen.snapshot()
		for _, step := range []string{"Prepare", "SaveAndBook", "ResolvePayee", "Transfer"} {
			require.Contains(t, got, step, "the run's local activities: %v", got)
		}
		for step, backoff := range got {
			require.LessOrEqual(t, backoff, limit,
				"local activity %s backs off up to %s: decision_pending's tail read (backoffHorizon %s) assumes at most a tenth of its horizon; raise backoffHorizon with the cap",
				step, backoff, server.BackoffHorizon())
		}
	})

	t.Run("no error of the module names its own retry delay", func(t *testing.T) {
		root, err := filepath.Abs("../..")
		require.NoError(t, err)
		var named []string
		require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), "NextRetryDelay") {
				named = append(named, path)
			}
			return nil
		}))
		require.Empty(t, named, "an activity error with NextRetryDelay backs off past its policy's MaximumInterval: check it against backoffHorizon")
	})
}

// localActivityPolicies records, by activity type, the longest backoff the SDK gives a local
// activity under the retry policy the workflow ran it with.
type localActivityPolicies struct {
	interceptor.WorkerInterceptorBase
	mu      sync.Mutex
	backoff map[string]time.Duration
}

func (p *localActivityPolicies) snapshot() map[string]time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]time.Duration, len(p.backoff))
	for k, v := range p.backoff {
		out[k] = v
	}
	return out
}

func (p *localActivityPolicies) record(activityType string, policy *temporal.RetryPolicy) {
	// The SDK's defaults for a local activity (applyRetryPolicyDefaultsForLocalActivity).
	initial, longest := time.Second, time.Duration(0)
	if policy != nil {
		if policy.InitialInterval > 0 {
			initial = policy.InitialInterval
		}
		longest = policy.MaximumInterval
	}
	if longest <= 0 {
		longest = 100 * initial
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff[activityType] = max(p.backoff[activityType], longest)
}

func (p *localActivityPolicies) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &policyInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, p: p}
}

type policyInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	p *localActivityPolicies
}

func (i *policyInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&policyOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, p: i.p})
}

type policyOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	p *localActivityPolicies
}

func (o *policyOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.p.record(activityType, workflow.GetLocalActivityOptions(ctx).RetryPolicy)
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

// startInterceptedWorker is the stack's in-process worker (testenv/stack startWorker) with the
// interceptor p.
func startInterceptedWorker(t *testing.T, s *stackpkg.Stack, p *localActivityPolicies) {
	t.Helper()
	pp, err := activities.NewPayPalClient("paysplit-test", stackpkg.PayPalSecret, s.PayPal.APIBase, s.PayPal.HTTPClient())
	require.NoError(t, err)
	stripeClient := activities.NewStripeClient(stackpkg.StripeKey, s.Stripe.URL, nil)
	wc, err := client.Dial(client.Options{HostPort: s.TemporalURL, Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	require.NoError(t, err)
	t.Cleanup(wc.Close)
	opts := stackpkg.WorkerOptions()
	opts.Interceptors = append(opts.Interceptors, p)
	w := worker.New(wc, s.Queue, opts)
	payment.Register(w)
	reconcile.Register(w)
	st := store.New(s.Pool)
	w.RegisterActivity(&activities.Activities{Store: st, Ledger: ledger.New(s.Pool), Stripe: stripeClient, PayPal: pp,
		Runs: activities.TemporalRuns{Client: wc, SavedQuery: payment.QuerySaved}})
	w.RegisterActivity(&activities.Reconciler{Store: st, Stripe: stripeClient, PayPal: pp})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}
