package storefront

import "encoding/json"

// RefusedOrderID is the ID of the order a delivery that could not be read is about, as far as the
// body names one ("" when it does not, or not as a valid ID), so a refused delivery can be found
// by its order. It decodes the ID fields only: nothing of the customer is read.
func RefusedOrderID(platform, topic string, body []byte) string {
	if platform == Instagram {
		return metaDeliveryOrderID(body)
	}
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

// metaDeliveryOrderID is the order a Meta delivery's commerce_orders changes are all about ("" when
// they name several, or none that is a valid ID): Meta names it inside each change.
func metaDeliveryOrderID(body []byte) string {
	var env metaEnvelope
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	id := ""
	for _, e := range env.Entry {
		for _, ch := range e.Changes {
			if ch.Field != MetaOrdersField {
				continue
			}
			this := metaChangeID(ch.Value)
			if this == "" || id != "" && this != id {
				return ""
			}
			id = this
		}
	}
	return id
}
