package mailer_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/mailer"
)

func TestIsolate(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"latin unchanged", "Northwind 24", "Northwind 24"},
		{"japanese unchanged", "さくら雑貨店", "さくら雑貨店"},
		{"hebrew", "חנות 24", "\u2068חנות 24\u2069"},
		{"arabic", "متجر الورد", "\u2068متجر الورد\u2069"},
		{"arabic-indic digits only", "٢٤", "\u2068٢٤\u2069"},
		{"an override", "a\u202Eb", "\u2068a\u202Eb\u2069"},
		{"its own isolates are dropped", "\u2069חנות\u2067", "\u2068חנות\u2069"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mailer.Isolate(tc.in))
		})
	}
}
