// Package scope parses agentledger scopes and decides whether a set of
// granted scopes covers a requested action.
//
// # Grammar
//
// A scope names one action on one resource, optionally with one limit:
//
//	scope      = resource ":" action [ ":" constraint ]
//	resource   = ident
//	action     = ident
//	ident      = %x61-7A *31( %x61-7A / DIGIT / "_" )   ; [a-z][a-z0-9_]{0,31}
//	constraint = "max_" amount currency / "max_qty" count
//	amount     = natural [ "." 1*DIGIT ]                 ; major units
//	natural    = "0" / %x31-39 *DIGIT                    ; no leading zeros
//	currency   = 3%x61-7A                                ; lower-case ISO 4217
//	count      = natural
//
// for example payment:charge:max_10000usd, inventory:reserve and
// inventory:reserve:max_qty5. A scope is at most MaxLen bytes.
//
// Amounts are written in major units and held in integer minor units of
// the currency, using the ISO 4217 minor-unit exponent from a built-in
// table (see Exponent): max_99.5usd is 9950 US cents, max_500jpy is 500 yen
// and max_1.5kwd is 1500 fils. The fraction has at most the currency's
// exponent digits and no trailing zeros, so that every limit has exactly
// one spelling and String reproduces the parsed text byte for byte. An
// amount or count that does not fit an int64 is refused, as is anything
// not in the grammar: upper case, whitespace, an empty or unknown
// constraint, an unknown currency, extra colons.
//
// # Matching
//
// Grants decides a Request against a list of granted scope strings. A scope
// covers a request only when its resource and action are exactly the
// request's (payment:charge never covers payment:chargeback or
// payment:refund); there are no wildcards or prefixes. An empty list grants
// nothing, and a granted string that does not parse grants nothing (fail
// closed) without affecting the others.
//
// # Served actions
//
// An agent's registration lists the actions it serves (resource:action,
// no constraint). Unserved checks a contract's scopes against the
// audience's list: a contract can grant only actions its callee serves,
// so a mistyped scope such as paymnt:charge is refused rather than
// recorded.
//
// The package is pure: no I/O, no global mutable state.
package scope

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLen is the longest scope string Parse accepts, in bytes. It is long
// enough for two 32-byte identifiers and the longest constraint.
const MaxLen = 96

// MaxScopes is the most scopes ValidateAll accepts in one list.
const MaxScopes = 32

// maxIdent is the longest resource or action name.
const maxIdent = 32

var (
	// ErrMalformed is returned (wrapped) by Parse and ParseAction for a
	// string that is not a scope or action in the grammar.
	ErrMalformed = errors.New("malformed scope")
	// ErrInvalidList is returned (wrapped) by ValidateAll for a list that
	// is empty, too long or has duplicates.
	ErrInvalidList = errors.New("invalid scope list")
)

// LimitKind says which constraint, if any, a scope carries.
type LimitKind uint8

// The kinds of limit.
const (
	LimitNone     LimitKind = iota // no constraint
	LimitAmount                    // max_<amount><currency>
	LimitQuantity                  // max_qty<n>
)

// Limit is the constraint of a scope. The zero value is no constraint.
type Limit struct {
	Kind LimitKind
	// MaxMinor is the largest amount allowed, in minor units of Currency
	// (LimitAmount only).
	MaxMinor int64
	// Currency is the upper-case ISO 4217 code (LimitAmount only).
	Currency string
	// MaxQty is the largest quantity allowed (LimitQuantity only).
	MaxQty int64
}

// Scope is a parsed scope.
type Scope struct {
	Resource string
	Action   string
	Limit    Limit
}

// Parse parses s as a scope (see the package documentation). It is strict:
// for every s it accepts, Parse(s).String() == s. Errors wrap ErrMalformed.
func Parse(s string) (Scope, error) {
	if len(s) > MaxLen {
		return Scope{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLen)
	}
	parts := strings.SplitN(s, ":", 4)
	switch len(parts) {
	case 2, 3:
	case 4:
		return Scope{}, fmt.Errorf("%w: %s has more than three parts", ErrMalformed, quote(s))
	default:
		return Scope{}, fmt.Errorf("%w: %s is not resource:action[:constraint]", ErrMalformed, quote(s))
	}
	if err := checkIdent(parts[0]); err != nil {
		return Scope{}, fmt.Errorf("%w: resource: %w", ErrMalformed, err)
	}
	if err := checkIdent(parts[1]); err != nil {
		return Scope{}, fmt.Errorf("%w: action: %w", ErrMalformed, err)
	}
	sc := Scope{Resource: parts[0], Action: parts[1]}
	if len(parts) == 3 {
		lim, err := parseConstraint(parts[2])
		if err != nil {
			return Scope{}, fmt.Errorf("%w: constraint: %w", ErrMalformed, err)
		}
		sc.Limit = lim
	}
	return sc, nil
}

