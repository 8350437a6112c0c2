package order

import (
	"context"
	"time"
)

// The fulfillment agent's API, as the order agent calls it. Kept in this
// one file so it is easy to follow the fulfillment agent's shape.

type fulfillmentName struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

type fulfillmentAddress struct {
	Lines      []string `json:"lines"`
	City       string   `json:"city"`
	PostalCode string   `json:"postal_code"`
	Country    string   `json:"country"`
}

type fulfillmentItem struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Digital orders ship nothing; their notification names this carrier and
// the order's ref as its tracking number.
const digitalCarrier = "digital-delivery"

func fulfillmentItems(o *Order) []fulfillmentItem {
	items := make([]fulfillmentItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = fulfillmentItem{SKU: it.SKU, Qty: it.Qty}
	}
	return items
}

// label asks POST /v1/fulfillment/label for a shipping label.
func (s *Service) label(ctx context.Context, o *Order) (Label, result) {
	req := struct {
		OrderID string             `json:"order_id"`
		Name    fulfillmentName    `json:"name"`
		Address fulfillmentAddress `json:"address"`
		Items   []fulfillmentItem  `json:"items"`
	}{o.Ref, fulfillmentName{o.Customer.First, o.Customer.Last},
		fulfillmentAddress{o.Address.Lines, o.Address.City, o.Address.PostalCode, o.Address.Country}, fulfillmentItems(o)}
	r := s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.FulfillmentURL+"/v1/fulfillment/label", s.cfg.FulfillmentDID, ActionLabel, req)
	var l Label
	if r.decode(&l) && (l.Carrier == "" || l.TrackingNumber == "") {
		r.reason, r.detail = reasonBadResponse, "no carrier or tracking number"
	}
	return l, r
}

// notify asks POST /v1/fulfillment/notify to write the customer's
// notification.
func (s *Service) notify(ctx context.Context, o *Order) result {
	l := Label{Carrier: digitalCarrier, TrackingNumber: o.Ref}
	if o.Label != nil {
		l = *o.Label
	}
	req := struct {
		OrderID        string            `json:"order_id"`
		FirstName      string            `json:"first_name"`
		Items          []fulfillmentItem `json:"items"`
		Carrier        string            `json:"carrier"`
		TrackingNumber string            `json:"tracking_number"`
		Note           string            `json:"note"`
	}{o.Ref, o.Customer.First, fulfillmentItems(o), l.Carrier, l.TrackingNumber, o.Note}
	return s.retry(ctx, time.Duration(s.cfg.StepRetry), s.cfg.FulfillmentURL+"/v1/fulfillment/notify", s.cfg.FulfillmentDID, ActionNotify, req)
}
