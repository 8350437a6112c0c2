package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/agentledger/agentledger/proofs/statement"
)

func TestLowStockRestockIsRecordedBeforeStockChanges(t *testing.T) {
	rec := &recorder{sku: "A"}
	s := newService(t, rec, Config{Seed: map[string]int64{"A": 10, "B": 100}, LowStockThreshold: 5, RestockAmount: 20,
		Grants: grants{scopes: []string{"inventory:restock:max_qty50"}}})
	rec.store = s.Store()

	// Stock that is only reserved never triggers a restock: 2 of 10 left
	// available, 10 on hand.
	held := call(t, s.Reserve, orderAgent.DID, reserveBody("held", 0, "A", 8))
	if held.status != 200 || rec.recorded() != 0 {
		t.Fatalf("reserve of 8: %s, %d restocks", held.raw, rec.recorded())
	}
	call(t, s.Release, orderAgent.DID, map[string]any{"reservation_id": held.str("reservation_id")})

	// 10-4 = 6 on hand after the consumption: not low.
	if resp, got := reserveAndConsume(t, s, "o1", "A", 4, "B", 1); got.status != 200 || resp.Restocks != nil || resp.Status != StatusConsumed {
		t.Fatalf("consume above the threshold: %s", got.raw)
	}
	if rec.recorded() != 0 {
		t.Fatal("restocked above the threshold")
	}
	// 6-2 = 4 on hand: low, restock 20.
	resp, got := reserveAndConsume(t, s, "o2", "A", 2)
	if got.status != 200 {
		t.Fatalf("consume: %s", got.raw)
	}
	if len(resp.Restocks) != 1 || !resp.Restocks[0].Done || resp.Restocks[0].SKU != "A" || resp.Restocks[0].Qty != 20 || resp.Restocks[0].ReceiptIndex != 101 {
		t.Fatalf("restocks: %+v", resp.Restocks)
	}
	wantStock(t, s, "A", 24, 0)
	if len(rec.actions) != 1 {
		t.Fatalf("%d restock actions recorded", len(rec.actions))
	}
	// At Record time the stock was still the consumption's result.
	if at := rec.atCall[0]; at.OnHand != 4 || at.Reserved != 0 {
		t.Fatalf("stock at Record time: %+v, want 4 on hand and 0 reserved", at)
	}
	// The restock is the agent's own action under its standing grant.
	act := rec.actions[0]
	if act.Action != ActionRestock || act.Caller != invAgent.DID || act.Contract != (statement.ContractRef{Index: 2, LeafHash: standingLeaf}) ||
		act.Quantity == nil || *act.Quantity != 20 || act.Amount != nil {
		t.Fatalf("restock action: %+v", act)
	}
	args, _ := json.Marshal(RestockArgs{SKU: "A", Qty: 20, Trigger: RestockTriggerJSON{Index: 7, LeafHash: receiptLeaf.String()}})
	sum := sha256.Sum256(args)
	if act.ArgsDigest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("args_digest %s does not bind %s", act.ArgsDigest, args)
	}
	// A retried consume triggers nothing, even with the stock low.
	rec.store = nil
	r := call(t, s.Reserve, orderAgent.DID, reserveBody("o3", 0, "A", 20))
	body := map[string]any{"reservation_id": r.str("reservation_id")}
	call(t, s.Consume, orderAgent.DID, body)
	n := rec.recorded()
	if again := call(t, s.Consume, orderAgent.DID, body); again.status != 200 || rec.recorded() != n {
		t.Fatalf("a retried consume: %s, %d restocks after %d", again.raw, rec.recorded(), n)
	}
}

func TestLowStockRestockNeedsAStandingGrant(t *testing.T) {
	for name, g := range map[string]Picker{
		"no grants":             nil,
		"no standing grant":     grants{},
		"grant of too little":   grants{scopes: []string{"inventory:restock:max_qty10"}},
		"grant of other action": grants{scopes: []string{"inventory:release"}},
	} {
		rec := &recorder{}
		s := newService(t, rec, Config{Seed: map[string]int64{"A": 10}, LowStockThreshold: 5, RestockAmount: 20, Grants: g})
		resp, got := reserveAndConsume(t, s, "o1", "A", 7)
		if got.status != 200 || len(resp.Restocks) != 1 || resp.Restocks[0].Done || resp.Restocks[0].Error != ReasonRestockUnrecordable {
			t.Errorf("%s: %s", name, got.raw)
		}
		if rec.recorded() != 0 {
			t.Errorf("%s: %d restocks recorded", name, rec.recorded())
		}
		wantStock(t, s, "A", 3, 0)
	}
}

