package fulfillment

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Bounds on requests. The guard bounds the body at 64 KiB already; these
// are the fulfillment agent's own, tighter ones. The customer's data (the
// name, the address, the note and the items) follows agents/customer, the
// same rules the order agent applies before it reserves or charges.
const (
	MaxRequestBytes = jsonapi.MaxRequestBytes
	MaxItems        = customer.MaxItems
	MaxQty          = customer.MaxQty
	MaxNoteChars    = customer.MaxNoteChars
	maxIDLen        = 128
	maxSKULen       = customer.MaxSKULen
	maxNameChars    = customer.MaxNameChars
	maxPostalChars  = customer.MaxPostalChars
	maxCarrierChars = 32
)

// Item is one SKU and quantity of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Name is the recipient's name as printed on a label.
type Name = customer.Name

// Address is a full postal address, printed on a label and never given
// to a Notifier.
type Address = customer.Address

type labelRequest struct {
	OrderID string  `json:"order_id"`
	Name    Name    `json:"name"`
	Address Address `json:"address"`
	Items   []Item  `json:"items"`
}

type notifyRequest struct {
	OrderID        string `json:"order_id"`
	FirstName      string `json:"first_name"`
	Items          []Item `json:"items"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Note           string `json:"note"`
}

// checkItems checks items and returns them sorted by SKU, with the total
// quantity.
func checkItems(items []Item) ([]Item, int64, error) {
	total, err := customer.CheckLines(items, MaxQty, func(it Item) (string, int64) { return it.SKU, it.Qty })
	if err != nil {
		return nil, 0, fmt.Errorf("items: %w", err)
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.SKU, b.SKU) })
	return items, total, nil
}

// parseLabel checks a label request and normalizes its items; it returns
// the total quantity.
func parseLabel(body []byte) (labelRequest, int64, error) {
	var r labelRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, 0, err
	}
	if !jsonapi.ValidID(r.OrderID, maxIDLen) {
		return r, 0, errors.New("order_id: 1 to 128 characters of [A-Za-z0-9._-]")
	}
	if err := r.Name.Check(); err != nil {
		return r, 0, fmt.Errorf("name.%w", err)
	}
	if err := r.Address.Check(); err != nil {
		return r, 0, fmt.Errorf("address.%w", err)
	}
	items, total, err := checkItems(r.Items)
	if err != nil {
		return r, 0, err
	}
	r.Items = items
	return r, total, nil
}

// parseNotify checks a notify request and normalizes its items. The note
// is untrusted free text: bounded, but otherwise only ever data.
func parseNotify(body []byte) (notifyRequest, int64, error) {
	var r notifyRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, 0, err
	}
	if !jsonapi.ValidID(r.OrderID, maxIDLen) {
		return r, 0, errors.New("order_id: 1 to 128 characters of [A-Za-z0-9._-]")
	}
	if err := customer.CheckFirstName(r.FirstName); err != nil {
		return r, 0, fmt.Errorf("first_name: %w", err)
	}
	if !customer.ValidText(r.Carrier, maxCarrierChars, true) {
		return r, 0, fmt.Errorf("carrier: 1 to %d characters, no control or format characters", maxCarrierChars)
	}
	if !jsonapi.ValidID(r.TrackingNumber, maxSKULen) {
		return r, 0, errors.New("tracking_number: 1 to 64 characters of [A-Za-z0-9._-]")
	}
	if err := customer.CheckNote(r.Note); err != nil {
		return r, 0, fmt.Errorf("note: %w", err)
	}
	items, total, err := checkItems(r.Items)
	if err != nil {
		return r, 0, err
	}
	r.Items = items
	return r, total, nil
}

// LabelValues is the guard.Values of fulfillment:label: the total
// quantity of its items, so a max_qty<n> constraint bounds a shipment. A
// body that does not parse is refused (400) before any approval.
func LabelValues(_ *http.Request, body []byte) (scope.Request, error) {
	_, total, err := parseLabel(body)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Quantity: total, HasQuantity: true}, nil
}

// NotifyValues is the guard.Values of fulfillment:notify: no constrained
// values, but a body that does not parse is refused before approval.
func NotifyValues(_ *http.Request, body []byte) (scope.Request, error) {
	_, _, err := parseNotify(body)
	return scope.Request{}, err
}
