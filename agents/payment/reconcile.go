package payment

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
	"github.com/agentledger/agentledger/verify/audit"
)

// Kinds of Difference.
const (
	// DiffMissingRecord: an action entry of this agent has no record of
	// what was done under it.
	DiffMissingRecord = "missing_record"
	// DiffMissingAction: a record (charge, refund or receipt) names a
	// receipt index that holds no payment action entry of this agent.
	DiffMissingAction = "missing_action"
	// DiffAmountMismatch: the amount or currency of a record differs from
	// its action entry's.
	DiffAmountMismatch = "amount_mismatch"
	// DiffActionMismatch: a record is for another action than its entry.
	DiffActionMismatch = "action_mismatch"
	// DiffArgsMismatch: the request body recorded is not the one the
	// entry's args_digest names, or another caller's.
	DiffArgsMismatch = "args_mismatch"
	// DiffPending: a charge or refund whose processor answer was never
	// recorded; it needs a retry or a look at the processor.
	DiffPending = "pending"
	// DiffInvalidEntry: an action entry claiming this agent's key that
	// does not verify or parse.
	DiffInvalidEntry = "invalid_entry"
	// DiffDuplicateCharge: a second succeeded charge for an order of the
	// same caller, under another idempotency key: a customer charged twice.
	DiffDuplicateCharge = "duplicate_charge"
	// DiffRefundNotYourCharge: a refund entry of this agent breaks the
	// refund rule as an auditor checks it (audit.KindRefundNotYourCharge:
	// its target is not a charge entry of this agent for the same
	// caller), or a refund record is of another caller's charge, or its
	// entry names another charge's entry.
	DiffRefundNotYourCharge = audit.KindRefundNotYourCharge
	// DiffRefundExceedsCharge: the refund entries of one charge exceed it
	// or are in another currency (audit.KindRefundExceedsCharge), or the
	// succeeded and pending refund records of one charge add up to more
	// than it.
	DiffRefundExceedsCharge = audit.KindRefundExceedsCharge
)

// Difference is one disagreement between the agent's records and the
// ledger. Index is the ledger index concerned (a receipt index).
type Difference struct {
	Kind     string `json:"kind"`
	Index    uint64 `json:"index"`
	ChargeID string `json:"charge_id,omitempty"`
	RefundID string `json:"refund_id,omitempty"`
	Detail   string `json:"detail"`
}

// Report is the outcome of a reconciliation. Err is set when it could not
// be completed; the differences found up to then are kept.
type Report struct {
	Entries   uint64 `json:"entries"` // ledger entries read
	Actions   int    `json:"actions"` // payment action entries of this agent
	Charges   int    `json:"charges"`
	Succeeded int    `json:"succeeded"` // charges the processor approved
	Refunds   int    `json:"refunds"`
	Receipts  int    `json:"receipts"`
	// Unseen counts records whose receipt index is past the entries read
	// (the view lags the agent's latest approvals, or reading stopped):
	// they are not judged, so they are never called missing.
	Unseen      int          `json:"unseen"`
	Differences []Difference `json:"differences"`
	Err         error        `json:"-"`
}

// Clean reports whether the records and the ledger agree entirely.
func (r Report) Clean() bool { return r.Err == nil && len(r.Differences) == 0 }

func (r *Report) add(d Difference) { r.Differences = append(r.Differences, d) }

