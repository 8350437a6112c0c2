package fulfillment

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Bounds on requests. The guard bounds the body at 64 KiB already; these
// are the fulfillment agent's own, tighter ones.
const (
	MaxRequestBytes = jsonapi.MaxRequestBytes
	MaxItems        = 100
	MaxQty          = 1_000_000
	MaxNoteChars    = 500
	maxIDLen        = 128
	maxSKULen       = 64
	maxNameChars    = 64
	maxAddrLines    = 4
	maxLineChars    = 128
	maxCityChars    = 64
	maxPostalChars  = 16
	maxCarrierChars = 32
)

// Item is one SKU and quantity of an order.
type Item struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Name is the recipient's name as printed on a label.
type Name struct {
	First string `json:"first"`
	Last  string `json:"last"`
}

// Address is a full postal address, printed on a label and never given
// to a Notifier.
type Address struct {
	Lines      []string `json:"lines"`
	City       string   `json:"city"`
	PostalCode string   `json:"postal_code"`
	Country    string   `json:"country"` // ISO 3166-1 alpha-2, upper case
}

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

// validText reports whether s is valid UTF-8 of at most n characters with
// no control or format characters (no newlines, no bidi overrides); if
// required, it must hold a non-space character.
func validText(s string, n int, required bool) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > n {
		return false
	}
	if required && strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// checkItems checks items and returns them sorted by SKU, with the total
// quantity. A SKU named twice is refused.
func checkItems(items []Item) ([]Item, int64, error) {
	if len(items) == 0 || len(items) > MaxItems {
		return nil, 0, fmt.Errorf("items: 1 to %d items", MaxItems)
	}
	var total int64
	for _, it := range items {
		if !jsonapi.ValidID(it.SKU, maxSKULen) {
			return nil, 0, errors.New("items: sku of 1 to 64 characters of [A-Za-z0-9._-]")
		}
		if it.Qty <= 0 || it.Qty > MaxQty {
			return nil, 0, fmt.Errorf("items: qty of %s not in 1..%d", it.SKU, MaxQty)
		}
		total += it.Qty // at most MaxItems*MaxQty: no overflow
	}
	items = slices.Clone(items)
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.SKU, b.SKU) })
	for i := 1; i < len(items); i++ {
		if items[i].SKU == items[i-1].SKU {
			return nil, 0, fmt.Errorf("items: sku %s named twice", items[i].SKU)
		}
	}
	return items, total, nil
}

func checkAddress(a Address) error {
	if len(a.Lines) == 0 || len(a.Lines) > maxAddrLines {
		return fmt.Errorf("address.lines: 1 to %d lines", maxAddrLines)
	}
	for i, l := range a.Lines {
		if !validText(l, maxLineChars, i == 0) {
			return fmt.Errorf("address.lines: each at most %d characters, no control characters, the first not blank", maxLineChars)
		}
	}
	if !validText(a.City, maxCityChars, true) {
		return fmt.Errorf("address.city: 1 to %d characters, no control characters", maxCityChars)
	}
	if !validText(a.PostalCode, maxPostalChars, false) {
		return fmt.Errorf("address.postal_code: at most %d characters, no control characters", maxPostalChars)
	}
	if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
		return errors.New("address.country: an ISO 3166-1 alpha-2 code in upper case")
	}
	return nil
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
	if !validText(r.Name.First, maxNameChars, true) || !validText(r.Name.Last, maxNameChars, false) {
		return r, 0, fmt.Errorf("name: first of 1 to %d characters, last of at most %d, no control characters", maxNameChars, maxNameChars)
	}
	if err := checkAddress(r.Address); err != nil {
		return r, 0, err
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
	if !validText(r.FirstName, maxNameChars, true) {
		return r, 0, fmt.Errorf("first_name: 1 to %d characters, no control characters", maxNameChars)
	}
	if !validText(r.Carrier, maxCarrierChars, true) {
		return r, 0, fmt.Errorf("carrier: 1 to %d characters, no control characters", maxCarrierChars)
	}
	if !jsonapi.ValidID(r.TrackingNumber, maxSKULen) {
		return r, 0, errors.New("tracking_number: 1 to 64 characters of [A-Za-z0-9._-]")
	}
	if !validText(r.Note, MaxNoteChars, false) {
		return r, 0, fmt.Errorf("note: at most %d characters, no control characters", MaxNoteChars)
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
