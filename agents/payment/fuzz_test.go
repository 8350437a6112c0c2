package payment

import (
	"strings"
	"testing"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/proofs/scope"
)

// FuzzParseRequests gives the charge and refund parsers the same body.
// What they accept has a positive amount in a known currency, ids of the
// allowed alphabet and (for a charge) a card of 12 to 19 digits; it
// survives a JSON round trip; and the amount and currency the guard checks
// against the contract are the ones the handler will charge or refund.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`{"order_id":"o-1","idempotency_key":"o-1-charge","amount":12999,"currency":"USD","card":"4242424242424242"}`,
		`{"order_id":"o-1","idempotency_key":"k:1","amount":1,"currency":"JPY","card":"424242424242"}`,
		`{"charge_id":"ch_1","amount":100,"currency":"USD","idempotency_key":"o-1-refund"}`,
		`{"charge_id":"ch_1","amount":-100,"currency":"usd","idempotency_key":"x"}`,
		`{"order_id":"o/1","idempotency_key":"k","amount":1,"currency":"USD","card":"4242"}`,
		`{"amount":1e3}`,
		`{"amount":9223372036854775808}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCharge(body)
		v, verr := ChargeValues(nil, body)
		if (err == nil) != (verr == nil) {
			t.Fatalf("parseCharge: %v, ChargeValues: %v", err, verr)
		}
		if err == nil {
			checkAccepted(t, c.Amount, c.Currency, v, c.OrderID, c.IdempotencyKey)
			if len(c.Card) < 12 || len(c.Card) > 19 || !digits(c.Card) {
				t.Fatalf("accepted card %q", c.Card)
			}
			fuzzcheck.RoundTrip(t, c, parseCharge)
		}
		r, err := parseRefund(body)
		v, verr = RefundValues(nil, body)
		if (err == nil) != (verr == nil) {
			t.Fatalf("parseRefund: %v, RefundValues: %v", err, verr)
		}
		if err == nil {
			checkAccepted(t, r.Amount, r.Currency, v, r.ChargeID, r.IdempotencyKey)
			fuzzcheck.RoundTrip(t, r, parseRefund)
		}
	})
}

func checkAccepted(t *testing.T, amount int64, currency string, v scope.Request, ids ...string) {
	t.Helper()
	if _, ok := scope.Exponent(currency); !ok || amount <= 0 {
		t.Fatalf("accepted %d %q", amount, currency)
	}
	if !v.HasAmount || v.Amount != amount || v.Currency != currency {
		t.Fatalf("the guard checks %+v, the handler acts on %d %s", v, amount, currency)
	}
	for _, id := range ids {
		if !jsonapi.ValidKey(id, maxIDLen) {
			t.Fatalf("accepted id %q", id)
		}
	}
}

// digits is the test's own statement of a card's alphabet.
func digits(s string) bool { return strings.Trim(s, "0123456789") == "" }
