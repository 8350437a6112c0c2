package payment

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs"
)

// consistent makes a world with charges, a decline, retries, refunds and
// refusals, all recorded and all in the ledger.
func consistent(t *testing.T) (*world, ChargeResponse) {
	w := newWorld(t)
	_, ch := w.charge(chargeBody)
	w.charge(chargeBody)
	w.charge(`{"order_id":"o2","idempotency_key":"k2","amount":300,"currency":"EUR","card":"4000000000009995"}`)
	w.refund(refundBody(ch.ChargeID, 500, "r1"))
	w.refund(refundBody(ch.ChargeID, 500, "r1"))
	w.refund(refundBody(ch.ChargeID, 5000, "r2")) // refused before its approval: no entry
	// Another agent's action, and an action of this agent it does not
	// reconcile, are in the ledger too.
	other := fixture.NewIdentity("inventory")
	for _, id := range []fixture.Identity{other, w.agent} {
		e, err := fixture.Action(id, fixture.ActionSpec{Caller: w.caller.DID, Contract: w.ref, Action: "inventory:reserve",
			Body: []byte("{}"), Quantity: fixture.Int64(1), Nonce: nonce(), Time: t0})
		if err != nil {
			t.Fatal(err)
		}
		w.entries = append(w.entries, e)
	}
	return w, ch
}

func TestReconcileClean(t *testing.T) {
	w, _ := consistent(t)
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	if !rep.Clean() {
		t.Fatalf("differences in a consistent set: %+v", rep)
	}
	if rep.Entries != uint64(len(w.entries)) || rep.Actions != 5 || rep.Receipts != 5 || rep.Charges != 2 || rep.Succeeded != 1 || rep.Refunds != 1 {
		t.Fatalf("counts: %+v", rep)
	}
}

