package inventory

import (
	"math"
	"testing"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
)

// FuzzParseRequests gives every inventory request parser the same body.
// What a parser accepts holds only valid ids and bounded quantities, is
// in normal form (sorted lines) and survives a JSON round trip, and the
// values the guard checks are the ones the handler will act on.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`{"sku":"sku-1"}`,
		`{"order_id":"o-1","lines":[{"sku":"b","qty":3},{"sku":"a","qty":1}],"ttl_seconds":600}`,
		`{"order_id":"o-1","lines":[{"sku":"a","qty":1},{"sku":"a","qty":2}]}`,
		`{"order_id":"o-1","lines":[{"sku":"a","qty":1000000000}],"ttl_seconds":-1}`,
		`{"reservation_id":"r-1"}`,
		`{"sku":"sku-2","qty":5}`,
		`{"sku":"../x","qty":5}`,
		`{"sku":"a"} {"sku":"b"}`,
		`{"sku":"a","extra":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := parseCheck(body); err == nil {
			fuzzcheck.RoundTrip(t, r, parseCheck)
		}
		const maxTTL = 86400
		if r, total, err := parseReserve(body, maxTTL); err == nil {
			var sum int64
			for i, l := range r.Lines {
				if !jsonapi.ValidID(l.SKU, maxSKULen) || l.Qty <= 0 || l.Qty > MaxQty || (i > 0 && r.Lines[i-1].SKU >= l.SKU) {
					t.Fatalf("accepted reservation has line %d %+v", i, l)
				}
				sum += l.Qty
			}
			if sum != total || r.TTLSeconds < 0 || r.TTLSeconds > maxTTL || !jsonapi.ValidID(r.OrderID, maxIDLen) {
				t.Fatalf("accepted reservation %+v with total %d", r, total)
			}
			fuzzcheck.RoundTrip(t, r, func(b []byte) (reserveRequest, error) { r, _, err := parseReserve(b, maxTTL); return r, err })
			v, err := ReserveValues(nil, body)
			if err != nil || !v.HasQuantity || v.Quantity != total {
				t.Fatalf("ReserveValues = %+v, %v; the handler reserves %d", v, err, total)
			}
		} else if _, _, err := parseReserve(body, math.MaxInt64); err == nil {
			if _, err := ReserveValues(nil, body); err != nil {
				t.Fatalf("ReserveValues refuses what parseReserve accepts: %v", err)
			}
		}
		if r, err := parseRelease(body); err == nil {
			fuzzcheck.RoundTrip(t, r, parseRelease)
		}
		r, err := parseRestock(body)
		v, verr := RestockValues(nil, body)
		if (err == nil) != (verr == nil) {
			t.Fatalf("parseRestock: %v, RestockValues: %v", err, verr)
		}
		if err == nil {
			if !jsonapi.ValidID(r.SKU, maxSKULen) || r.Qty <= 0 || r.Qty > MaxQty || v.Quantity != r.Qty || !v.HasQuantity {
				t.Fatalf("accepted restock %+v, values %+v", r, v)
			}
			fuzzcheck.RoundTrip(t, r, parseRestock)
		}
	})
}
