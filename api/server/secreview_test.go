package server_test

// Security review (branch review/security): each test here demonstrates a defect found by
// reviewing the HTTP surface and FAILS on the code it was written against.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	"paysplit/internal/paypalevent"
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

// PayPal signs transmission_id|time|webhook_id|CRC32(body): CRC32 is no cryptographic hash, so a
// body is bound to its signature only by 32 linear bits. The API keeps no record of transmission
// IDs (and, above, no freshness window), so the headers of one genuine delivery authenticate any
// other body with the same CRC32, which takes 4 chosen bytes to make. Here a genuine 110.00 USD
// capture is delivered, then its very headers carry a forged 9,999.00 USD capture of another ID:
// it should be refused as a replayed transmission, it is accepted and its payment workflow
// started.
func TestSecReviewPayPalReplayedTransmissionCarriesAForgedBody(t *testing.T) {
	pp := testenv.NewPayPal(t)
	a := newAPI(t, func(d *server.Deps) {
		d.PayPalVerifier = server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, HTTP: pp.HTTPClient()}}
		d.WebhookAck = server.AckOnStore
	})
	post := func(body []byte, h http.Header) (int, string) {
		hr, err := http.NewRequest(http.MethodPost, a.url+"/webhooks/paypal", bytes.NewReader(body))
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
		return res.StatusCode, string(raw)
	}
	n := time.Now().UnixNano() % 1e9
	genuine := paypalCapture("acme", fmt.Sprintf("CAPREAL%d", n))
	h := pp.Sign(genuine)
	code, out := post(genuine, h)
	require.Equal(t, http.StatusOK, code, out)

	forged := forgeCRC32(t, crc32.ChecksumIEEE(genuine), func(nonce int, pad string) []byte {
		return paypalevent.Build(fmt.Sprintf("WH-FORGED-%d-%d", n, nonce), "PAYMENT.CAPTURE.COMPLETED", time.Now(), map[string]any{
			"id": fmt.Sprintf("CAPFORGED%d", n), "status": "COMPLETED", "amount": paypalevent.Amount(999900, "usd"),
			"custom_id": "client_id=acme&order_id=order-forged&vendor_id=acme-vendor", "note": pad,
		})
	})
	require.NotEqual(t, genuine, forged)
	require.Equal(t, crc32.ChecksumIEEE(genuine), crc32.ChecksumIEEE(forged))
	code, out = post(forged, h)
	require.NotEqual(t, http.StatusOK, code, "a forged 9,999.00 USD capture was accepted under a replayed transmission's headers: %s", out)
}

// forgeCRC32 builds bodies with a 4-character pad until one, with the pad solved for, has the
// wanted CRC32 and a pad of printable JSON-safe characters.
func forgeCRC32(t *testing.T, want uint32, build func(nonce int, pad string) []byte) []byte {
	t.Helper()
	const marker = "QQQQ"
	for nonce := range 100000 {
		tmpl := build(nonce, marker)
		at := bytes.Index(tmpl, []byte(marker))
		require.GreaterOrEqual(t, at, 0)
		withPad := func(x uint32) []byte {
			b := bytes.Clone(tmpl)
			binary.LittleEndian.PutUint32(b[at:], x)
			return b
		}
		// CRC32 is affine in the message bits: crc(x) = crc(0) ^ L(x). Solve L(x) = want ^ crc(0).
		base := crc32.ChecksumIEEE(withPad(0))
		var cols [32]uint32
		for i := range 32 {
			cols[i] = crc32.ChecksumIEEE(withPad(1<<i)) ^ base
		}
		x, ok := solveGF2(cols, want^base)
		if !ok {
			continue
		}
		b := withPad(x)
		good := true
		for _, c := range b[at : at+4] {
			good = good && c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
		}
		if good {
			require.Equal(t, want, crc32.ChecksumIEEE(b))
			return b
		}
	}
	t.Fatal("no forgery found")
	return nil
}

// solveGF2 finds x with XOR of cols[i] for every bit i set in x equal to target.
func solveGF2(cols [32]uint32, target uint32) (uint32, bool) {
	// Rows: equation per output bit r: sum_i bit_r(cols[i]) x_i = bit_r(target).
	var rows [32]uint64 // low 32 bits: coefficients, bit 32: right-hand side
	for r := range 32 {
		var row uint64
		for i := range 32 {
			if cols[i]>>r&1 == 1 {
				row |= 1 << i
			}
		}
		row |= uint64(target>>r&1) << 32
		rows[r] = row
	}
	for col := range 32 {
		pivot := -1
		for r := col; r < 32; r++ {
			if rows[r]>>col&1 == 1 {
				pivot = r
				break
			}
		}
		if pivot < 0 {
			return 0, false
		}
		rows[col], rows[pivot] = rows[pivot], rows[col]
		for r := range 32 {
			if r != col && rows[r]>>col&1 == 1 {
				rows[r] ^= rows[col]
			}
		}
	}
	var x uint32
	for i := range 32 {
		x |= uint32(rows[i]>>32&1) << i
	}
	return x, true
}

// Echo's RequestID middleware keeps an X-Request-Id the caller sent, verbatim and of any length,
// and that value is what the append-only audit log records as the change's request ID (and what
// every access and error log line carries). A caller can thus make an admin change's audit entry
// point at another request, or bloat the log that nothing can be erased from. The ID should be
// the server's own (or a bounded, validated one from a trusted proxy).
func TestSecReviewCallerChosenRequestIDIsWrittenToTheAuditLog(t *testing.T) {
	a := newAPI(t, nil)
	c := a.newClient("rid")
	forged := "req-of-another-change-" + strings.Repeat("a", 16<<10)
	code, body := a.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + c, key: adminKey,
		body: map[string]any{"name": "Renamed Shop", "default_currency": "usd"}, header: map[string]string{"X-Request-Id": forged}})
	require.Equal(t, http.StatusOK, code, body)
	entries := a.auditOf("client:" + c)
	require.NotEmpty(t, entries)
	got, _ := entries[0]["request_id"].(string)
	require.False(t, got == forged, "the audit entry's request_id is the caller's own %d-byte X-Request-Id %.30q...", len(got), got)
}