// Reconcile compares the agent's records with the payment action entries
// it signed in the ledger. entries yields the ledger's entries with their
// indexes. Every payment:charge and payment:refund entry signed by this
// agent must have a receipt record with the same action, caller,
// args_digest, amount and currency; every receipt, charge and refund
// record must have its entry. The refund entries must keep the auditor's
// refund rule (audit.Charges, applied to this agent's entries), and every
// refund record must be of a charge of its own caller, under an entry that
// names that charge's entry.
func (s *Service) Reconcile(ctx context.Context, entries func(yield func(index uint64, entry []byte) bool)) Report {
	var rep Report
	receipts := map[uint64]ReceiptRecord{}
	if rep.Err = s.store.Receipts(func(r ReceiptRecord) error { receipts[r.Index] = r; return nil }); rep.Err != nil {
		return rep
	}
	rep.Receipts = len(receipts)
	actions := map[uint64]*statement.Action{}
	charges := audit.Charges{}
	for index, entry := range entries {
		rep.Entries++
		if rep.Err = ctx.Err(); rep.Err != nil {
			return rep
		}
		a, err := s.ownAction(entry)
		if err != nil {
			rep.add(Difference{Kind: DiffInvalidEntry, Index: index, Detail: err.Error()})
			continue
		}
		if a == nil || (a.Action != ActionCharge && a.Action != ActionRefund) {
			continue
		}
		rep.Actions++
		actions[index] = a
		for _, v := range charges.Apply(index, entry, a) {
			rep.add(Difference{Kind: v.Kind, Index: index, Detail: v.Reason + ": " + v.Detail})
		}
		rc, ok := receipts[index]
		if !ok {
			rep.add(Difference{Kind: DiffMissingRecord, Index: index, Detail: a.Action + " entry with no record of what was done"})
			continue
		}
		base := Difference{Index: index, ChargeID: rc.ChargeID, RefundID: rc.RefundID}
		switch {
		case rc.Action != a.Action:
			base.Kind, base.Detail = DiffActionMismatch, fmt.Sprintf("entry %s, record %s", a.Action, rc.Action)
			rep.add(base)
		case rc.Caller != a.Caller || rc.ArgsDigest != a.ArgsDigest:
			base.Kind, base.Detail = DiffArgsMismatch, "the record's caller or request body is not the entry's"
			rep.add(base)
		case !sameMoney(rc.Amount, rc.Currency, a):
			base.Kind, base.Detail = DiffAmountMismatch, fmt.Sprintf("entry %s, receipt record %s", money(a.Amount, a.Currency), money(rc.Amount, rc.Currency))
			rep.add(base)
		}
	}
	for _, rc := range receipts {
		if rc.Index >= rep.Entries {
			rep.Unseen++
			continue
		}
		if actions[rc.Index] == nil {
			rep.add(Difference{Kind: DiffMissingAction, Index: rc.Index, ChargeID: rc.ChargeID, RefundID: rc.RefundID,
				Detail: "receipt record (" + rc.Outcome + ") with no " + rc.Action + " entry of this agent"})
		}
	}
	defer sortDifferences(&rep)
	charged := map[[2]string]string{} // caller, order id -> the succeeded charge
	records := map[string]ChargeRecord{}
	rep.Err = s.store.Charges(func(c ChargeRecord) error {
		rep.Charges++
		records[c.ID] = c
		checkRecord(&rep, actions, receipts, ActionCharge, c.ReceiptIndex, c.Amount, c.Currency, c.Status, Difference{ChargeID: c.ID})
		if c.Status != StatusSucceeded {
			return nil
		}
		rep.Succeeded++
		order := [2]string{c.Caller, c.OrderID}
		if first, ok := charged[order]; ok {
			rep.add(Difference{Kind: DiffDuplicateCharge, Index: c.ReceiptIndex, ChargeID: c.ID,
				Detail: "order " + c.OrderID + " was already charged by " + first})
			return nil
		}
		charged[order] = c.ID
		return nil
	})
	if rep.Err != nil {
		return rep
	}
	refunded := map[string]int64{} // charge id -> succeeded and pending refunds
	rep.Err = s.store.Refunds(func(r RefundRecord) error {
		rep.Refunds++
		d := Difference{ChargeID: r.ChargeID, RefundID: r.ID}
		checkRecord(&rep, actions, receipts, ActionRefund, r.ReceiptIndex, r.Amount, r.Currency, r.Status, d)
		d.Index, d.Kind = r.ReceiptIndex, DiffRefundNotYourCharge
		ch, ok := records[r.ChargeID]
		switch a := actions[r.ReceiptIndex]; {
		case !ok || ch.Caller != r.Caller:
			d.Detail = "a refund for " + r.Caller + " of a charge that is not its own"
			rep.add(d)
			return nil
		case a != nil && a.Action == ActionRefund && (a.Target == nil || a.Target.Index != ch.ReceiptIndex):
			d.Detail = fmt.Sprintf("the refund's entry does not name its charge's entry %d", ch.ReceiptIndex)
			rep.add(d)
		}
		if r.Status != StatusFailed {
			if refunded[ch.ID] += r.Amount; refunded[ch.ID] > ch.Amount {
				d.Kind, d.Detail = DiffRefundExceedsCharge, fmt.Sprintf("refunds of %d of a charge of %d", refunded[ch.ID], ch.Amount)
				rep.add(d)
			}
		}
		return nil
	})
	return rep
}

