package guard_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify/audit"
)

// nonceStep is one signed charge in a nonce case: the agent's clock moves
// on by after, the agent restarts on its own store if restart is set, and
// the caller signs the charge with created offset by created from the
// agent's clock.
type nonceStep struct {
	after, created time.Duration
	restart        bool
}

// nonceRig is a ledger, an order agent with a charge contract, and a
// payment agent behind a real loopback server whose guard, verifier and
// follower read one settable clock; and an audit engine that has audited
// every entry of the log so far.
type nonceRig struct {
	t              *testing.T
	w              *ledgerWorld
	order, payment fixture.Identity
	k              caller.Contract
	clock          *testClock
	dir            string
	pay            *agent
	eng            *audit.Engine
}

func newNonceRig(t *testing.T) *nonceRig {
	signer, verifier := newLogKeys(t)
	r := &nonceRig{t: t, w: newLedger(t, signer, verifier, fixture.NewIdentity("authority")), dir: t.TempDir()}
	r.order = r.w.register("order-agent", "low")
	r.payment = r.w.register("payment-agent", "high", "payment:charge")
	start := time.Now()
	r.k = r.w.issue(r.order, r.payment, start.Add(-time.Minute), 48*time.Hour, "payment:charge:max_10000usd")
	r.clock = &testClock{t: start}
	r.start()
	r.eng = audit.New(r.w.authority.DID, httpsig.DefaultSkew)
	r.audit()
	return r
}

func (r *nonceRig) start() {
	r.pay = startAgent(r.t, agentConfig{id: r.payment, ledger: r.w, dir: r.dir, now: r.clock.Now})
}

// audit feeds the engine the entries appended since its last call and
// fails on any violation: the callee followed the protocol throughout.
func (r *nonceRig) audit() {
	r.t.Helper()
	for i := r.eng.State().Next; i < r.w.log.Size(); i++ {
		e, err := r.w.log.Entry(i)
		if err != nil {
			r.t.Fatal(err)
		}
		if err := r.eng.Check(i, e); err != nil {
			r.t.Fatal(err)
		}
	}
	if vs := r.eng.State().Violations; len(vs) > 0 {
		r.t.Fatalf("the audit fails an honest callee: %+v", vs)
	}
}

