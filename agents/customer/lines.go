package customer

import (
	"fmt"

	"github.com/agentledger/agentledger/agents/jsonapi"
)

// Limits on the lines of an order, a reservation, a label and a
// notification.
const (
	// MaxItems bounds the lines of one request; at least one is
	// required.
	MaxItems = 100
	// MaxQty bounds the quantity of one line an order, a label or a
	// notification carries. (The inventory agent's own stock operations
	// take larger quantities; see CheckLines.)
	MaxQty = 1_000_000
	// MaxSKULen bounds a SKU, which is 1 to MaxSKULen bytes of
	// [A-Za-z0-9._-] (jsonapi.ValidID).
	MaxSKULen = 64
)

// ValidSKU reports whether sku is 1 to MaxSKULen bytes of [A-Za-z0-9._-].
func ValidSKU(sku string) bool { return jsonapi.ValidID(sku, MaxSKULen) }

// CheckLines checks the lines of a request, each read by line as its SKU
// and quantity: 1 to MaxItems lines, each a valid SKU named only once with
// a quantity in 1..maxQty. It returns the total quantity, which cannot
// overflow for a maxQty of at most 1<<56. An order, a label and a
// notification pass MaxQty; the inventory agent passes its own bound.
func CheckLines[T any](lines []T, maxQty int64, line func(T) (sku string, qty int64)) (int64, error) {
	if len(lines) == 0 || len(lines) > MaxItems {
		return 0, fmt.Errorf("1 to %d lines", MaxItems)
	}
	seen := make(map[string]bool, len(lines))
	var total int64
	for _, l := range lines {
		sku, qty := line(l)
		if !ValidSKU(sku) {
			return 0, fmt.Errorf("sku of 1 to %d characters of [A-Za-z0-9._-]", MaxSKULen)
		}
		if seen[sku] {
			return 0, fmt.Errorf("sku %s named twice", sku)
		}
		seen[sku] = true
		if qty <= 0 || qty > maxQty {
			return 0, fmt.Errorf("qty of %s not in 1..%d", sku, maxQty)
		}
		total += qty
	}
	return total, nil
}
