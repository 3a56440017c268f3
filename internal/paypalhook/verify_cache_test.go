package paypalhook_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalhook"
	"paysplit/testenv"
)

// The certificate is fetched and cached by its URL before any signature is checked, so the URL
// is the sender's choice, any sender's: only its host and path were checked. Each delivery naming
// PayPal's certificate under a URL of its own (a query PayPal ignores, the host in another letter
// case) made us download the certificate from PayPal again and keep one more copy for as long as
// the certificate is valid (years): an unsigned request apiece grew the API's memory without
// bound and sent PayPal's certificate host a download per forged request from our address, which
// PayPal may rate-limit, leaving the deliveries it really signed unverified (503) meanwhile.
// PayPal's certificate URLs carry no query or fragment; one certificate is one URL, whatever the
// host's letter case or an explicit default port.
func TestVerifyForgedDeliveriesCannotGrowTheCertificateCache(t *testing.T) {
	pp := testenv.NewPayPal(t)
	c := pp.HTTPClient()
	counted := &countingTransport{next: c.Transport}
	c.Transport = counted
	v := &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: c}
	body := []byte(`{"id":"WH-9","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP9"}}`)
	genuine := paypalhook.HeadersFrom(pp.Sign(body))
	require.NoError(t, v.Verify(context.Background(), genuine, body))
	require.EqualValues(t, 1, counted.n.Load())

	host := strings.TrimPrefix(strings.SplitN(genuine.CertURL, "/v1/", 2)[0], "https://")
	path := "/v1/" + strings.SplitN(genuine.CertURL, "/v1/", 2)[1]
	var variants []string
	for i := range 20 {
		variants = append(variants, fmt.Sprintf("%s?n=%d", genuine.CertURL, i), fmt.Sprintf("%s#%d", genuine.CertURL, i))
	}
	variants = append(variants, "https://"+strings.ToUpper(host)+path, "https://"+host+":443"+path,
		"https://"+strings.ToUpper(host[:1])+host[1:]+path, genuine.CertURL+"?")
	errs := map[string]error{}
	for _, u := range variants {
		forged := genuine
		forged.CertURL = u
		forged.TransmissionSig = "AAAA" // no signature of PayPal's
		errs[u] = v.Verify(context.Background(), forged, body)
	}
	require.EqualValues(t, 1, counted.n.Load(), "the one certificate downloaded once, whatever URL a sender wrote for it")
	for u, err := range errs {
		require.True(t, errors.Is(err, paypalhook.ErrUnverified), "%s: %v", u, err)
	}

	// PayPal's own deliveries still verify, from the cache.
	require.NoError(t, v.Verify(context.Background(), genuine, body))
	require.EqualValues(t, 1, counted.n.Load())
}
