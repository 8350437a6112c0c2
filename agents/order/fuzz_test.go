package order

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/customer"
	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/proofs/scope"
)

// FuzzParseCreate: an accepted order has a valid id, a known currency, 1
// to MaxItems distinct SKUs, and a positive total that is exactly the sum
// of its lines; it survives a JSON round trip with the same total and the
// same digest, so a retry of the same order is recognised as one.
func FuzzParseCreate(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"o-1","customer":{"first":"Ada","last":"Lovelace","email":"ada@example.com"},` +
			`"address":{"lines":["1 Main St"],"city":"London","postal_code":"N1 1AA","country":"gb"},` +
			`"items":[{"sku":"sku-1","qty":2,"unit_price":1999},{"sku":"digital-1","qty":1,"unit_price":0}],"currency":"EUR","card":"4242424242424242","note":"leave at the door"}`,
		`{"order_id":"o-2","customer":{"first":"A"},"address":{"country":"KP"},"items":[{"sku":"a","qty":1000000,"unit_price":100000000000}],"card":"424242424242"}`,
		`{"order_id":"o-3","customer":{"first":"A"},"address":{"country":"GB"},"items":[{"sku":"a","qty":1,"unit_price":1},{"sku":"a","qty":1,"unit_price":1}],"card":"424242424242"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseCreate(body, DefaultCurrency)
		if err != nil {
			return
		}
		if _, ok := scope.Exponent(p.Currency); !ok || !jsonapi.ValidID(p.OrderID, maxIDLen) || !customer.ValidCountry(p.Address.Country) ||
			len(p.Items) == 0 || len(p.Items) > MaxItems || p.Amount <= 0 {
			t.Fatalf("accepted %+v", p)
		}
		var total int64
		seen := map[string]bool{}
		for _, it := range p.Items {
			if seen[it.SKU] || it.Qty <= 0 || it.UnitPrice < 0 || it.UnitPrice > math.MaxInt64/it.Qty || total > math.MaxInt64-it.Qty*it.UnitPrice {
				t.Fatalf("accepted item %+v of %+v", it, p.Items)
			}
			seen[it.SKU] = true
			total += it.Qty * it.UnitPrice
		}
		if total != p.Amount {
			t.Fatalf("total %d, lines sum to %d", p.Amount, total)
		}
		fuzzcheck.RoundTrip(t, p.CreateRequest, func(b []byte) (CreateRequest, error) {
			again, err := parseCreate(b, "JPY") // the currency is already set
			if err == nil && (again.Amount != p.Amount || again.digest() != p.digest()) {
				t.Fatalf("%+v and its encoding differ in total or digest", p)
			}
			return again.CreateRequest, err
		})
	})
}

// FuzzParseConfig: an accepted configuration is valid, has its defaults
// filled in, and survives a JSON round trip unchanged.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"inventory_url":"http://127.0.0.1:7431","inventory_did":"did:key:z6Mk1","payment_url":"http://127.0.0.1:7432","payment_did":"did:key:z6Mk2",` +
			`"fulfillment_url":"http://127.0.0.1:7433","fulfillment_did":"did:key:z6Mk3","blocked_countries":[" kp ","ir"],"reservation_ttl":"30m","call_timeout":5,"charge_retry":"1m30s"}`,
		`{"inventory_url":"u","inventory_did":"d","payment_url":"u","payment_did":"d","fulfillment_url":"u","fulfillment_did":"d","blocked_countries":[],"currency":"JPY","high_value_threshold":-1}`,
		`{"inventory_url":"u","inventory_did":"d","payment_url":"u","payment_did":"d","fulfillment_url":"u","fulfillment_did":"d","reservation_ttl":9223372037}`,
		`{"INVENTORY_URL":"u"}`,
		`{"reservation_ttl":"25h"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.Validate() != nil || c.HighValueThreshold <= 0 || c.CallTimeout <= 0 || c.ChargeRetry <= 0 || c.Now == nil || c.Logger == nil {
			t.Fatalf("accepted %+v", c)
		}
		fuzzcheck.RoundTrip(t, comparable(c), func(b []byte) (Config, error) {
			again, err := ParseConfig(b)
			return comparable(again), err
		})
	})
}

// comparable is c without its clock and logger, which no JSON holds.
func comparable(c Config) Config {
	c.Now, c.Logger = nil, nil
	return c
}

// FuzzDuration: a duration reads as a Go duration string or a whole
// number of seconds, and never as anything else: a number of seconds too
// large for a time.Duration is refused, not wrapped around.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"15m"`, `900`, `-5`, `"-1h"`, `9223372037`, `-9223372037`, `1e3`, `"1.5h"`, `null`, `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			if time.Duration(d)%time.Second != 0 || int64(time.Duration(d)/time.Second) != n {
				t.Fatalf("%s seconds read as %v", b, time.Duration(d))
			}
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again Duration
		if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("%s read as %v, written as %s, read again as %v (%v)", b, time.Duration(d), out, time.Duration(again), err)
		}
	})
}
