package scope

import (
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// tableCodes returns every currency code in the built-in table.
func tableCodes() []string {
	var codes []string
	for i := 0; i < len(currencyTable); i += currencyRecord {
		codes = append(codes, currencyTable[i:i+3])
	}
	return codes
}

var (
	// Small vocabularies make names collide, and include prefixes and
	// extensions of one another.
	smallResources = []string{"payment", "pay", "payments", "inventory"}
	smallActions   = []string{"charge", "chargeback", "char", "refund", "reserve"}
)

func identGen() *rapid.Generator[string] {
	return rapid.StringMatching(`[a-z][a-z0-9_]{0,31}`)
}

// limitGen generates every kind of limit, with bounds often small and
// sometimes anywhere in int64.
func limitGen() *rapid.Generator[Limit] {
	bound := rapid.OneOf(rapid.Int64Range(0, 20000), rapid.Int64Range(0, math.MaxInt64))
	return rapid.Custom(func(t *rapid.T) Limit {
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 1:
			return Limit{
				Kind:     LimitAmount,
				MaxMinor: bound.Draw(t, "max_minor"),
				Currency: rapid.SampledFrom(tableCodes()).Draw(t, "currency"),
			}
		case 2:
			return Limit{Kind: LimitQuantity, MaxQty: bound.Draw(t, "max_qty")}
		}
		return Limit{}
	})
}

func scopeGen(resource, action *rapid.Generator[string]) *rapid.Generator[Scope] {
	return rapid.Custom(func(t *rapid.T) Scope {
		return Scope{
			Resource: resource.Draw(t, "resource"),
			Action:   action.Draw(t, "action"),
			Limit:    limitGen().Draw(t, "limit"),
		}
	})
}

// grantedGen generates granted lists over the small vocabularies, mixed
// with strings that do not parse.
func grantedGen() *rapid.Generator[[]string] {
	valid := rapid.Map(scopeGen(rapid.SampledFrom(smallResources), rapid.SampledFrom(smallActions)), Scope.String)
	broken := rapid.SampledFrom([]string{
		"", "payment:charge:", "payment:charge:max_10xyz", "payment:*", "Payment:charge",
		"payment:charge:max_1usd:x", "payment:charge:per_day1", "inventory:reserve:max_qty-1",
	})
	return rapid.SliceOfN(rapid.OneOf(valid, valid, broken), 0, 6)
}

// requestGen generates requests over the small vocabularies, sometimes
// malformed.
func requestGen() *rapid.Generator[Request] {
	codes := append(tableCodes(), "XYZ", "usd", "")
	value := rapid.OneOf(rapid.Int64Range(-2, 20000), rapid.Int64())
	return rapid.Custom(func(t *rapid.T) Request {
		r := Request{
			Action: rapid.SampledFrom(smallResources).Draw(t, "resource") + ":" +
				rapid.SampledFrom(smallActions).Draw(t, "action"),
		}
		if rapid.Bool().Draw(t, "has_amount") {
			r.HasAmount = true
			r.Amount = value.Draw(t, "amount")
			r.Currency = rapid.SampledFrom(codes).Draw(t, "currency")
		}
		if rapid.Bool().Draw(t, "has_quantity") {
			r.HasQuantity = true
			r.Quantity = value.Draw(t, "quantity")
		}
		return r
	})
}

// names reports whether some granted string parses to a scope naming
// action exactly.
func names(granted []string, action string) bool {
	for _, g := range granted {
		if sc, err := Parse(g); err == nil && sc.Name() == action {
			return true
		}
	}
	return false
}

// Property 1: nothing is allowed unless a granted scope has exactly the
// requested resource:action, and what allows it is one of the granted
// strings.
func TestPropertyExactNameRequired(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		granted := grantedGen().Draw(t, "granted")
		req := requestGen().Draw(t, "req")
		d := Grants(granted, req)
		if !names(granted, req.Action) && d.Allowed {
			t.Fatalf("allowed %q with no scope naming it: %+v", req.Action, d)
		}
		if d.Allowed {
			if !slices.Contains(granted, d.Scope) {
				t.Fatalf("granting scope %q is not in the list", d.Scope)
			}
			if sc, err := Parse(d.Scope); err != nil || sc.Name() != req.Action {
				t.Fatalf("granting scope %q does not name %q", d.Scope, req.Action)
			}
			if d.Reason != "" {
				t.Fatalf("allowed with reason %q", d.Reason)
			}
		} else if d.Reason == "" || d.Scope != "" {
			t.Fatalf("refusal %+v must have a reason and no scope", d)
		}
	})
}

