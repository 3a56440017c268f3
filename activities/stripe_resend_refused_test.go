package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/testenv"
)

// A key is sent again when an earlier send's outcome was never learnt (its answer lost, the
// attempt timed out while Stripe worked). Stripe answers a request whose key it knows with the
// first send's saved answer, the transfer it made, but only once the request gets that far: our
// API key refused (401: a restricted key rotated or revoked) or not allowed the endpoint (403: a
// permission removed), Stripe answers before it looks at the key, and saves nothing under it.
// Such a refusal of the lookup of the key, or of a re-send not looked up first (a run from before
// keys went into metadata), says nothing of the movement an earlier send may have made; yet it was
// classified like Stripe refusing the movement, ErrTypeRejected, which the workflow takes as "not
// made, key spent": the next attempt sent a new key, and the payee was paid (or the transfer
// reversed) twice. A key no earlier send may have made, or one the lookup found nothing under, is
// refused as before (403, 400): the refusal is the movement's own. A 401 never is: it refuses our
// API key (rotated, revoked), nothing of the movement, and taken as the movement's refusal, a
// platform key rotated without the deployment refused every leg's transfer and every reversal of
// every payment (a new key and an admin's decision each); it is retried under the key, naming
// STRIPE_API_KEY, and the movement is made once the key is fixed.
func TestStripeRefusalOfAKeySentBeforeIsNoRefusalOfTheMovement(t *testing.T) {
	tests := []struct {
		name string
		// first is what came of the key's first send: "" none was made; "lost": the movement was
		// made and its answer lost; "500": Stripe answered 500 and made nothing.
		first string
		// lookable: the metadata names the key, so a send in doubt looks it up first.
		lookable bool
		// refused is what Stripe refuses of the next send: its lookup (GET) or the movement (POST).
		refused string
		// wantRejected: the refusal is the movement's own.
		wantRejected bool
	}{
		{name: "made, its lookup refused", first: "lost", lookable: true, refused: http.MethodGet},
		{name: "made, sent again unlooked (no key in metadata), refused", first: "lost", refused: http.MethodPost},
		{name: "never sent, refused", lookable: true, refused: http.MethodPost, wantRejected: true},
		{name: "looked up and none made, refused", first: "500", lookable: true, refused: http.MethodPost, wantRejected: true},
	}
	f := newFixture(t)
	for n, tt := range tests {
		answer := func(h *resendHooks, r *http.Request, status int) (int, string, bool) {
			switch {
			case h.refuse && r.Method == tt.refused:
				return status, stripeRefusals[status], false
			case r.Method != http.MethodPost:
				return 0, "", false
			case h.sends == 1 && tt.first == "500":
				return http.StatusInternalServerError, `{"error":{"type":"api_error","message":"injected 500"}}`, false
			}
			return 0, "", h.sends == 1 && tt.first == "lost"
		}
		resendSubtests(t, f, tt.name, n*1000, answer, func(t *testing.T, m resendMovement, h *resendHooks, status int) {
			ctx := context.Background()
			asked := tt.first != ""
			if asked {
				_, err := m.send(ctx, false, tt.lookable)
				require.Error(t, err, "the first send's answer")
				requireRetryable(t, err)
			}
			h.setRefuse(true)
			_, err := m.send(ctx, asked, tt.lookable)
			h.setRefuse(false)
			require.Error(t, err, "the refused send")
			if tt.wantRejected && status == http.StatusUnauthorized {
				requireRetryable(t, err)
				require.ErrorContains(t, err, "STRIPE_API_KEY")
				require.Empty(t, m.made(), "nothing made under the key")
				// Our key works again: the same key makes the movement, once.
				id, err := m.send(ctx, asked, tt.lookable)
				require.NoError(t, err)
				require.Equal(t, []string{id}, m.made())
				return
			}
			if tt.wantRejected {
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.Empty(t, m.made(), "nothing made under the key")
				return
			}
			requireRetryable(t, err)

			// Our key works again: the same key answers the movement the first send made.
			id, err := m.send(ctx, true, tt.lookable)
			require.NoError(t, err)
			require.Equal(t, []string{id}, m.made(), "one movement under the key, the one answered")
		})
	}
}

// resendMovement is a transfer or a reversal sent under one key: path is where it is sent (and its
// lookups go), made lists what Stripe made under the key.
type resendMovement struct {
	name, key, path string
	send            func(ctx context.Context, asked, lookable bool) (string, error)
	made            func() []string
}

