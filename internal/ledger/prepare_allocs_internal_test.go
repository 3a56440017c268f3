package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
)

// paymentBatch is what a payment's final SaveAndBook posts: its capture split three ways and two
// transfers.
func paymentBatch() []Entry {
	ref := "payment-stripe-pi_1"
	return []Entry{
		{IdempotencyKey: ref + "/capture", Currency: "usd", Reference: ref, Description: "capture pi_1 split v1", Postings: []Posting{
			{Account: ProviderBalance("stripe"), Amount: 10000}, {Account: PlatformRevenue, Amount: -1000},
			{Account: VendorPayable("c-vendor-1"), Amount: -8500}, {Account: AffiliatePayable("c-aff-1"), Amount: -500},
		}},
		{IdempotencyKey: ref + "/transfer/vendor-c-vendor-1", Currency: "usd", Reference: ref, Description: "transfer tr_1 to c-vendor-1", Postings: []Posting{
			{Account: VendorPayable("c-vendor-1"), Amount: 8500}, {Account: ProviderBalance("stripe"), Amount: -8500},
		}},
		{IdempotencyKey: ref + "/transfer/affiliate-c-aff-1", Currency: "usd", Reference: ref, Description: "transfer tr_2 to c-aff-1", Postings: []Posting{
			{Account: AffiliatePayable("c-aff-1"), Amount: 500}, {Account: ProviderBalance("stripe"), Amount: -500},
		}},
	}
}

// TestPreparingAPaymentBatchAllocates counts the allocations of what PostBatch does in Go before
// its one round trip, for a payment's batch: checking each entry (which keeps a copy of its
// postings), its content hash and the statement's arguments. As found it made 73 for this batch:
// each posting checked cost a formatted field name and a big.Int whether or not it was wrong, the
// hash a sorted copy, a hasher, a growing buffer and its text twice, the arguments' posting
// arrays grew by appends and each entry's loop copy moved to the heap.
func TestPreparingAPaymentBatchAllocates(t *testing.T) {
	entries := paymentBatch()
	prepared := make([]Entry, len(entries))
	hashes := make([]string, len(entries))
	allocs := testing.AllocsPerRun(200, func() {
		for i, e := range entries {
			n, err := normalize(e)
			if err != nil {
				t.Fatal(err)
			}
			prepared[i], hashes[i] = n, contentHash(n)
		}
		_ = batchArgs(prepared, hashes)
	})
	t.Logf("%.0f allocations for a batch of %d entries", allocs, len(entries))
	// Per entry its postings' copy and its hash's text; the arguments' nine arrays, each boxed in
	// the []any that holds them.
	assert.LessOrEqual(t, allocs, float64(2*len(entries)+9+9+1))
}

// contentHashAsFound is contentHash as it was before it hashed on the stack: the stored hashes
// must not change by a bit.
func contentHashAsFound(e Entry) string {
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), cmp.Compare(a.Amount, b.Amount))
	})
	h := sha256.New()
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(len(e.Currency)))
	buf = append(buf, e.Currency...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.ReversesID))
	buf = binary.AppendUvarint(buf, uint64(len(ps)))
	for _, p := range ps {
		buf = binary.AppendUvarint(buf, uint64(len(p.Account)))
		buf = append(buf, p.Account...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(p.Amount))
	}
	h.Write(buf)
	return "v1:" + hex.EncodeToString(h.Sum(nil))
}

// TestContentHashUnchanged: the same hash as before for entries of every size, past the stack's
// eight postings and 512 bytes too.
func TestContentHashUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	entries := paymentBatch()
	for range 500 {
		n := 2 + rng.IntN(20)
		e := Entry{Currency: money.Currency([]string{"usd", "jpy", "eur"}[rng.IntN(3)]), ReversesID: rng.Int64N(3) * rng.Int64N(1<<40)}
		for range n {
			account := strings.Repeat("a", rng.IntN(3)) + "vendor_payable:v" + strings.Repeat("x", rng.IntN(200))
			e.Postings = append(e.Postings, Posting{Account: account, Amount: rng.Int64() - rng.Int64()})
		}
		entries = append(entries, e)
	}
	for _, e := range entries {
		require.Equal(t, contentHashAsFound(e), contentHash(e), "%+v", e)
	}
}

// TestNormalizeRefusesAsBefore: the sum in int64 refuses what the big sum refused, with the same
// words, and accepts a zero total whose partial sums overflow.
func TestNormalizeRefusesAsBefore(t *testing.T) {
	entry := func(amounts ...int64) Entry {
		e := Entry{IdempotencyKey: "k", Currency: "usd"}
		for i, a := range amounts {
			e.Postings = append(e.Postings, Posting{Account: fmt.Sprintf("a%d", i), Amount: a})
		}
		return e
	}
	for _, tt := range []struct {
		name    string
		e       Entry
		wantErr string // "" for none
	}{
		{"balanced", entry(5, -3, -2), ""},
		{"unbalanced", entry(5, -3), "ledger: entry is unbalanced: postings sum to 2 USD instead of 0"},
		{"partial sums overflow, total zero", entry(math.MaxInt64, 1, -math.MaxInt64, -1), ""},
		{"partial sums overflow, total not zero", entry(math.MaxInt64, math.MaxInt64, 1), "ledger: entry is unbalanced: postings sum to 18446744073709551615 USD instead of 0"},
		{"a blank account", Entry{IdempotencyKey: "k", Currency: "usd", Postings: []Posting{{Account: "a", Amount: 1}, {Account: " ", Amount: -1}}},
			"ledger: invalid entry: posting 1 account is empty"},
		{"an account too long", Entry{IdempotencyKey: "k", Currency: "usd", Postings: []Posting{{Account: strings.Repeat("a", 1025), Amount: 1}, {Account: "b", Amount: -1}}},
			"ledger: invalid entry: posting 0 account is 1025 bytes, at most 1024 are stored"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := normalize(tt.e)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}
