package audit

import (
	"fmt"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// The two actions the refund rule ties together (docs/protocol.md §10).
const (
	actionCharge = "payment:charge"
	actionRefund = "payment:refund"
)

// Charge is what the refund rule keeps of one payment:charge action entry.
type Charge struct {
	// LeafHash is the base64 RFC 6962 leaf hash of the charge's entry.
	LeafHash string `json:"leaf_hash"`
	// Agent and Caller are the entry's: the callee that approved the
	// charge and the caller it charged for.
	Agent  string `json:"agent"`
	Caller string `json:"caller"`
	// Amount and Currency are the entry's; an entry with none has amount
	// 0 and no currency, and nothing can be refunded of it.
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Refunded is the sum of the refunds counted against the charge.
	Refunded int64 `json:"refunded"`
	// Refunds maps the args_digest of each refund counted against the
	// charge to the index of its first entry, and RefundAmounts to its
	// amount, which a retry must repeat.
	Refunds       map[string]uint64 `json:"refunds"`
	RefundAmounts map[string]int64  `json:"refund_amounts"`
}

// Charges is the refund rule's memory of a log: every payment:charge
// action entry, by index.
type Charges map[uint64]Charge

// Apply applies the refund rule to a, the action of the log entry at
// index. The caller has checked that the entry's signature verifies and
// that its signer is a.Agent, and applies every action entry of the log
// in index order (an agent reconciling its own records may apply only
// its own).
//
// A payment:charge entry is remembered. A payment:refund entry must name
// in its target the entry of a charge at a lower index, with that entry's
// leaf hash, approved by the same agent for the same caller
// (refund_not_your_charge: a caller refunds only a charge it made, at the
// callee that made it). It must be in the charge's currency, and the
// refunds of one charge must not add up to more than its amount
// (refund_exceeds_charge). Refunds are told apart by their args_digest:
// a retry of one refund repeats its body, so its entries count once, and
// one that repeats a digest with another amount or currency breaks the
// rule (refund_exceeds_charge, retry_mismatch). A
// refund that breaks the rule is not counted. Apply returns the
// violations, with Index set; there are none for other actions.
func (cs Charges) Apply(index uint64, entry []byte, a *statement.Action) []Violation {
	switch a.Action {
	case actionCharge:
		ch := Charge{LeafHash: proofs.LeafHash(entry).String(), Agent: a.Agent, Caller: a.Caller, Currency: a.Currency,
			Refunds: map[string]uint64{}, RefundAmounts: map[string]int64{}}
		if a.Amount != nil {
			ch.Amount = *a.Amount
		}
		cs[index] = ch
		return nil
	case actionRefund:
	default:
		return nil
	}
	bad := func(kind, reason, format string, args ...any) []Violation {
		return []Violation{{Index: index, Kind: kind, Reason: reason, Detail: fmt.Sprintf(format, args...)}}
	}
	t := a.Target
	if t == nil {
		return bad(KindRefundNotYourCharge, ReasonNoCharge, "the refund names no charge entry")
	}
	if t.Index >= index {
		return bad(KindRefundNotYourCharge, ReasonLaterIndex, "the refund names entry %d, not before its own %d", t.Index, index)
	}
	ch, ok := cs[t.Index]
	if !ok {
		return bad(KindRefundNotYourCharge, ReasonNotACharge, "entry %d is not a %s action", t.Index, actionCharge)
	}
	if want := t.LeafHash.String(); ch.LeafHash != want {
		return bad(KindRefundNotYourCharge, ReasonLeafMismatch, "entry %d has leaf hash %s, not %s", t.Index, ch.LeafHash, want)
	}
	if ch.Agent != a.Agent {
		return bad(KindRefundNotYourCharge, ReasonOtherAgent, "the charge at entry %d was approved by %s, the refund by %s", t.Index, ch.Agent, a.Agent)
	}
	if ch.Caller != a.Caller {
		return bad(KindRefundNotYourCharge, ReasonOtherCaller, "the charge at entry %d was made by %s, the refund asked by %s", t.Index, ch.Caller, a.Caller)
	}
	if first, seen := ch.Refunds[a.ArgsDigest]; seen {
		// A retry repeats its body, so it repeats the amount too; one that
		// does not is a second refund hiding behind the first's digest.
		if a.Amount == nil || *a.Amount != ch.RefundAmounts[a.ArgsDigest] || a.Currency != ch.Currency {
			return bad(KindRefundExceedsCharge, ReasonRetryMismatch, "the refund repeats the args_digest of entry %d (%d %s) but is %s",
				first, ch.RefundAmounts[a.ArgsDigest], ch.Currency, amountText(a))
		}
		return nil // a retry of a refund already counted
	}
	if a.Amount == nil || a.Currency != ch.Currency {
		return bad(KindRefundExceedsCharge, string(scope.ReasonCurrencyMismatch), "the refund is %s, the charge at entry %d is in %q",
			amountText(a), t.Index, ch.Currency)
	}
	if *a.Amount > ch.Amount-ch.Refunded {
		return bad(KindRefundExceedsCharge, string(scope.ReasonAmountExceeded), "the refund of %d is more than the %d left of the charge at entry %d (%d, %d refunded)",
			*a.Amount, ch.Amount-ch.Refunded, t.Index, ch.Amount, ch.Refunded)
	}
	ch.Refunded += *a.Amount
	if ch.RefundAmounts == nil { // a charge resumed from a state without amounts
		ch.RefundAmounts = map[string]int64{}
	}
	ch.Refunds[a.ArgsDigest] = index
	ch.RefundAmounts[a.ArgsDigest] = *a.Amount
	cs[t.Index] = ch
	return nil
}

func amountText(a *statement.Action) string {
	if a.Amount == nil {
		return "of no amount"
	}
	return fmt.Sprintf("%d %s", *a.Amount, a.Currency)
}

// clone returns a deep copy of cs.
func (cs Charges) clone() Charges {
	out := make(Charges, len(cs))
	for i, ch := range cs {
		ch.Refunds = cloneMap(ch.Refunds)
		ch.RefundAmounts = cloneMap(ch.RefundAmounts)
		out[i] = ch
	}
	return out
}