func TestLowStockRestockNotDoneWhenRecordFails(t *testing.T) {
	rec := &recorder{fail: true}
	s := newService(t, rec, Config{Seed: map[string]int64{"A": 10}, LowStockThreshold: 5, RestockAmount: 20,
		Grants: grants{scopes: []string{"inventory:restock"}}})
	resp, got := reserveAndConsume(t, s, "o1", "A", 7)
	if got.status != 200 || len(resp.Restocks) != 1 || resp.Restocks[0].Done || resp.Restocks[0].Error != "ledger_unavailable" {
		t.Fatalf("consume: %s", got.raw)
	}
	wantStock(t, s, "A", 3, 0) // the consumption stands; no restock
	// The next consumption that finds the SKU low tries again.
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	if _, got := reserveAndConsume(t, s, "o2", "A", 1); got.status != 200 {
		t.Fatalf("consume: %s", got.raw)
	}
	if rec.recorded() != 1 {
		t.Fatalf("%d restocks recorded on retry", rec.recorded())
	}
	wantStock(t, s, "A", 22, 0)
}

// TestConcurrentLowStockRestocks: every unit on hand is the seed plus a
// recorded restock minus what was consumed, and nothing is oversold,
// under concurrent orders.
func TestConcurrentLowStockRestocks(t *testing.T) {
	rec := &recorder{}
	s := newService(t, rec, Config{Seed: map[string]int64{"A": 10}, LowStockThreshold: 5, RestockAmount: 3,
		Grants: grants{scopes: []string{"inventory:restock:max_qty3"}}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	consumed := int64(0)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, s.Reserve, orderAgent.DID, reserveBody(fmt.Sprintf("o%d", i), 0, "A", 1))
			if r.status != 200 {
				return
			}
			if c := call(t, s.Consume, orderAgent.DID, map[string]any{"reservation_id": r.str("reservation_id")}); c.status == 200 {
				mu.Lock()
				consumed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st := stock(t, s, "A")
	if st.OnHand != 10+3*int64(rec.recorded())-consumed {
		t.Fatalf("on hand %d with %d restocks of 3 recorded and %d consumed", st.OnHand, rec.recorded(), consumed)
	}
}

// TestReserveConsumeReleaseMakesNoStock: a caller holding reserve,
// consume and release cannot pump stock: releasing consumed goods gives
// nothing back, so the restock each consumption triggers is the only
// stock added, and it is recorded.
func TestReserveConsumeReleaseMakesNoStock(t *testing.T) {
	rec := &recorder{}
	s := newService(t, rec, Config{Seed: map[string]int64{"A": 10}, LowStockThreshold: 5, RestockAmount: 50,
		Grants: grants{scopes: []string{"inventory:restock:max_qty50"}}})
	consumed := int64(0)
	for i := range 5 {
		on := stock(t, s, "A").OnHand
		resp, got := reserveAndConsume(t, s, fmt.Sprintf("pump-%d", i), "A", on)
		if got.status != 200 {
			t.Fatalf("round %d: %s", i, got.raw)
		}
		consumed += on
		if r := call(t, s.Release, orderAgent.DID, map[string]any{"reservation_id": resp.ReservationID}); r.status != 200 || r.str("status") != string(StatusConsumed) {
			t.Fatalf("round %d: release after consume: %s", i, r.raw)
		}
		if st := stock(t, s, "A"); st.OnHand != 10+50*int64(rec.recorded())-consumed {
			t.Fatalf("round %d: on hand %d with %d restocks of 50 and %d consumed", i, st.OnHand, rec.recorded(), consumed)
		}
	}
	if st := stock(t, s, "A"); st.OnHand != 50 {
		t.Fatalf("after five rounds of selling everything: %d on hand, want the last restock's 50", st.OnHand)
	}
}

func TestConsumeIsTheOwnersOnly(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true})
	r := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 4))
	body := map[string]any{"reservation_id": r.str("reservation_id")}
	if got := call(t, s.Consume, otherAgent.DID, body); got.status != 404 || got.reason() != ReasonReservationUnknown {
		t.Fatalf("another caller's consume: %s", got.raw)
	}
	wantStock(t, s, "A", 10, 4)
	if got := call(t, s.Release, orderAgent.DID, body); got.status != 200 {
		t.Fatalf("release: %s", got.raw)
	}
	if got := call(t, s.Consume, orderAgent.DID, body); got.status != 409 || got.reason() != ReasonReservationNotActive {
		t.Fatalf("consume of a released reservation: %s", got.raw)
	}
	wantStock(t, s, "A", 10, 0)
}

