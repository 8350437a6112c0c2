package scope

import (
	"math"
	"strings"
	"testing"
)

func amount(action string, minor int64, currency string) Request {
	return Request{Action: action, Amount: minor, Currency: currency, HasAmount: true}
}

func quantity(action string, n int64) Request {
	return Request{Action: action, Quantity: n, HasQuantity: true}
}

func TestGrants(t *testing.T) {
	const charge = "payment:charge:max_10000usd"
	tests := []struct {
		name    string
		granted []string
		req     Request
		allowed bool
		scope   string // granting scope, when allowed
		reason  Reason // when refused
	}{
		// The off-by-one cent.
		{"at limit", []string{charge}, amount("payment:charge", 1000000, "USD"), true, charge, ""},
		{"one cent over", []string{charge}, amount("payment:charge", 1000001, "USD"), false, "", ReasonAmountExceeded},
		{"zero", []string{charge}, amount("payment:charge", 0, "USD"), true, charge, ""},
		{"max int64", []string{charge}, amount("payment:charge", math.MaxInt64, "USD"), false, "", ReasonAmountExceeded},
		{"fraction limit", []string{"payment:charge:max_99.5usd"}, amount("payment:charge", 9950, "USD"), true, "payment:charge:max_99.5usd", ""},
		{"fraction limit over", []string{"payment:charge:max_99.5usd"}, amount("payment:charge", 9951, "USD"), false, "", ReasonAmountExceeded},
		{"max_0usd allows 0", []string{"payment:charge:max_0usd"}, amount("payment:charge", 0, "USD"), true, "payment:charge:max_0usd", ""},
		{"max_0usd refuses 1", []string{"payment:charge:max_0usd"}, amount("payment:charge", 1, "USD"), false, "", ReasonAmountExceeded},

		// Exponents other than 2.
		{"JPY at limit", []string{"payment:charge:max_500jpy"}, amount("payment:charge", 500, "JPY"), true, "payment:charge:max_500jpy", ""},
		{"JPY over", []string{"payment:charge:max_500jpy"}, amount("payment:charge", 501, "JPY"), false, "", ReasonAmountExceeded},
		{"KWD at limit", []string{"payment:charge:max_1.5kwd"}, amount("payment:charge", 1500, "KWD"), true, "payment:charge:max_1.5kwd", ""},
		{"KWD over", []string{"payment:charge:max_1.5kwd"}, amount("payment:charge", 1501, "KWD"), false, "", ReasonAmountExceeded},
		{"KWD whole", []string{"payment:charge:max_10kwd"}, amount("payment:charge", 10000, "KWD"), true, "payment:charge:max_10kwd", ""},

		// Currency.
		{"EUR against USD limit", []string{charge}, amount("payment:charge", 100, "EUR"), false, "", ReasonCurrencyMismatch},
		{"either currency", []string{charge, "payment:charge:max_50eur"}, amount("payment:charge", 100, "EUR"), true, "payment:charge:max_50eur", ""},
		{"unknown currency", []string{charge}, amount("payment:charge", 100, "XYZ"), false, "", ReasonBadRequest},
		{"lower-case currency", []string{charge}, amount("payment:charge", 100, "usd"), false, "", ReasonBadRequest},
		{"empty currency", []string{charge}, amount("payment:charge", 100, ""), false, "", ReasonBadRequest},
		{"currency without amount", []string{"payment:charge"}, Request{Action: "payment:charge", Currency: "USD"}, false, "", ReasonBadRequest},

		// Exact matching of resource:action.
		{"refund with charge scope", []string{charge}, amount("payment:refund", 1, "USD"), false, "", ReasonNoScope},
		{"chargeback vs charge", []string{"payment:charge"}, Request{Action: "payment:chargeback"}, false, "", ReasonNoScope},
		{"charge vs chargeback", []string{"payment:chargeback"}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"prefix of action", []string{"payment:charge"}, Request{Action: "payment:char"}, false, "", ReasonNoScope},
		{"other resource", []string{"payment:charge"}, Request{Action: "payments:charge"}, false, "", ReasonNoScope},
		{"resource prefix", []string{"payment:charge"}, Request{Action: "pay:charge"}, false, "", ReasonNoScope},
		{"unconstrained", []string{"payment:refund"}, amount("payment:refund", math.MaxInt64, "USD"), true, "payment:refund", ""},
		{"unconstrained no values", []string{"payment:refund"}, Request{Action: "payment:refund"}, true, "payment:refund", ""},

		// Empty and broken lists.
		{"nil list", nil, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"empty list", []string{}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"empty string", []string{""}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"unknown constraint", []string{"payment:charge:max_10000xyz"}, amount("payment:charge", 1, "USD"), false, "", ReasonNoScope},
		{"unknown constraint kind", []string{"payment:charge:per_day5"}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"extra part", []string{"payment:charge:max_10000usd:extra"}, amount("payment:charge", 1, "USD"), false, "", ReasonNoScope},
		{"upper case scope", []string{"Payment:Charge"}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"wildcard", []string{"payment:*", "*:*", "*"}, Request{Action: "payment:charge"}, false, "", ReasonNoScope},
		{"broken does not block valid", []string{"payment:charge:bogus", charge}, amount("payment:charge", 5, "USD"), true, charge, ""},

		// Quantity.
		{"qty at limit", []string{"inventory:reserve:max_qty5"}, quantity("inventory:reserve", 5), true, "inventory:reserve:max_qty5", ""},
		{"qty over", []string{"inventory:reserve:max_qty5"}, quantity("inventory:reserve", 6), false, "", ReasonQuantityExceeded},
		{"qty zero", []string{"inventory:reserve:max_qty0"}, quantity("inventory:reserve", 0), true, "inventory:reserve:max_qty0", ""},
		{"qty missing", []string{"inventory:reserve:max_qty5"}, Request{Action: "inventory:reserve"}, false, "", ReasonValueMissing},
		{"amount missing", []string{charge}, Request{Action: "payment:charge"}, false, "", ReasonValueMissing},
		{"amount missing qty given", []string{charge}, quantity("payment:charge", 1), false, "", ReasonValueMissing},

		// Bad requests, whatever is granted.
		{"negative amount", []string{charge, "payment:charge"}, amount("payment:charge", -1, "USD"), false, "", ReasonBadRequest},
		{"negative qty", []string{"inventory:reserve"}, quantity("inventory:reserve", -1), false, "", ReasonBadRequest},
		{"malformed action", []string{"payment:charge"}, Request{Action: "Payment:charge"}, false, "", ReasonBadRequest},
		{"action with constraint", []string{"payment:charge:max_10usd"}, Request{Action: "payment:charge:max_10usd"}, false, "", ReasonBadRequest},
		{"empty action", []string{"payment:charge"}, Request{}, false, "", ReasonBadRequest},

		// Several scopes: any one allows; otherwise the most specific reason.
		{"second allows", []string{"payment:charge:max_1usd", "payment:charge:max_100usd"}, amount("payment:charge", 5000, "USD"), true, "payment:charge:max_100usd", ""},
		{"unconstrained beats limit", []string{charge, "payment:charge"}, amount("payment:charge", 2000000, "USD"), true, "payment:charge", ""},
		{"exceeded over missing", []string{"payment:refund", "payment:charge:max_1usd"}, amount("payment:charge", 500, "USD"), false, "", ReasonAmountExceeded},
		{"exceeded over mismatch", []string{"payment:charge:max_1eur", "payment:charge:max_1usd"}, amount("payment:charge", 500, "USD"), false, "", ReasonAmountExceeded},
		{"exceeded over mismatch reversed", []string{"payment:charge:max_1usd", "payment:charge:max_1eur"}, amount("payment:charge", 500, "USD"), false, "", ReasonAmountExceeded},
		{"mismatch over value missing", []string{"payment:charge:max_qty1", "payment:charge:max_1eur"}, amount("payment:charge", 1, "USD"), false, "", ReasonCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Grants(tt.granted, tt.req)
			if d.Allowed != tt.allowed || d.Scope != tt.scope || d.Reason != tt.reason {
				t.Errorf("Grants(%q, %+v) = %+v, want allowed=%v scope=%q reason=%q",
					tt.granted, tt.req, d, tt.allowed, tt.scope, tt.reason)
			}
			if !d.Allowed && d.Detail == "" {
				t.Errorf("refusal without detail: %+v", d)
			}
		})
	}
}

// TestGrantsDetailBounded checks that a hostile request cannot make the
// detail text huge.
func TestGrantsDetailBounded(t *testing.T) {
	d := Grants([]string{"payment:charge"}, Request{Action: strings.Repeat("x", 1<<20)})
	if d.Allowed || d.Reason != ReasonBadRequest || len(d.Detail) > 256 {
		t.Errorf("Grants(huge action) = allowed=%v reason=%q detail of %d bytes", d.Allowed, d.Reason, len(d.Detail))
	}
	d = Grants([]string{"payment:charge:max_1usd"}, amount("payment:charge", 1, strings.Repeat("U", 1<<20)))
	if d.Allowed || d.Reason != ReasonBadRequest || len(d.Detail) > 256 {
		t.Errorf("Grants(huge currency) = allowed=%v reason=%q detail of %d bytes", d.Allowed, d.Reason, len(d.Detail))
	}
}
