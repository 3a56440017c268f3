// Package searchattr holds the typed search-attribute keys that payment workflows carry, so the
// workflows, the dev server launcher and the docs name them in one place.
package searchattr

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Keys admins filter on in the Temporal UI (see README, "Temporal search attributes").
var (
	ClientID      = temporal.NewSearchAttributeKeyKeyword("ClientId")
	VendorID      = temporal.NewSearchAttributeKeyKeyword("VendorId")
	OrderID       = temporal.NewSearchAttributeKeyKeyword("OrderId")
	PaymentStatus = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")
	AmountMinor   = temporal.NewSearchAttributeKeyInt64("AmountMinor")
	Currency      = temporal.NewSearchAttributeKeyKeyword("Currency")
)

// Definitions lists every key with its index type, for registering them on a cluster.
func Definitions() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		ClientID.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		VendorID.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		OrderID.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		PaymentStatus.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		AmountMinor.GetName():   enumspb.INDEXED_VALUE_TYPE_INT,
		Currency.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// CLIFlags renders the definitions as `temporal server start-dev --search-attribute` values.
func CLIFlags() []string {
	var out []string
	for name, t := range Definitions() {
		kind := "Keyword"
		if t == enumspb.INDEXED_VALUE_TYPE_INT {
			kind = "Int"
		}
		out = append(out, name+"="+kind)
	}
	return out
}
