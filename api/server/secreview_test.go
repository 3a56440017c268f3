package server_test

// Security review (branch review/security): each test here demonstrates a defect found by
// reviewing the HTTP surface and FAILS on the code it was written against.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/paypalhook"
	"paysplit/testenv"
)

// scrapeSeries returns the /metrics lines of one metric whose labels contain every given label.
func scrapeSeries(t *testing.T, baseURL, metric string, labels ...string) []string {
	t.Helper()
	res, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	var out []string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			out = append(out, line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// X-Shopify-Topic (like X-WC-Webhook-Topic) is not covered by the shop's HMAC, which signs the
// body only. A topic the API does not handle is answered "ignored" and counted in
// paysplit_webhook_events_total with the header's text as the `type` label, verbatim. Anyone
// holding one signed body (every client holds its own shop's secret) can mint a new time series
// per request: unbounded label cardinality in the API's shared registry (memory, and every
// scrape grows). The label should be a fixed word ("other") for topics not handled.
func TestSecReviewUnsignedTopicHeaderBecomesUnboundedMetricLabel(t *testing.T) {
	e := newShopEnv(t, nil, "")
	body := []byte(`{"id": 1}`)
	const n = 40
	for i := range n {
		d := shopifyDelivery(fmt.Sprintf("attacker/topic-%d-%s", i, strings.Repeat("x", 200)), fmt.Sprintf("dl-%d", i), body)
		code, out := e.post(e.client, d)
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "ignored", out["status"])
	}
	series := scrapeSeries(t, e.url, "paysplit_webhook_events_total", `provider="shopify"`, `outcome="ignored"`)
	require.LessOrEqual(t, len(series), 1,
		"each unsigned, caller-chosen topic became its own metric series (%d series), e.g. %.120s", len(series), strings.Join(series, "\n"))
}

// The offline PayPal verifier checks the transmission signature but never the signed
// PAYPAL-TRANSMISSION-TIME: a delivery captured once (a log, a proxy, a misrouted request) can be
// replayed at any later time and is accepted as fresh, while Stripe deliveries are refused after
// five minutes (signatureTolerance). Here the verifier's clock is two hours after the
// transmission; the delivery should be refused as stale (400 invalid_signature), it is accepted.
func TestSecReviewPayPalStaleTransmissionIsAccepted(t *testing.T) {
	pp := testenv.NewPayPal(t)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) } // cert is valid for 24h
	a := newAPI(t, func(d *server.Deps) {
		d.PayPalVerifier = server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient(), Now: later}}
		d.WebhookAck = server.AckOnStore
	})
	body := paypalCapture("acme", "CAPSTALE"+fmt.Sprint(time.Now().UnixNano()%1e9))
	h := pp.Sign(body)
	sent, err := time.Parse(time.RFC3339, h.Get("Paypal-Transmission-Time"))
	require.NoError(t, err)
	require.Greater(t, later().Sub(sent), time.Hour, "the transmission is more than an hour old by the verifier's clock")

	hr, err := http.NewRequest(http.MethodPost, a.url+"/webhooks/paypal", strings.NewReader(string(body)))
	require.NoError(t, err)
	for k, vs := range h {
		hr.Header[k] = vs
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode,
		"a PayPal delivery transmitted 2h ago was accepted: %s", raw)
}
