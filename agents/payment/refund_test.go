package payment

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify/audit"
)

// bindRefusal is RefundBind's refusal of body from caller.
func bindRefusal(t *testing.T, w *world, caller, body string) *guard.Refusal {
	t.Helper()
	_, err := w.svc.RefundBind(context.Background(), caller, []byte(body))
	var r *guard.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("bind of %s for %s: %v, want a refusal", body, caller, err)
	}
	return r
}

func TestRefundOfAnotherCallersCharge(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody)
	stranger := fixture.NewIdentity("stranger").DID
	theirs := bindRefusal(t, w, stranger, refundBody(ch.ChargeID, 100, "steal"))
	none := bindRefusal(t, w, stranger, refundBody("ch_nope", 100, "steal"))
	if theirs.Status != http.StatusNotFound || theirs.Reason != ReasonRefundNotYourCharge || *theirs != *none {
		t.Fatalf("another caller's charge: %+v; no charge: %+v", theirs, none)
	}
	rec, err := w.svc.store.Charge(ch.ChargeID)
	if err != nil || len(rec.RefundApprovals) != 0 || rec.Refunded != 0 {
		t.Fatalf("a refused refund changed the charge: %+v %v", rec, err)
	}
	// The owner refunds it, and its entry names the charge's.
	if code, resp := w.refund(refundBody(ch.ChargeID, 2500, "r1")); code != http.StatusOK || resp.Status != StatusSucceeded {
		t.Fatalf("owner's refund: %d %+v", code, resp)
	}
	env, err := envelope.Parse(w.entries[len(w.entries)-1])
	if err != nil {
		t.Fatal(err)
	}
	a, err := statement.ParseAction(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if want := w.ref1(ch.ReceiptIndex); a.Target == nil || *a.Target != want {
		t.Fatalf("refund target %+v, want %+v", a.Target, want)
	}
}

// ref1 is the reference to the entry at index.
func (w *world) ref1(index uint64) statement.EntryRef {
	return statement.EntryRef{Index: index, LeafHash: proofs.LeafHash(w.entries[index])}
}

// TestRefundRetryRepeatsTheBody: the log tells refunds apart by their
// args_digest, so a retry under the same key with the same values written
// another way is a conflict, not a second count.
func TestRefundRetryRepeatsTheBody(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody)
	if code, _ := w.refund(refundBody(ch.ChargeID, 100, "r1")); code != http.StatusOK {
		t.Fatal(code)
	}
	reordered := `{"amount":100,"charge_id":"` + ch.ChargeID + `","currency":"USD","idempotency_key":"r1"}`
	if code, resp := w.refund(reordered); code != http.StatusConflict || resp.Error != ReasonIdempotencyConflict {
		t.Fatalf("reordered retry: %d %+v", code, resp)
	}
	if code, resp := w.refund(refundBody(ch.ChargeID, 100, "r1")); code != http.StatusOK || resp.Status != StatusSucceeded {
		t.Fatalf("byte-for-byte retry: %d %+v", code, resp)
	}
	if w.proc.RefundCalls() != 1 {
		t.Fatalf("%d processor refunds", w.proc.RefundCalls())
	}
}

// TestRefundCountedBeforeItsApproval: a refund is counted against its
// charge before its approval is recorded, so an approval that never made
// it to the ledger still counts, and its retry counts once.
func TestRefundCountedBeforeItsApproval(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody) // 2500
	b, err := w.svc.RefundBind(context.Background(), w.caller.DID, []byte(refundBody(ch.ChargeID, 2000, "r1")))
	if err != nil {
		t.Fatal(err)
	}
	b.Release() // the ledger did not take the approval
	if r := bindRefusal(t, w, w.caller.DID, refundBody(ch.ChargeID, 501, "r2")); r.Reason != ReasonRefundExceedsCharge {
		t.Fatalf("a refund beyond what is approved: %+v", r)
	}
	if code, resp := w.refund(refundBody(ch.ChargeID, 2000, "r1")); code != http.StatusOK || resp.Status != StatusSucceeded {
		t.Fatalf("the retry: %d %+v", code, resp)
	}
	if code, resp := w.refund(refundBody(ch.ChargeID, 500, "r2")); code != http.StatusOK {
		t.Fatalf("the rest: %d %+v", code, resp)
	}
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() || rep.Refunds != 2 {
		t.Fatalf("reconcile: %s", dump(rep))
	}
}

// TestReconcileFindsARefundOfAnotherCallersCharge plants, as a
// compromised agent would, a refund entry of the charge for another caller
// and a refund record of it, and expects reconcile to name both.
func TestReconcileFindsARefundOfAnotherCallersCharge(t *testing.T) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody)
	stranger := fixture.NewIdentity("stranger").DID
	target := w.ref1(ch.ReceiptIndex)
	entry, err := fixture.Action(w.agent, fixture.ActionSpec{Caller: stranger, Contract: w.ref, Action: ActionRefund,
		Body: []byte(refundBody(ch.ChargeID, 100, "steal")), Amount: fixture.Int64(100), Currency: "USD", Target: &target, Nonce: nonce(), Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	w.entries = append(w.entries, entry)
	planted := uint64(len(w.entries) - 1)
	amount := int64(100)
	rf := RefundRecord{ID: "re_planted", Caller: stranger, ChargeID: ch.ChargeID, IdempotencyKey: "steal", Amount: 100,
		Currency: "USD", Status: StatusSucceeded, ReceiptIndex: planted, Time: t0}
	rc := ReceiptRecord{Index: planted, Action: ActionRefund, Caller: stranger, ArgsDigest: argsDigest([]byte(refundBody(ch.ChargeID, 100, "steal"))),
		Amount: &amount, Currency: "USD", ChargeID: ch.ChargeID, RefundID: rf.ID, Outcome: StatusSucceeded, Time: t0}
	if err := w.svc.store.apply(write{refund: &rf, receipt: &rc}); err != nil {
		t.Fatal(err)
	}
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	var kinds []string
	for _, d := range rep.Differences {
		if d.Index != planted {
			t.Errorf("difference at %d: %+v", d.Index, d)
		}
		kinds = append(kinds, d.Kind)
	}
	if len(kinds) != 2 || kinds[0] != DiffRefundNotYourCharge || kinds[1] != DiffRefundNotYourCharge {
		t.Fatalf("differences: %s", dump(rep.Differences))
	}
}

// TestRefundReasonsAreAuditKinds: the payment agent refuses a refund with
// the name the auditor reports it under when an agent approves it anyway.
func TestRefundReasonsAreAuditKinds(t *testing.T) {
	if ReasonRefundNotYourCharge != audit.KindRefundNotYourCharge || ReasonRefundExceedsCharge != audit.KindRefundExceedsCharge {
		t.Fatal("one refund rule, two names")
	}
}
