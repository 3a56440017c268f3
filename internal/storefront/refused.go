package storefront

import "encoding/json"

// RefusedOrderID is the ID of the order a delivery that could not be read is about, as far as the
// body names one ("" when it does not, or not as a valid ID), so a refused delivery can be found
// by its order. It decodes the ID fields only: nothing of the customer is read.
func RefusedOrderID(platform, topic string, body []byte) string {
	var ids struct {
		ID      flexID `json:"id"`
		OrderID flexID `json:"order_id"`
		Number  flexID `json:"number"`
	}
	if json.Unmarshal(body, &ids) != nil {
		return ""
	}
	var id string
	switch {
	case platform == Shopify && topic == ShopifyRefundsCreate:
		id = string(ids.OrderID)
	case platform == Shopify:
		id = string(ids.ID)
	case platform == WooCommerce:
		id = string(ids.Number) // the order number, as normalize takes it
		if id == "" {
			id = string(ids.ID)
		}
	}
	if !idPattern.MatchString(id) {
		return ""
	}
	return id
}