// Property 2: granting more never takes anything away.
func TestPropertyMonotonic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		granted := grantedGen().Draw(t, "granted")
		extra := grantedGen().Draw(t, "extra")
		req := requestGen().Draw(t, "req")
		if !Grants(granted, req).Allowed {
			return
		}
		for _, e := range extra {
			at := rapid.IntRange(0, len(granted)).Draw(t, "at")
			granted = slices.Insert(slices.Clone(granted), at, e)
			if d := Grants(granted, req); !d.Allowed {
				t.Fatalf("adding %q refused %+v: %+v", e, req, d)
			}
		}
	})
}

// Property 3: one amount scope allows exactly the amounts from 0 to its
// limit in its currency.
func TestPropertySingleAmountScope(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		codes := tableCodes()
		limit := Limit{
			Kind:     LimitAmount,
			MaxMinor: rapid.OneOf(rapid.Int64Range(0, 20000), rapid.Int64Range(0, math.MaxInt64)).Draw(t, "max"),
			Currency: rapid.SampledFrom(codes).Draw(t, "limit_currency"),
		}
		sc := Scope{Resource: "payment", Action: "charge", Limit: limit}
		near := rapid.Int64Range(max(limit.MaxMinor, math.MinInt64+3)-3, min(limit.MaxMinor, math.MaxInt64-3)+3)
		amt := rapid.OneOf(near, rapid.Int64Range(-3, 3), rapid.Int64()).Draw(t, "amount")
		cur := rapid.OneOf(rapid.Just(limit.Currency), rapid.SampledFrom(codes)).Draw(t, "currency")

		d := Grants([]string{sc.String()}, amount("payment:charge", amt, cur))
		want := cur == limit.Currency && amt >= 0 && amt <= limit.MaxMinor
		if d.Allowed != want {
			t.Fatalf("Grants(%s, %d %s) = %+v, want allowed=%v", sc, amt, cur, d, want)
		}
		var reason Reason
		switch {
		case amt < 0:
			reason = ReasonBadRequest
		case cur != limit.Currency:
			reason = ReasonCurrencyMismatch
		case amt > limit.MaxMinor:
			reason = ReasonAmountExceeded
		}
		if d.Reason != reason {
			t.Fatalf("Grants(%s, %d %s) reason %q, want %q", sc, amt, cur, d.Reason, reason)
		}
	})
}

// Property 4: String is canonical and Parse inverts it.
func TestPropertyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := scopeGen(identGen(), identGen()).Draw(t, "scope")
		s := sc.String()
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got != sc {
			t.Fatalf("Parse(%q) = %+v, want %+v", s, got, sc)
		}
		if err := ValidateAll([]string{s}); err != nil {
			t.Fatalf("ValidateAll(%q): %v", s, err)
		}
	})
}

// Property 5: a scope covers its own action and no extension or prefix of
// its resource or action.
func TestPropertyNoPrefixOrSuffixMatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := scopeGen(identGen(), identGen()).Draw(t, "scope")
		// A request that satisfies any limit the scope has.
		req := Request{Action: sc.Name(), HasQuantity: true}
		if sc.Limit.Kind == LimitAmount {
			req.HasAmount, req.Currency = true, sc.Limit.Currency
		}
		if d := Grants([]string{sc.String()}, req); !d.Allowed {
			t.Fatalf("%s does not cover its own action: %+v", sc, d)
		}

		suffix := rapid.StringMatching(`[a-z0-9_]{1,8}`).Draw(t, "suffix")
		mutants := []string{
			sc.Resource + ":" + sc.Action + suffix,
			sc.Resource + suffix + ":" + sc.Action,
			sc.Resource + ":" + suffix + sc.Action,
			sc.Resource + ":" + sc.Action + ":" + suffix,
			sc.Resource + ":" + sc.Action + "back",
			sc.Resource,
			sc.Action,
			sc.Action + ":" + sc.Resource,
		}
		if n := len(sc.Action); n > 1 {
			mutants = append(mutants, sc.Resource+":"+sc.Action[:rapid.IntRange(1, n-1).Draw(t, "cut")])
		}
		if n := len(sc.Resource); n > 1 {
			mutants = append(mutants, sc.Resource[:rapid.IntRange(1, n-1).Draw(t, "rcut")]+":"+sc.Action)
		}
		for _, m := range mutants {
			if m == sc.Name() {
				continue // Action+":"+Resource when both are equal.
			}
			req.Action = m
			if d := Grants([]string{sc.String()}, req); d.Allowed {
				t.Fatalf("%s covers mutated action %q", sc, m)
			}
		}
	})
}
