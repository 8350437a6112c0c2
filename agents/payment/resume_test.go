package payment

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs/envelope"
)

// flaky is the simulated processor behind a network that loses the first
// n answers (after the processor acted).
type flaky struct {
	*Simulated
	lose atomic.Int64
}

var errLost = errors.New("connection reset")

func (f *flaky) Charge(ctx context.Context, c Charge) (ProcessorResult, error) {
	res, err := f.Simulated.Charge(ctx, c)
	if f.lose.Add(-1) >= 0 {
		return ProcessorResult{}, errLost
	}
	return res, err
}

func TestChargeResumesAfterLostAnswer(t *testing.T) {
	w := newWorld(t)
	f := &flaky{Simulated: w.proc}
	f.lose.Store(1)
	svc, err := New(Options{Store: w.svc.store, Processor: f, DID: w.agent.DID})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	code, b := w.call(ActionCharge, []byte(chargeBody))
	if code != http.StatusBadGateway {
		t.Fatalf("%d %s", code, b)
	}
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != DiffPending {
		t.Fatalf("a pending charge is not reported: %s", dump(rep))
	}
	code, resp := w.charge(chargeBody)
	if code != http.StatusOK || resp.Status != StatusSucceeded || resp.ReceiptIndex != 1 {
		t.Fatalf("retry: %d %+v", code, resp)
	}
	// The processor was asked twice under one key (it dedupes on it) and
	// there is one charge.
	if w.proc.ChargeCalls() != 2 || resp.ProcessorID != simID("sim_ch_", resp.ChargeID) {
		t.Fatalf("%d calls, processor id %s", w.proc.ChargeCalls(), resp.ProcessorID)
	}
	if rep := w.svc.Reconcile(context.Background(), w.ledger); !rep.Clean() {
		t.Fatalf("reconcile: %s", dump(rep))
	}
}

func TestIdempotencyKeysArePerCaller(t *testing.T) {
	w := newWorld(t)
	_, first := w.charge(chargeBody)
	w.caller = fixture.NewIdentity("other") // another caller, same key
	_, second := w.charge(chargeBody)
	if first.ChargeID == second.ChargeID || w.proc.ChargeCalls() != 2 {
		t.Fatalf("one charge for two callers: %+v %+v", first, second)
	}
}

func TestReconcileInvalidOwnEntry(t *testing.T) {
	w := newWorld(t)
	w.charge(chargeBody)
	env, err := envelope.Parse(w.entries[1])
	if err != nil {
		t.Fatal(err)
	}
	// The payload signed by another key, with this agent's keyid put in:
	// an entry claiming this agent that does not verify.
	x := fixture.NewIdentity("x")
	signed, err := envelope.Sign(envelope.KindAction, env.Payload, x.Key)
	if err != nil {
		t.Fatal(err)
	}
	forged := []byte(strings.Replace(string(signed), x.DID, w.agent.DID, 1))
	if e, err := envelope.Parse(forged); err != nil || e.KeyID != w.agent.DID {
		t.Fatalf("forged entry: %v", err)
	}
	w.entries = append(w.entries, forged)
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != DiffInvalidEntry || rep.Differences[0].Index != 2 {
		t.Fatalf("%s", dump(rep))
	}
}