func resendMovements(t *testing.T, f fixture, n int) []resendMovement {
	trKey := fmt.Sprintf("payment-stripe-pi_resend%d_%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
	revKey := trKey + "/refund"
	group := fmt.Sprintf("o-resend-%d", n)
	metadata := func(key string, lookable bool) map[string]string {
		md := map[string]string{"workflow_id": "wf", "party": "vendor", "payee_id": "v1"}
		if lookable {
			md[activities.MetaIdempotencyKey] = key
		}
		return md
	}
	base, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: trKey + "/base", Destination: "acct_v1",
		Amount: 5000, Currency: "usd", TransferGroup: group})
	require.NoError(t, err)
	return []resendMovement{
		{name: "transfer", key: trKey, path: "/v1/transfers",
			send: func(ctx context.Context, asked, lookable bool) (string, error) {
				out, err := f.a.Transfer(ctx, activities.TransferInput{IdempotencyKey: trKey, Destination: "acct_v1", Amount: 2500,
					Currency: "usd", TransferGroup: group, Metadata: metadata(trKey, lookable), Asked: asked})
				return out.TransferID, err
			},
			made: func() []string {
				var ids []string
				for _, tr := range f.proxy.Transfers() {
					if tr.IdempotencyKey == trKey {
						ids = append(ids, tr.ID)
					}
				}
				return ids
			}},
		{name: "reversal", key: revKey, path: "/v1/transfers/" + base.TransferID + "/reversals",
			send: func(ctx context.Context, asked, lookable bool) (string, error) {
				out, err := f.a.ReverseTransfer(ctx, activities.ReverseTransferInput{IdempotencyKey: revKey, TransferID: base.TransferID,
					Amount: 1000, Currency: "usd", Metadata: metadata(revKey, lookable), Asked: asked})
				return out.ReversalID, err
			},
			made: func() []string {
				var ids []string
				for _, tr := range f.proxy.Transfers() {
					for _, rv := range tr.Reversals {
						if rv.IdempotencyKey == revKey {
							ids = append(ids, rv.ID)
						}
					}
				}
				return ids
			}},
	}
}

// resendHooks is what a re-send subtest's proxy hooks share with it, guarded by mu: sends counts
// the sends (POSTs) under the movement's key so far, lose has the proxy lose the next one's answer,
// refuse is the test's to set (setRefuse) and its answer's to read.
type resendHooks struct {
	mu     sync.Mutex
	sends  int
	lose   bool
	refuse bool
}

func (h *resendHooks) setRefuse(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refuse = on
}

// resendSubtests runs run as a subtest "<name>/<status>/<movement>" for each status Stripe refuses
// a request with before it looks at the key (stripeRefusals) and each of resendMovements, under
// keys of their own (seed and the status make them), with the Stripe proxy in front of stripe-mock
// hooked for the movement's key until the subtest ends: answer is asked, under the hooks' lock, of
// each lookup (GET) of the movement's path and each send (POST) to it under its key, h.sends
// counting that send. A status it returns is answered and nothing made; 0 lets the request
// through to stripe-mock, and on a send lose says whether the proxy loses the answer once the
// movement is made (the caller cannot tell it was).
func resendSubtests(t *testing.T, f fixture, name string, seed int,
	answer func(h *resendHooks, r *http.Request, status int) (code int, body string, lose bool),
	run func(t *testing.T, m resendMovement, h *resendHooks, status int)) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest} {
		for _, m := range resendMovements(t, f, seed+status) {
			t.Run(fmt.Sprintf("%s/%d/%s", name, status, m.name), func(t *testing.T) {
				h := &resendHooks{}
				f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
					send := r.Method == http.MethodPost
					if r.URL.Path != m.path || send && r.Header.Get("Idempotency-Key") != m.key {
						return 0, ""
					}
					h.mu.Lock()
					defer h.mu.Unlock()
					if send {
						h.sends++
					}
					code, body, lose := answer(h, r, status)
					if send && code == 0 {
						h.lose = lose
					}
					return code, body
				}
				f.proxy.LoseAnswer = func(c testenv.StripeCall) bool {
					h.mu.Lock()
					defer h.mu.Unlock()
					lost := h.lose && c.Method == http.MethodPost && c.IdempotencyKey == m.key
					h.lose = h.lose && !lost
					return lost
				}
				t.Cleanup(func() { f.proxy.Inject, f.proxy.LoseAnswer = nil, nil })
				run(t, m, h, status)
			})
		}
	}
}

// stripeRefusals are Stripe's answers to a request it refuses before it looks at the key: our API
// key refused, not allowed the endpoint, a validation failure.
var stripeRefusals = map[int]string{
	http.StatusUnauthorized: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: rk_live_********abcd"}}`,
	http.StatusForbidden: `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_live_********abcd' does not ` +
		`have the required permissions for this endpoint on account 'acct_platform'."}}`,
	http.StatusBadRequest: `{"error":{"type":"invalid_request_error","message":"injected refusal"}}`,
}
