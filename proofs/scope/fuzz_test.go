package scope

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"payment:charge:max_10000usd", "payment:charge:max_99.5usd", "payment:charge:max_500jpy",
		"payment:charge:max_1.5kwd", "inventory:reserve", "inventory:reserve:max_qty5",
		"payment:charge:max_0usd", "payment:charge:max_01usd", "payment:charge:max_10000USD",
		"payment:charge:max_99999999999999999999usd", "payment:charge:max_qty-1",
		"payment:charge:", "Payment:charge", "payment:charge:max_10000usd:extra",
		"payment:charge:max_92233720368547758.07usd", "", ":",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrMalformed", s, err)
			}
			if sc != (Scope{}) {
				t.Fatalf("Parse(%q): scope returned with error", s)
			}
			return
		}
		if got := sc.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		again, err := Parse(sc.String())
		if err != nil || again != sc {
			t.Fatalf("Parse(String()) = %+v, %v; want %+v", again, err, sc)
		}
		if r, a, err := ParseAction(sc.Name()); err != nil || r != sc.Resource || a != sc.Action {
			t.Fatalf("ParseAction(%q) = %q, %q, %v", sc.Name(), r, a, err)
		}
		if err := ValidateAll([]string{s}); err != nil {
			t.Fatalf("ValidateAll(%q): %v", s, err)
		}
	})
}

// FuzzGrants takes the granted list as newline-separated strings.
func FuzzGrants(f *testing.F) {
	f.Add("payment:charge:max_10000usd", "payment:charge", int64(1000000), "USD", true, int64(0), false)
	f.Add("payment:charge:max_10000usd", "payment:charge", int64(1000001), "USD", true, int64(0), false)
	f.Add("payment:charge:max_10000usd\npayment:refund", "payment:refund", int64(5), "EUR", true, int64(0), false)
	f.Add("payment:charge", "payment:chargeback", int64(0), "", false, int64(0), false)
	f.Add("inventory:reserve:max_qty5", "inventory:reserve", int64(0), "", false, int64(5), true)
	f.Add("payment:charge:max_10000xyz\npayment:charge:max_1kwd", "payment:charge", int64(1000), "KWD", true, int64(-1), true)
	f.Add("", "", int64(-1), "usd", true, int64(-1), true)
	f.Fuzz(func(t *testing.T, list, action string, amt int64, cur string, hasAmt bool, qty int64, hasQty bool) {
		var granted []string
		if list != "" {
			granted = strings.Split(list, "\n")
		}
		req := Request{Action: action, Amount: amt, Currency: cur, HasAmount: hasAmt, Quantity: qty, HasQuantity: hasQty}
		d := Grants(granted, req)
		if !d.Allowed {
			if d.Reason == "" || d.Scope != "" {
				t.Fatalf("refusal %+v must have a reason and no scope", d)
			}
			return
		}
		if d.Reason != "" {
			t.Fatalf("allowed with reason %q", d.Reason)
		}
		if !slices.Contains(granted, d.Scope) {
			t.Fatalf("granting scope %q is not in the list", d.Scope)
		}
		sc, err := Parse(d.Scope)
		if err != nil {
			t.Fatalf("granting scope %q does not parse: %v", d.Scope, err)
		}
		if sc.Name() != req.Action {
			t.Fatalf("granting scope %q does not name %q", d.Scope, req.Action)
		}
		if (hasAmt && amt < 0) || (hasQty && qty < 0) {
			t.Fatalf("allowed a negative value: %+v", req)
		}
		switch sc.Limit.Kind {
		case LimitAmount:
			if !hasAmt || cur != sc.Limit.Currency || amt > sc.Limit.MaxMinor {
				t.Fatalf("%s allowed %+v", d.Scope, req)
			}
		case LimitQuantity:
			if !hasQty || qty > sc.Limit.MaxQty {
				t.Fatalf("%s allowed %+v", d.Scope, req)
			}
		}
	})
}
