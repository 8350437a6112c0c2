package audit

import (
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs/statement"
)

// refundWorld is a log in which the order agent and a second party, the
// stranger, each hold a contract with the payment agent; the order agent
// may charge and refund, the stranger may only refund. A second payment
// agent, pay2, also charges for the order agent.
type refundWorld struct {
	*world
	pay2                      fixture.Identity
	toPay, toPay2, refundOnly uint64 // the three contracts
}

func newRefundWorld(t *testing.T) *refundWorld {
	w := &refundWorld{world: newWorld(t), pay2: fixture.NewIdentity("payment-2")}
	w.serves[w.pay2.DID] = []string{"payment:charge", "payment:refund"}
	for _, id := range []fixture.Identity{w.order, w.pay, w.stranger, w.pay2} {
		w.register(id)
	}
	w.toPay = w.contract(w.auth.Key, w.order, w.pay, "payment:charge:max_10000usd", "payment:refund:max_10000usd")
	w.toPay2 = w.contract(w.auth.Key, w.order, w.pay2, "payment:charge:max_10000usd")
	w.refundOnly = w.contract(w.auth.Key, w.stranger, w.pay, "payment:refund:max_100usd")
	return w
}

// violations audits the whole log and returns what it found.
func (w *refundWorld) violations(t *testing.T) []want {
	t.Helper()
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	var got []want
	for _, v := range e.State().Violations {
		got = append(got, want{v.Index, v.Kind, v.Reason})
	}
	return got
}

// TestHonestRefundsAreClean: the order agent charges 200, refunds 100,
// retries that refund (its entry repeats the body), and refunds the other
// 100.
func TestHonestRefundsAreClean(t *testing.T) {
	w := newRefundWorld(t)
	ch := w.act(w.pay, w.order, w.ref(w.toPay), charge(200))
	w.act(w.pay, w.order, w.ref(w.toPay), w.refund(100, "r1", ch))
	w.act(w.pay, w.order, w.ref(w.toPay), w.refund(100, "r1", ch)) // a retry
	w.act(w.pay, w.order, w.ref(w.toPay), w.refund(100, "r2", ch))
	if got := w.violations(t); len(got) != 0 {
		t.Fatalf("violations in honest refunds: %+v", got)
	}
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	if c := e.State().Charges[ch]; c.Refunded != 200 || len(c.Refunds) != 2 || c.Caller != w.order.DID {
		t.Fatalf("charge state %+v", c)
	}
}

// TestRefundOfAnotherCallersCharge is the attack of issue 12, item 2, as a
// compromised payment agent would record it: a refund asked by the
// stranger, under its own refund contract (so every contract rule holds),
// of the order agent's charge.
func TestRefundOfAnotherCallersCharge(t *testing.T) {
	w := newRefundWorld(t)
	ch := w.act(w.pay, w.order, w.ref(w.toPay), charge(200))
	planted := w.act(w.pay, w.stranger, w.ref(w.refundOnly), w.refund(100, "steal", ch))
	// The owner's refund of the whole charge is still within it: the
	// planted refund was not counted.
	w.act(w.pay, w.order, w.ref(w.toPay), w.refund(200, "r1", ch))
	got := w.violations(t)
	if len(got) != 1 || got[0] != (want{planted, KindRefundNotYourCharge, ReasonOtherCaller}) {
		t.Fatalf("violations %+v, want only the planted refund at %d", got, planted)
	}
}

// TestRefundRule holds one entry per way a refund can break the rule.
func TestRefundRule(t *testing.T) {
	w := newRefundWorld(t)
	var ws []want
	expect := func(idx uint64, kind, reason string) { ws = append(ws, want{idx, kind, reason}) }
	ch := w.act(w.pay, w.order, w.ref(w.toPay), charge(200))
	other := w.act(w.pay2, w.order, w.ref(w.toPay2), charge(200))
	refund := func(minor int64, key string, target *statement.EntryRef) fixture.ActionSpec {
		s := w.refund(minor, key, ch)
		s.Target = target
		return s
	}
	at := func(idx uint64) *statement.EntryRef { r := w.ref(idx); return &r }

	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(1, "none", nil)), KindRefundNotYourCharge, ReasonNoCharge)
	later := at(ch)
	later.Index = 1000
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(1, "later", later)), KindRefundNotYourCharge, ReasonLaterIndex)
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(1, "contract", at(w.toPay))), KindRefundNotYourCharge, ReasonNotACharge)
	wrong := at(other)
	wrong.Index = ch
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(1, "leaf", wrong)), KindRefundNotYourCharge, ReasonLeafMismatch)
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(1, "pay2", at(other))), KindRefundNotYourCharge, ReasonOtherAgent)
	expect(w.act(w.pay, w.stranger, w.ref(w.refundOnly), refund(1, "steal", at(ch))), KindRefundNotYourCharge, ReasonOtherCaller)
	eur := refund(1, "eur", at(ch))
	eur.Currency = "EUR"
	idx := w.act(w.pay, w.order, w.ref(w.toPay), eur)
	expect(idx, KindNotCovered, "currency_mismatch") // the contract's limit is in USD
	expect(idx, KindRefundExceedsCharge, "currency_mismatch")
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(201, "big", at(ch))), KindRefundExceedsCharge, "amount_exceeded")
	w.act(w.pay, w.order, w.ref(w.toPay), refund(150, "r1", at(ch)))
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(51, "r2", at(ch))), KindRefundExceedsCharge, "amount_exceeded")
	w.act(w.pay, w.order, w.ref(w.toPay), refund(50, "r3", at(ch)))
	w.act(w.pay, w.order, w.ref(w.toPay), refund(150, "r1", at(ch))) // a retry of r1, not a third refund
	// A second refund hiding behind r1's digest, as a compromised agent
	// would write it: the same body, another amount.
	expect(w.act(w.pay, w.order, w.ref(w.toPay), refund(10000, "r1", at(ch))), KindRefundExceedsCharge, ReasonRetryMismatch)

	got := w.violations(t)
	if len(got) != len(ws) {
		t.Errorf("got %d violations, want %d: %+v", len(got), len(ws), got)
	}
	for i := range min(len(got), len(ws)) {
		if got[i] != ws[i] {
			t.Errorf("violation %d = %+v, want %+v", i, got[i], ws[i])
		}
	}
}