func TestRequestsAreBounded(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true})
	big := `{"sku":"A","pad":"` + strings.Repeat("x", MaxRequestBytes) + `"}`
	if got := call(t, s.Check, orderAgent.DID, big); got.status != 413 || got.reason() != "request_too_large" {
		t.Fatalf("oversized: %s", got.raw)
	}
	many := make([]any, 0, 2*(MaxLines+1))
	for i := 0; i <= MaxLines; i++ {
		many = append(many, fmt.Sprintf("S%d", i), 1)
	}
	bad := []struct {
		name string
		got  answer
	}{
		{"not json", call(t, s.Check, orderAgent.DID, `{"sku":`)},
		{"unknown field", call(t, s.Check, orderAgent.DID, `{"sku":"A","x":1}`)},
		{"trailing data", call(t, s.Check, orderAgent.DID, `{"sku":"A"}{"sku":"A"}`)},
		{"not an object", call(t, s.Check, orderAgent.DID, `["A"]`)},
		{"sku with a slash", call(t, s.Check, orderAgent.DID, `{"sku":"../res/x"}`)},
		{"empty sku", call(t, s.Check, orderAgent.DID, `{"sku":""}`)},
		{"no lines", call(t, s.Reserve, orderAgent.DID, `{"order_id":"o","lines":[]}`)},
		{"too many lines", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 0, many...))},
		{"zero qty", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 0, "A", 0))},
		{"negative qty", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 0, "A", -1))},
		{"huge qty", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 0, "A", MaxQty+1))},
		{"fractional qty", call(t, s.Reserve, orderAgent.DID, `{"order_id":"o","lines":[{"sku":"A","qty":1.5}]}`)},
		{"sku twice", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 0, "A", 1, "A", 1))},
		{"negative ttl", call(t, s.Reserve, orderAgent.DID, reserveBody("o", -1, "A", 1))},
		{"ttl over the max", call(t, s.Reserve, orderAgent.DID, reserveBody("o", 86401, "A", 1))},
		{"bad order id", call(t, s.Reserve, orderAgent.DID, reserveBody("o/../x", 0, "A", 1))},
		{"bad reservation id", call(t, s.Release, orderAgent.DID, `{"reservation_id":"a b"}`)},
		{"restock of zero", call(t, s.Restock, orderAgent.DID, `{"sku":"A","qty":0}`)},
	}
	for _, c := range bad {
		if c.got.status != 400 || c.got.reason() != "bad_request" {
			t.Errorf("%s: %d %s", c.name, c.got.status, c.got.raw)
		}
	}
	wantStock(t, s, "A", 10, 0)
}

func TestValues(t *testing.T) {
	req, err := ReserveValues(nil, []byte(`{"order_id":"o","lines":[{"sku":"A","qty":3},{"sku":"B","qty":4}]}`))
	if err != nil || !req.HasQuantity || req.Quantity != 7 || req.HasAmount {
		t.Fatalf("ReserveValues: %+v %v", req, err)
	}
	req, err = RestockValues(nil, []byte(`{"sku":"A","qty":9}`))
	if err != nil || !req.HasQuantity || req.Quantity != 9 {
		t.Fatalf("RestockValues: %+v %v", req, err)
	}
	for name, values := range map[string]func([]byte) error{
		"reserve": func(b []byte) error { _, err := ReserveValues(nil, b); return err },
		"restock": func(b []byte) error { _, err := RestockValues(nil, b); return err },
		"check":   func(b []byte) error { _, err := CheckValues(nil, b); return err },
		"release": func(b []byte) error { _, err := ReleaseValues(nil, b); return err },
	} {
		for _, body := range []string{"", "{", "null x", `{"unknown":1}`, strings.Repeat(" ", MaxRequestBytes+1) + "{}"} {
			if values([]byte(body)) == nil {
				t.Errorf("%s values accepted %.20q", name, body)
			}
		}
	}
}