// ParseAction parses s as a bare action name, resource:action, with no
// constraint, as a request names it. Errors wrap ErrMalformed.
func ParseAction(s string) (resource, action string, err error) {
	if len(s) > 2*maxIdent+1 {
		return "", "", fmt.Errorf("%w: action longer than %d bytes", ErrMalformed, 2*maxIdent+1)
	}
	r, a, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(a, ":") {
		return "", "", fmt.Errorf("%w: %s is not resource:action", ErrMalformed, quote(s))
	}
	if err := checkIdent(r); err != nil {
		return "", "", fmt.Errorf("%w: resource: %w", ErrMalformed, err)
	}
	if err := checkIdent(a); err != nil {
		return "", "", fmt.Errorf("%w: action: %w", ErrMalformed, err)
	}
	return r, a, nil
}

// String returns the scope in the canonical form Parse accepts. For a Scope
// that Parse did not return, the result may not parse.
func (s Scope) String() string {
	name := s.Name()
	switch s.Limit.Kind {
	case LimitAmount:
		exp, _ := Exponent(s.Limit.Currency)
		return name + ":max_" + formatMinor(s.Limit.MaxMinor, exp) + strings.ToLower(s.Limit.Currency)
	case LimitQuantity:
		return name + ":max_qty" + strconv.FormatInt(s.Limit.MaxQty, 10)
	}
	return name
}

// Name returns the action the scope names, resource:action, such as
// "payment:charge".
func (s Scope) Name() string {
	return s.Resource + ":" + s.Action
}

// ValidateAll checks a scope list as the ledger records it in a contract:
// between 1 and MaxScopes entries, each of which parses, and no two equal.
// Errors name the offending index, as in "scopes[1]: ...", and wrap
// ErrMalformed or ErrInvalidList.
func ValidateAll(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("%w: no scopes", ErrInvalidList)
	}
	if len(scopes) > MaxScopes {
		return fmt.Errorf("%w: %d scopes, limit %d", ErrInvalidList, len(scopes), MaxScopes)
	}
	for i, s := range scopes {
		if _, err := Parse(s); err != nil {
			return fmt.Errorf("scopes[%d]: %w", i, err)
		}
		// Parse accepts one spelling per scope, so string equality is
		// scope equality. The list is short: quadratic is fine.
		for j := range i {
			if scopes[j] == s {
				return fmt.Errorf("scopes[%d]: %w: duplicate of scopes[%d]", i, ErrInvalidList, j)
			}
		}
	}
	return nil
}

// checkIdent checks s against [a-z][a-z0-9_]{0,31}.
func checkIdent(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxIdent {
		return fmt.Errorf("longer than %d bytes", maxIdent)
	}
	if c := s[0]; c < 'a' || c > 'z' {
		return fmt.Errorf("%s does not start with a lower-case letter", quote(s))
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%s has a character outside [a-z0-9_]", quote(s))
		}
	}
	return nil
}

// parseConstraint parses the part after the second colon.
func parseConstraint(c string) (Limit, error) {
	if q, ok := strings.CutPrefix(c, "max_qty"); ok {
		n, err := parseNatural(q)
		if err != nil {
			return Limit{}, fmt.Errorf("max_qty: %w", err)
		}
		return Limit{Kind: LimitQuantity, MaxQty: n}, nil
	}
	if a, ok := strings.CutPrefix(c, "max_"); ok {
		if len(a) < 4 {
			return Limit{}, fmt.Errorf("max_: %s is not <amount><currency>", quote(a))
		}
		amount, code := a[:len(a)-3], a[len(a)-3:]
		cur, exp, err := lowerCurrency(code)
		if err != nil {
			return Limit{}, fmt.Errorf("max_: %w", err)
		}
		minor, err := parseMajor(amount, exp)
		if err != nil {
			return Limit{}, fmt.Errorf("max_: %w", err)
		}
		return Limit{Kind: LimitAmount, MaxMinor: minor, Currency: cur}, nil
	}
	return Limit{}, fmt.Errorf("unknown constraint %s", quote(c))
}

// quote returns s quoted for an error message, cut short if long, so that
// hostile input cannot make error strings huge.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
