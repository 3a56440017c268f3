package storefront

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// TikTokOrderStatusChange is the push type of TikTok Shop's ORDER_STATUS_CHANGE webhook.
const TikTokOrderStatusChange = 1

// tiktokPush is TikTok Shop's webhook envelope.
type tiktokPush struct {
	Type           int             `json:"type"`
	NotificationID string          `json:"tts_notification_id"`
	ShopID         string          `json:"shop_id"`
	Data           json.RawMessage `json:"data"`
}

type tiktokOrderStatus struct {
	OrderID     flexID `json:"order_id"`
	OrderStatus string `json:"order_status"`
	UpdateTime  int64  `json:"update_time"`
}

// ParseTikTok reads one TikTok Shop push. An ORDER_STATUS_CHANGE (type 1) carries the order's ID
// and new status but no amounts, so it updates the status of an order stored earlier; every other
// type is ignored. Once the envelope is read, an error comes with the push's shop (Result.Shop,
// nothing else): the API checks a bound client's shop before refusing the push as its order.
func ParseTikTok(body []byte) (Result, error) {
	var p tiktokPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Result{}, malformed(TikTok, err)
	}
	if p.NotificationID == "" {
		return Result{}, malformed(TikTok, fmt.Errorf("tts_notification_id is missing"))
	}
	res := Result{Topic: "type_" + strconv.Itoa(p.Type), DeliveryID: p.NotificationID, Shop: p.ShopID}
	if p.Type != TikTokOrderStatusChange {
		res.Ignored = true
		return res, nil
	}
	res.Topic = "order_status_change"
	shop := Result{Shop: p.ShopID}
	var d tiktokOrderStatus
	if err := json.Unmarshal(p.Data, &d); err != nil {
		return shop, malformed(TikTok, fmt.Errorf("data: %w", err))
	}
	// update_time is when the order changed. The push's own timestamp is another clock (when
	// the push was sent), so a push without update_time names no time rather than that one:
	// times of two clocks are never compared.
	u := StatusUpdate{OrderID: string(d.OrderID), Status: status(d.OrderStatus), ShopTime: unixTime(d.UpdateTime)}
	if err := validID("data.order_id", u.OrderID); err != nil {
		return shop, err
	}
	if u.Status == "" {
		return shop, fmt.Errorf("%w: data.order_status is missing", ErrInvalidOrder)
	}
	res.Updates = []StatusUpdate{u}
	return res, nil
}