// send signs a charge of body with nonce, created offset from the
// agent's clock, and sends it.
func (r *nonceRig) send(nonce string, created time.Duration, body []byte) answer {
	r.t.Helper()
	// The view is refreshed at the agent's clock, so it is never stale.
	if err := r.pay.follower.Refresh(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, r.pay.url+"/v1/charge", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	v, err := contractref.Format(r.k.Ref, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set(contractref.ContractHeader, v)
	s := &httpsig.Signer{Key: r.order.Key, KeyID: r.order.DID,
		Now:   func() time.Time { return r.clock.Now().Add(created) },
		Nonce: func() (string, error) { return nonce, nil }}
	if err := s.Sign(req, body); err != nil {
		r.t.Fatal(err)
	}
	return do(r.t, req)
}

// recorded is the action entry a receipt names.
func (r *nonceRig) recorded(receipt string) *statement.Action {
	r.t.Helper()
	index, _, err := contractref.ParseReceipt(receipt)
	if err != nil {
		r.t.Fatal(err)
	}
	raw, err := r.w.log.Entry(index)
	if err != nil {
		r.t.Fatal(err)
	}
	env, err := envelope.Parse(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	a, err := statement.ParseAction(env.Payload)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// wouldFlag reports whether the audit would flag the payment agent's
// approval of body with nonce at the time at, had the agent recorded it
// next: the audit's side of a request the guard refused.
func (r *nonceRig) wouldFlag(nonce string, body []byte, amount int64, at time.Time) bool {
	r.t.Helper()
	e, err := audit.Resume(r.eng.State(), httpsig.DefaultSkew)
	if err != nil {
		r.t.Fatal(err)
	}
	raw, err := fixture.Action(r.payment, fixture.ActionSpec{Caller: r.order.DID, Contract: r.k.Ref, Action: "payment:charge",
		Body: body, Amount: fixture.Int64(amount), Currency: "USD", Nonce: nonce, Time: at})
	if err != nil {
		r.t.Fatal(err)
	}
	s := e.State()
	if err := e.Check(s.Next, raw); err != nil {
		r.t.Fatal(err)
	}
	vs := e.State().Violations
	if len(vs) > 1 || len(vs) == 1 && vs[0].Kind != audit.KindNonceReused {
		r.t.Fatalf("the audit flags a refused request for more than its nonce: %+v", vs)
	}
	return len(vs) == 1
}

// run sends steps with one nonce and checks, at each, that the guard
// approves exactly when the nonce rule allows it (no earlier approval of
// the nonce clashes with this one's time), that an approval is recorded at
// the agent's clock with the nonce, that the audit of the whole log stays
// clean, and that a refusal is exactly what the audit would have flagged.
func (r *nonceRig) run(name, nonce string, steps []nonceStep) {
	r.t.Helper()
	var approved []time.Time
	for i, st := range steps {
		r.clock.add(st.after)
		if st.restart {
			r.pay.close()
			r.start()
		}
		at := r.clock.Now().UTC()
		amount := int64(100 + i)
		body := chargeBody(amount, "USD")
		want := true
		for _, t := range approved {
			if statement.NoncesClash(t, at) {
				want = false
			}
		}
		got := r.send(nonce, st.created, body)
		switch {
		case want && got.status == http.StatusOK:
			if a := r.recorded(got.receipt); a.Nonce != nonce || !a.Time.Equal(at) {
				r.t.Fatalf("%s, step %d: recorded nonce %q at %v, want %q at %v", name, i, a.Nonce, a.Time, nonce, at)
			}
			approved = append(approved, at)
		case !want && got.status == http.StatusUnauthorized && got.reason == "replay":
			if !r.wouldFlag(nonce, body, amount, at) {
				r.t.Fatalf("%s, step %d: the guard refused what the audit allows", name, i)
			}
		default:
			r.t.Fatalf("%s, step %d (%+v): got %d %q, the rule says approve=%v", name, i, st, got.status, got.reason, want)
		}
		r.audit()
	}
}

// TestNonceRuleGuardAndAuditAgree is item 3 of issue 12 and the offsets
// around it. The old guard forgot a nonce 30 s after the request's
// created, so a caller could sign one charge with created 29 s in the
// past and a second with the same nonce 4 s later: both were approved,
// and the audit flagged nonce_reused at the second, for good. Now both
// sides keep statement.NonceWindow on the recorded times: every step is
// approved or refused exactly as the rule says, at both ends of the skew
// window, across the window's edge to the nanosecond and across restarts,
// and the audit of the whole log stays clean.
func TestNonceRuleGuardAndAuditAgree(t *testing.T) {
	const W, ns, s = statement.NonceWindow, time.Nanosecond, time.Second
	r := newNonceRig(t)
	cases := []struct {
		name  string
		steps []nonceStep
	}{
		{"issue 12: created 29 s ago, the same nonce 4 s later", []nonceStep{{0, -29 * s, false}, {4 * s, -29 * s, false}}},
		{"at once", []nonceStep{{0, 0, false}, {0, 0, false}}},
		{"created in the past, then in the future", []nonceStep{{0, -29 * s, false}, {s, 29 * s, false}}},
		{"past the old 30 s memory", []nonceStep{{0, -29 * s, false}, {31 * s, -29 * s, false}}},
		{"past the first signature's skew window", []nonceStep{{0, 29 * s, false}, {59 * s, -29 * s, false}}},
		{"a nanosecond inside the window", []nonceStep{{0, -29 * s, false}, {W - ns, 0, false}}},
		{"at the window", []nonceStep{{0, -29 * s, false}, {W, -29 * s, false}}},
		{"past the window", []nonceStep{{0, 0, false}, {W + s, 29 * s, false}}},
		{"4 s later, across a restart", []nonceStep{{0, -29 * s, false}, {4 * s, -29 * s, true}}},
		{"inside the window, across a restart", []nonceStep{{0, 29 * s, false}, {W - ns, -29 * s, true}}},
		{"at the window, across a restart", []nonceStep{{0, -29 * s, false}, {W, 0, true}}},
		{"each use is measured from the last approved one", []nonceStep{
			{0, -29 * s, false}, {W, -29 * s, false}, {4 * s, -29 * s, false}, {W - 5*s, 0, false}, {s, 0, false}}},
	}
	for i, c := range cases {
		r.run(c.name, fmt.Sprintf("issue12-case-%04d", i), c.steps)
	}
	// Seeded random sequences, half of them within 2 s of the window's
	// edge.
	rnd := rand.New(rand.NewPCG(12, 3))
	for i := 0; i < 16; i++ {
		steps := make([]nonceStep, 2+rnd.IntN(2))
		for j := range steps {
			after := time.Duration(rnd.Int64N(int64(2 * W)))
			if rnd.IntN(2) == 0 {
				after = W + time.Duration(rnd.Int64N(int64(4*s))) - 2*s
			}
			if j == 0 {
				after = 0
			}
			steps[j] = nonceStep{after: after, created: time.Duration(rnd.Int64N(59)-29) * s, restart: rnd.IntN(4) == 0}
		}
		r.run(fmt.Sprintf("random %d %+v", i, steps), fmt.Sprintf("issue12-rand-%04d", i), steps)
	}
}

// TestNonceWindowIsTheSignatureWindow pins what statement.NonceWindow's
// documentation says of it: the width of the window in which one signed
// request is accepted at the default skew.
func TestNonceWindowIsTheSignatureWindow(t *testing.T) {
	if statement.NonceWindow != 2*httpsig.DefaultSkew {
		t.Fatalf("NonceWindow %v, the default signature window %v", statement.NonceWindow, 2*httpsig.DefaultSkew)
	}
}
