package inventory

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Bounds on requests. The guard bounds the body at 64 KiB already; these
// are the inventory's own, tighter ones. Lines and SKUs follow
// agents/customer, the rules the order agent checks an order against;
// the quantity of a line may be larger here (MaxQty), for restocks and
// callers other than the order agent.
const (
	MaxRequestBytes = jsonapi.MaxRequestBytes
	MaxLines        = customer.MaxItems
	MaxQty          = 1_000_000_000
	maxSKULen       = customer.MaxSKULen
	maxIDLen        = 128
)

type checkRequest struct {
	SKU string `json:"sku"`
}

type reserveRequest struct {
	OrderID    string `json:"order_id"`
	Lines      []Line `json:"lines"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

type releaseRequest struct {
	ReservationID string `json:"reservation_id"`
}

type restockRequest struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

func parseCheck(body []byte) (checkRequest, error) {
	var r checkRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, err
	}
	if !customer.ValidSKU(r.SKU) {
		return r, errors.New("sku: 1 to 64 characters of [A-Za-z0-9._-]")
	}
	return r, nil
}

// parseReserve checks a reserve request and normalizes its lines (sorted
// by SKU). It returns the total quantity. A SKU named twice is refused.
func parseReserve(body []byte, maxTTL int64) (reserveRequest, int64, error) {
	var r reserveRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, 0, err
	}
	if !jsonapi.ValidID(r.OrderID, maxIDLen) {
		return r, 0, errors.New("order_id: 1 to 128 characters of [A-Za-z0-9._-]")
	}
	if r.TTLSeconds < 0 || r.TTLSeconds > maxTTL {
		return r, 0, fmt.Errorf("ttl_seconds: 0 (the default) to %d", maxTTL)
	}
	total, err := customer.CheckLines(r.Lines, MaxQty, func(l Line) (string, int64) { return l.SKU, l.Qty })
	if err != nil {
		return r, 0, fmt.Errorf("lines: %w", err)
	}
	r.Lines = slices.Clone(r.Lines)
	slices.SortFunc(r.Lines, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	return r, total, nil
}

func parseRelease(body []byte) (releaseRequest, error) {
	var r releaseRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, err
	}
	if !jsonapi.ValidID(r.ReservationID, maxIDLen) {
		return r, errors.New("reservation_id: 1 to 128 characters of [A-Za-z0-9._-]")
	}
	return r, nil
}

func parseRestock(body []byte) (restockRequest, error) {
	var r restockRequest
	if err := jsonapi.Decode(body, MaxRequestBytes, &r); err != nil {
		return r, err
	}
	if !customer.ValidSKU(r.SKU) {
		return r, errors.New("sku: 1 to 64 characters of [A-Za-z0-9._-]")
	}
	if r.Qty <= 0 || r.Qty > MaxQty {
		return r, fmt.Errorf("qty not in 1..%d", MaxQty)
	}
	return r, nil
}

// ReserveValues is the guard.Values of inventory:reserve: the total
// quantity of all lines, so a max_qty<n> constraint bounds a whole
// reservation. A body that does not parse is refused (400 bad_request)
// before any approval is recorded.
func ReserveValues(_ *http.Request, body []byte) (scope.Request, error) {
	_, total, err := parseReserve(body, math.MaxInt64)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Quantity: total, HasQuantity: true}, nil
}

// RestockValues is the guard.Values of inventory:restock: its quantity.
func RestockValues(_ *http.Request, body []byte) (scope.Request, error) {
	r, err := parseRestock(body)
	if err != nil {
		return scope.Request{}, err
	}
	return scope.Request{Quantity: r.Qty, HasQuantity: true}, nil
}

// CheckValues is the guard.Values of inventory:check: no constrained
// values, but a body that does not parse is refused before approval.
func CheckValues(_ *http.Request, body []byte) (scope.Request, error) {
	_, err := parseCheck(body)
	return scope.Request{}, err
}

// ReleaseValues is the guard.Values of inventory:release.
func ReleaseValues(_ *http.Request, body []byte) (scope.Request, error) {
	_, err := parseRelease(body)
	return scope.Request{}, err
}