func TestReconcileFindsPlantedDifferences(t *testing.T) {
	w, ch := consistent(t)
	// 1. An action entry with no record: the guard approved, the handler
	// never ran (a crash, or a handler that forgot to record).
	orphan := w.approve(ActionCharge, []byte(`{"order_id":"o9","idempotency_key":"k9","amount":42,"currency":"USD","card":"4242424242424242"}`))
	// 2. A record with no action entry: a charge made under an index that
	// holds no entry of this agent.
	ghost := ChargeRecord{ID: "ch_ghost", Caller: w.caller.DID, OrderID: "o-ghost", IdempotencyKey: "kg", Amount: 10,
		Currency: "USD", CardLast4: "4242", Status: StatusSucceeded, ReceiptIndex: 0, Time: t0}
	if err := w.svc.store.apply(write{charge: &ghost}); err != nil {
		t.Fatal(err)
	}
	// 3. An amount mismatch: the charge record says more than the ledger.
	rec, err := w.svc.store.Charge(ch.ChargeID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Amount = 9999
	if err := w.svc.store.apply(write{charge: &rec}); err != nil {
		t.Fatal(err)
	}
	// 4. A receipt record whose entry is past the entries read: not
	// judged, but counted as unseen (a reconcile at a view that covers it
	// would call it missing).
	amount := int64(1)
	if err := w.svc.store.apply(write{receipt: &ReceiptRecord{Index: 1000, Action: ActionRefund, Caller: w.caller.DID,
		Amount: &amount, Currency: "USD", RefundID: "re_lost", Outcome: StatusSucceeded}}); err != nil {
		t.Fatal(err)
	}

	rep := w.svc.Reconcile(context.Background(), w.ledger)
	want := []Difference{
		{Kind: DiffMissingAction, Index: 0, ChargeID: "ch_ghost"},
		{Kind: DiffAmountMismatch, Index: 1, ChargeID: ch.ChargeID},
		{Kind: DiffMissingRecord, Index: orphan.Receipt.Index},
	}
	if rep.Unseen != 1 {
		t.Errorf("%d records unseen, want the one at index 1000", rep.Unseen)
	}
	if len(rep.Differences) != len(want) {
		t.Fatalf("differences: %s", dump(rep.Differences))
	}
	for i, d := range rep.Differences {
		d.Detail = ""
		if d != want[i] {
			t.Errorf("difference %d: %+v, want %+v", i, d, want[i])
		}
	}
}

func TestReconcileReceiptMismatch(t *testing.T) {
	w, _ := consistent(t)
	// The receipt record of the first charge is rewritten.
	var first ReceiptRecord
	if err := w.svc.store.Receipts(func(r ReceiptRecord) error {
		if r.Index == 1 {
			first = r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	*first.Amount, first.Currency = 1, "GBP"
	if err := w.svc.store.apply(write{receipt: &first}); err != nil {
		t.Fatal(err)
	}
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	if len(rep.Differences) != 1 || rep.Differences[0].Kind != DiffAmountMismatch || rep.Differences[0].Index != 1 {
		t.Fatalf("differences: %s", dump(rep.Differences))
	}
}

// TestReconcileLedger reads the entries from a real log's entry bundles.
func TestReconcileLedger(t *testing.T) {
	w, _ := consistent(t)
	dir := filepath.Join(t.TempDir(), "log")
	if err := ledger.Create(dir, "example.com/log"); err != nil {
		t.Fatal(err)
	}
	skey, _, err := note.GenerateKey(rand.Reader, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// More than one entry bundle (the log stores repeated entries as
	// they come).
	for len(w.entries) < proofs.TileWidth+10 {
		w.entries = append(w.entries, w.entries[0])
	}
	for _, e := range w.entries {
		if _, err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	head := l.Head()
	cp := proofs.Checkpoint{Origin: "example.com/log", Size: head.Size, Root: head.Root}
	rep := w.svc.ReconcileLedger(context.Background(), logTiles{l}, cp)
	if !rep.Clean() || rep.Entries != head.Size || rep.Actions != 5 {
		t.Fatalf("ledger reconcile: %+v", rep)
	}
	// A checkpoint the entries do not hash to.
	cp.Root[0] ^= 1
	if rep := w.svc.ReconcileLedger(context.Background(), logTiles{l}, cp); rep.Err == nil {
		t.Fatal("a wrong root was not noticed")
	}
}

// logTiles serves a ledger.Log's entry bundles, as its HTTP API does.
type logTiles struct{ l *ledger.Log }

func (s logTiles) Tile(_ context.Context, t proofs.Tile) ([]byte, error) {
	return s.l.EntryBundle(t.Index, int(t.Width))
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestReconcileFindsADoubleCharge charges one order twice under two
// idempotency keys, as a confused or compromised caller could, and expects
// reconcile to name the second charge.
func TestReconcileFindsADoubleCharge(t *testing.T) {
	w, first := consistent(t)
	_, second := w.charge(`{"order_id":"ord-1","idempotency_key":"key-1-again","amount":2500,"currency":"USD","card":"4242424242424242"}`)
	if second.Status != StatusSucceeded || second.ChargeID == first.ChargeID {
		t.Fatalf("second charge: %+v", second)
	}
	rep := w.svc.Reconcile(context.Background(), w.ledger)
	if len(rep.Differences) != 1 || rep.Succeeded != 2 {
		t.Fatalf("want one difference and two succeeded charges: %+v", rep)
	}
	d := rep.Differences[0]
	if d.Kind != DiffDuplicateCharge || (d.ChargeID != second.ChargeID && d.ChargeID != first.ChargeID) {
		t.Fatalf("difference: %+v", d)
	}
}

// TestReconcileBehindTheRecordsIsNotADifference: a view that has not yet
// reached the agent's latest approvals (or a read that stopped early)
// leaves those records unseen, never reported missing.
func TestReconcileBehindTheRecordsIsNotADifference(t *testing.T) {
	w, _ := consistent(t)
	full := w.svc.Reconcile(context.Background(), w.ledger)
	for behind := 1; behind < len(w.entries); behind++ {
		n := uint64(len(w.entries) - behind)
		lagging := func(yield func(uint64, []byte) bool) {
			for i, e := range w.entries[:n] {
				if !yield(uint64(i), e) {
					return
				}
			}
		}
		rep := w.svc.Reconcile(context.Background(), lagging)
		if !rep.Clean() {
			t.Fatalf("%d entries behind: differences %+v", behind, rep.Differences)
		}
		if rep.Entries != n || rep.Unseen > full.Receipts {
			t.Fatalf("%d entries behind: %+v", behind, rep)
		}
	}
	if full.Unseen != 0 {
		t.Fatalf("a full read left %d records unseen", full.Unseen)
	}
	// Far enough behind, some receipt records must be unseen.
	rep := w.svc.Reconcile(context.Background(), func(func(uint64, []byte) bool) {})
	if !rep.Clean() || rep.Unseen == 0 {
		t.Fatalf("no entries read: %+v", rep)
	}
}
