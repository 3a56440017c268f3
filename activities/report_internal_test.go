package activities

import "testing"

func TestRedactAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"550 5.1.1 <owner@shop.example>: Recipient address rejected", "550 5.1.1 <<address>>: Recipient address rejected"},
		{"mailer: send report-acme-2026-W07-1@paysplit.reports via smtp:25: dial tcp: refused",
			"mailer: send <address> via smtp:25: dial tcp: refused"},
		{"no address here", "no address here"},
	}
	for _, tc := range tests {
		if got := redactAddresses(tc.in); got != tc.want {
			t.Errorf("redactAddresses(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
