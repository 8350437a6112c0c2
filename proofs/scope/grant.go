package scope

import (
	"fmt"
	"strconv"
)

// Request is what a caller asks to do.
type Request struct {
	// Action is the action asked for, resource:action, such as
	// "payment:charge".
	Action string
	// Amount is in minor units of Currency; it is meaningful only if
	// HasAmount.
	Amount int64
	// Currency is an upper-case ISO 4217 code known to Exponent, such as
	// "USD"; it must be set exactly when HasAmount is.
	Currency  string
	HasAmount bool
	// Quantity is meaningful only if HasQuantity.
	Quantity    int64
	HasQuantity bool
}

// Reason is the machine-readable cause of a refusal. It is empty when the
// request is allowed.
type Reason string

// The reasons Grants refuses a request for.
const (
	// ReasonNoScope: no granted scope names the request's resource:action
	// (including an empty list, or one whose only match does not parse).
	ReasonNoScope Reason = "scope_missing"
	// ReasonAmountExceeded: the amount is over the scope's limit.
	ReasonAmountExceeded Reason = "amount_exceeded"
	// ReasonCurrencyMismatch: the amount is in a currency other than the
	// scope's limit.
	ReasonCurrencyMismatch Reason = "currency_mismatch"
	// ReasonQuantityExceeded: the quantity is over the scope's limit.
	ReasonQuantityExceeded Reason = "quantity_exceeded"
	// ReasonValueMissing: a limit applies but the request lacks the
	// value it constrains.
	ReasonValueMissing Reason = "constraint_value_missing"
	// ReasonBadRequest: the request itself is malformed: an action not in
	// the grammar, a negative amount or quantity, an unknown currency, or
	// a currency without an amount.
	ReasonBadRequest Reason = "bad_request"
)

// specificity ranks refusals: when no scope allows a request, Grants
// reports the reason of highest rank, the one that says most about why.
func (r Reason) specificity() int {
	switch r {
	case ReasonValueMissing:
		return 1
	case ReasonCurrencyMismatch:
		return 2
	case ReasonAmountExceeded, ReasonQuantityExceeded:
		return 3
	}
	return 0
}

// Decision is the outcome of Grants.
type Decision struct {
	// Allowed is the verdict; nothing else in a Decision grants anything.
	Allowed bool
	// Scope is the granted scope string that allowed the request; it is
	// empty when the request is refused.
	Scope string
	// Reason is empty when allowed, and says why otherwise.
	Reason Reason
	// Detail is text for a person. It holds scope names, amounts and
	// limits, never secrets.
	Detail string
}

// Grants decides whether any of the granted scope strings covers req.
//
// A scope covers req only if its resource:action is exactly req.Action and
// its limit, if any, holds: for an amount limit the request has an amount
// in the same currency with 0 <= amount <= the limit; for a quantity limit
// the request has a quantity with 0 <= quantity <= the limit. A malformed
// request is refused with ReasonBadRequest whatever is granted. An empty
// list grants nothing. A granted string that does not parse grants nothing
// but does not stop another from granting. The request is allowed if any
// one scope allows it; when none does, the Decision carries the most
// specific reason found (a broken limit over ReasonNoScope).
func Grants(granted []string, req Request) Decision {
	if d, ok := checkRequest(req); !ok {
		return d
	}
	best := Decision{
		Reason: ReasonNoScope,
		Detail: fmt.Sprintf("no granted scope names %s", req.Action),
	}
	for _, g := range granted {
		sc, err := Parse(g)
		if err != nil || sc.Name() != req.Action {
			continue
		}
		reason, detail := sc.Limit.check(req)
		if reason == "" {
			return Decision{Allowed: true, Scope: g}
		}
		if reason.specificity() > best.Reason.specificity() {
			best = Decision{Reason: reason, Detail: g + ": " + detail}
		}
	}
	return best
}

// checkRequest refuses a malformed request.
func checkRequest(req Request) (Decision, bool) {
	bad := func(format string, args ...any) (Decision, bool) {
		return Decision{Reason: ReasonBadRequest, Detail: fmt.Sprintf(format, args...)}, false
	}
	if _, _, err := ParseAction(req.Action); err != nil {
		return bad("%v", err)
	}
	if req.HasAmount {
		if req.Amount < 0 {
			return bad("negative amount %d", req.Amount)
		}
		if _, ok := Exponent(req.Currency); !ok {
			return bad("unknown currency %s", quote(req.Currency))
		}
	} else if req.Currency != "" {
		return bad("currency %s without an amount", quote(req.Currency))
	}
	if req.HasQuantity && req.Quantity < 0 {
		return bad("negative quantity %d", req.Quantity)
	}
	return Decision{}, true
}

// check returns "" if req (already checked by checkRequest) is within the
// limit, and otherwise why not.
func (l Limit) check(req Request) (Reason, string) {
	switch l.Kind {
	case LimitNone:
		return "", ""
	case LimitAmount:
		if !req.HasAmount {
			return ReasonValueMissing, "request has no amount"
		}
		if req.Currency != l.Currency {
			return ReasonCurrencyMismatch, fmt.Sprintf("request currency %s, limit in %s", req.Currency, l.Currency)
		}
		if req.Amount > l.MaxMinor {
			return ReasonAmountExceeded, fmt.Sprintf("amount %d exceeds limit %d (%s minor units)",
				req.Amount, l.MaxMinor, l.Currency)
		}
		return "", ""
	case LimitQuantity:
		if !req.HasQuantity {
			return ReasonValueMissing, "request has no quantity"
		}
		if req.Quantity > l.MaxQty {
			return ReasonQuantityExceeded, "quantity " + strconv.FormatInt(req.Quantity, 10) +
				" exceeds limit " + strconv.FormatInt(l.MaxQty, 10)
		}
		return "", ""
	}
	// A Limit Parse did not make: fail closed.
	return ReasonNoScope, "unknown limit kind"
}
