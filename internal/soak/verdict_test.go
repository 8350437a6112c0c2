package soak

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs"
)

func receiptsFor(actions ...string) map[string]uint64 {
	m := map[string]uint64{}
	for i, a := range actions {
		m[a] = uint64(i + 1)
	}
	return m
}

// TestJudgeOrderRefusesEveryBrokenPromise plants each way an order can
// break the soak's promise and expects the verdict to name it, and
// accepts each honest outcome.
func TestJudgeOrderRefusesEveryBrokenPromise(t *testing.T) {
	all := receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel, order.ActionNotify)
	cases := []struct {
		name    string
		o       placedOrder
		outcome string // "" when a problem is expected
		problem string
	}{
		{"completed", placedOrder{View: &order.View{Status: order.StatusCompleted, ChargeID: "ch", Receipts: all}}, outcomeCompleted, ""},
		{"never settled", placedOrder{LastErr: "connection refused"}, "", "never settled"},
		{"completed without a charge receipt", placedOrder{View: &order.View{Status: order.StatusCompleted, ChargeID: "ch",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionLabel, order.ActionNotify)}}, "", "payment:charge receipt"},
		{"completed without a charge", placedOrder{View: &order.View{Status: order.StatusCompleted, Receipts: all}}, "", "no charge"},
		{"a declined card charged", placedOrder{Declined: true, View: &order.View{Status: order.StatusCompleted, ChargeID: "ch", Receipts: all}}, "", "declines"},
		{"notify missing, unflagged", placedOrder{View: &order.View{Status: order.StatusCompleted, ChargeID: "ch",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel)}}, "", "notify"},
		{"notify missing, flagged", placedOrder{View: &order.View{Status: order.StatusCompleted, ChargeID: "ch", Flags: []string{"notify_failed"},
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionConsume, order.ActionLabel)}}, outcomeFlagged, ""},
		{"completed without consuming its stock", placedOrder{View: &order.View{Status: order.StatusCompleted, ChargeID: "ch",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionLabel, order.ActionNotify)}}, "", "inventory:consume receipt"},
		{"payment failed, released", placedOrder{Declined: true, View: &order.View{Status: order.StatusPaymentFailed,
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionRelease)}}, outcomeCompensated, ""},
		{"payment failed, reservation kept", placedOrder{View: &order.View{Status: order.StatusPaymentFailed,
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve)}}, "", "neither released"},
		{"payment failed yet charged", placedOrder{View: &order.View{Status: order.StatusPaymentFailed, ChargeID: "ch",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionRelease)}}, "", "holds charge"},
		{"label failed, not refunded", placedOrder{View: &order.View{Status: order.StatusFulfillmentFailed, ChargeID: "ch",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge)}}, "", "refund"},
		{"label failed, refunded", placedOrder{View: &order.View{Status: order.StatusFulfillmentFailed, ChargeID: "ch", RefundID: "re",
			Receipts: receiptsFor(order.ActionCreate, order.ActionReserve, order.ActionCharge, order.ActionRefund, order.ActionRelease)}}, outcomeCompensated, ""},
		{"not reserved yet charged", placedOrder{View: &order.View{Status: order.StatusReservationFailed, ChargeID: "ch"}}, "", "holds charge"},
		{"not reserved, unknown", placedOrder{View: &order.View{Status: order.StatusReservationFailed, Flags: []string{"reservation_outcome_unknown"}}}, outcomeFlagged, ""},
		{"refused", placedOrder{View: &order.View{Status: order.StatusRefused, Reason: "restricted"}}, "", "ended refused"},
		{"needs attention", placedOrder{View: &order.View{Status: order.StatusNeedsAttention}}, outcomeFlagged, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outcome, problem := judgeOrder(&c.o)
			if outcome != c.outcome || (c.problem == "") != (problem == "") || !strings.Contains(problem, c.problem) {
				t.Fatalf("got (%q, %q), want (%q, …%q…)", outcome, problem, c.outcome, c.problem)
			}
		})
	}
	if c, _ := checkOrders(nil); c.OK {
		t.Fatal("a soak that placed no order passed")
	}
}