// checkRecord checks a charge or refund record against the entry it was
// made under.
func checkRecord(rep *Report, actions map[uint64]*statement.Action, receipts map[uint64]ReceiptRecord, action string, index uint64, amount int64, currency, status string, d Difference) {
	d.Index = index
	a := actions[index]
	switch {
	case index >= rep.Entries:
		if receipts[index].Action == "" {
			rep.Unseen++ // a receipt record past the entries is counted with it
		}
		return
	case a == nil && receipts[index].Action != "":
		return // reported with its receipt record
	case a == nil:
		d.Kind, d.Detail = DiffMissingAction, action+" record with no entry of this agent at its receipt index"
	case a.Action != action:
		d.Kind, d.Detail = DiffActionMismatch, fmt.Sprintf("entry %s, record %s", a.Action, action)
	case !sameMoney(&amount, currency, a):
		d.Kind, d.Detail = DiffAmountMismatch, fmt.Sprintf("entry %s, %s record %s", money(a.Amount, a.Currency), action, money(&amount, currency))
	case status == StatusPending:
		d.Kind, d.Detail = DiffPending, action+" with no recorded processor answer"
	default:
		return
	}
	rep.add(d)
}

func sortDifferences(rep *Report) {
	slices.SortStableFunc(rep.Differences, func(a, b Difference) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ChargeID+a.RefundID, b.ChargeID+b.RefundID))
	})
}

// ownAction returns the action statement of entry if this agent signed
// it, nil for any other entry, and an error for an entry that claims this
// agent's key but does not verify or parse.
func (s *Service) ownAction(entry []byte) (*statement.Action, error) {
	env, err := envelope.Parse(entry)
	if err != nil || env.Kind != envelope.KindAction || env.KeyID != s.did {
		return nil, nil
	}
	if _, err := env.Verify(); err != nil {
		return nil, err
	}
	a, err := statement.ParseAction(env.Payload)
	if err != nil {
		return nil, err
	}
	if a.Agent != s.did {
		return nil, fmt.Errorf("action signed by this agent names agent %s", a.Agent)
	}
	return a, nil
}

func sameMoney(amount *int64, currency string, a *statement.Action) bool {
	if amount == nil || a.Amount == nil {
		return amount == nil && a.Amount == nil
	}
	return *amount == *a.Amount && currency == a.Currency
}

func money(amount *int64, currency string) string {
	if amount == nil {
		return "no amount"
	}
	return fmt.Sprintf("%d %s", *amount, currency)
}

// ReconcileLedger reconciles against the first cp.Size entries of the
// ledger, read from its entry bundles through verify.EntryReader. cp must
// be a checkpoint the caller verified (verify.Follower.Checkpoint): every
// entry is proved to be the checkpoint's before it is reconciled, so a
// ledger cannot hide or change an entry.
func (s *Service) ReconcileLedger(ctx context.Context, src verify.TileSource, cp proofs.Checkpoint) Report {
	rd, err := verify.NewEntryReader(src, cp, nil)
	if err != nil {
		return Report{Err: err}
	}
	rep := s.Reconcile(ctx, rd.Entries(ctx))
	if rep.Err == nil {
		rep.Err = rd.Err()
	}
	return rep
}