// TestCheckChargesCatchesDoubleCharges plants double charges three ways.
func TestCheckChargesCatchesDoubleCharges(t *testing.T) {
	orders := []*placedOrder{
		{ID: "a", View: &order.View{ChargeID: "ch-a"}},
		{ID: "b", View: &order.View{ChargeID: "ch-b"}},
		{ID: "c", View: &order.View{Flags: []string{"charge_outcome_unknown"}}},
	}
	clean := payment.Report{Charges: 3, Succeeded: 2, Differences: []payment.Difference{{Kind: payment.DiffMissingRecord, Index: 7}}}
	judge := func(orders []*placedOrder, rep payment.Report) (twice, reconcile bool) {
		cs := checkCharges(orders, rep)
		return cs[0].OK, cs[1].OK
	}
	if twice, rec := judge(orders, clean); !twice || !rec {
		t.Fatalf("honest run refused: %+v", checkCharges(orders, clean))
	}
	// One unknown outcome may have been charged once, not twice.
	if twice, _ := judge(orders, payment.Report{Succeeded: 3}); !twice {
		t.Fatal("an unknown outcome that was charged counted as a double charge")
	}
	if twice, _ := judge(orders, payment.Report{Succeeded: 4}); twice {
		t.Fatal("more approved charges than orders passed")
	}
	if twice, _ := judge(orders, payment.Report{Succeeded: 1}); twice {
		t.Fatal("an order holding a charge the processor never approved passed")
	}
	dup := payment.Report{Succeeded: 2, Differences: []payment.Difference{{Kind: payment.DiffDuplicateCharge, Detail: "order a was already charged"}}}
	if twice, rec := judge(orders, dup); twice || rec {
		t.Fatal("a duplicate_charge difference passed")
	}
	shared := append(orders, &placedOrder{ID: "d", View: &order.View{ChargeID: "ch-a"}})
	if twice, _ := judge(shared, payment.Report{Succeeded: 2}); twice {
		t.Fatal("two orders holding one charge passed")
	}
	if _, rec := judge(orders, payment.Report{Succeeded: 2, Differences: []payment.Difference{{Kind: payment.DiffAmountMismatch}}}); rec {
		t.Fatal("an amount mismatch passed reconcile")
	}
}

// TestCheckCheckpointsCatchesAFork shows the checkpoint check refusing a
// checkpoint signed by the log's key for another tree.
func TestCheckCheckpointsCatchesAFork(t *testing.T) {
	signer, verifier := testledger.NewLogKey(t)
	authority := fixture.NewIdentity("authority")
	honest := testledger.StartWith(t, signer, verifier, authority)
	fork := testledger.StartWith(t, signer, verifier, authority)
	ctx := context.Background()
	honest.Register("early", "low")
	cpOf := func(l *testledger.Ledger) proofs.SignedCheckpoint {
		raw, err := l.Client.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := proofs.OpenCheckpoint(raw, verifier.Name(), verifier)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	old := cpOf(honest)
	honest.Register("later", "low")
	fork.Register("someone-else", "low")
	forked := cpOf(fork)
	final := cpOf(honest)
	s := &processes{ledger: honest.Client, verifier: verifier}
	if c := s.checkCheckpoints(ctx, map[string]string{string(old.Note): "order"}, final); !c.OK {
		t.Fatalf("an honest prefix refused: %s", c.Detail)
	}
	c := s.checkCheckpoints(ctx, map[string]string{string(old.Note): "order", string(forked.Note): "payment"}, final)
	if c.OK || !strings.Contains(c.Detail, "payment") {
		t.Fatalf("a forked checkpoint passed: %+v", c)
	}
	if c := s.checkCheckpoints(ctx, map[string]string{"not a checkpoint": "inventory"}, final); c.OK {
		t.Fatal("an unsigned checkpoint passed")
	}
}

// TestCheckReadyCatchesAStuckAgent has one agent answer /readyz with
// checkpoint_stale for good: the check must fail and name it.
func TestCheckReadyCatchesAStuckAgent(t *testing.T) {
	s := &processes{procs: map[string]*proc{}}
	for _, role := range roles() {
		stale := role == "inventory"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if stale {
				http.Error(w, "checkpoint_stale", http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		s.procs[role] = &proc{name: role, addr: strings.TrimPrefix(srv.URL, "http://")}
	}
	c := s.checkReady(context.Background(), 300*time.Millisecond)
	if c.OK || !strings.Contains(c.Detail, "inventory: 503 checkpoint_stale") {
		t.Fatalf("a stuck agent passed: %+v", c)
	}
	if strings.Contains(c.Detail, "payment") {
		t.Fatalf("a ready agent was named: %+v", c)
	}
}
