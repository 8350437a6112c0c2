package roles_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify/audit"
)

// TestStockFollowsOrdersAndTheAuditIsClean runs the four agents against
// a real ledger and holds the inventory to the stock equation through
// completed orders, declined ones and a low-stock restock: on hand is
// the seed plus the restocks minus what completed orders sold. The
// restock is the inventory agent's own action under its standing grant,
// and an audit of the whole log finds nothing.
func TestStockFollowsOrdersAndTheAuditIsClean(t *testing.T) {
	st := startOrderStack(t, inventory.Config{Seed: map[string]int64{"sku-1": 9}, LowStockThreshold: 5, RestockAmount: 50})
	orderURL := st.url[roles.Order]
	place := func(id, card string, qty int) map[string]any {
		t.Helper()
		body := fmt.Sprintf(`{"order_id":%q,"customer":{"first":"Ada","last":"Lovelace","email":"ada@example.com"},`+
			`"address":{"lines":["1 Main St"],"city":"London","postal_code":"N1 1AA","country":"GB"},`+
			`"items":[{"sku":"sku-1","qty":%d,"unit_price":1999}],"currency":"USD","card":%q}`, id, qty, card)
		_, got, _ := call(t, st.storefront, orderURL+"/v1/orders", st.ids.order.DID, "order:create", body)
		return got
	}
	stock := func() (onHand, reserved float64) {
		t.Helper()
		status, got, _ := call(t, st.order, st.url[roles.Inventory]+"/v1/inventory/check", st.ids.inventory.DID, "inventory:check", `{"sku":"sku-1"}`)
		if status != http.StatusOK {
			t.Fatalf("check: %d %v", status, got)
		}
		return got["on_hand"].(float64), got["reserved"].(float64)
	}

	// Declined orders that would run the stock low take nothing and
	// create nothing.
	for i := range 4 {
		if got := place(fmt.Sprintf("declined-%d", i), payment.CardDeclined, 6); got["status"] != "payment_failed" {
			t.Fatalf("declined order: %v", got)
		}
	}
	if on, res := stock(); on != 9 || res != 0 {
		t.Fatalf("after declined orders: %v on hand, %v reserved; want 9 and 0", on, res)
	}
	// A sale of 3 leaves 6: not low.
	if got := place("sale-1", "4242424242424242", 3); got["status"] != "completed" {
		t.Fatalf("sale-1: %v", got)
	}
	if on, res := stock(); on != 6 || res != 0 {
		t.Fatalf("after a sale of 3: %v on hand, %v reserved; want 6 and 0", on, res)
	}
	// A sale of 2 leaves 4, under the threshold: a restock of 50.
	if got := place("sale-2", "4242424242424242", 2); got["status"] != "completed" {
		t.Fatalf("sale-2: %v", got)
	}
	if on, res := stock(); on != 9-3-2+50 || res != 0 {
		t.Fatalf("after a sale of 2 and a restock: %v on hand, %v reserved; want 54 and 0", on, res)
	}

	// The log holds the restock as the inventory agent's own action, and
	// the audit of every entry is clean.
	ctx := context.Background()
	time.Sleep(100 * time.Millisecond) // a checkpoint every 10 ms covers every durable entry by then
	cp, err := verified.Checkpoint(ctx, st.l.Client, st.l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	e := audit.New(st.l.Authority.DID, time.Minute)
	restocks := 0
	for i := uint64(0); i < cp.Size; i++ {
		entry, err := st.l.Client.Entry(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(i, entry); err != nil {
			t.Fatal(err)
		}
		env, err := envelope.Parse(entry)
		if err != nil || env.Kind != envelope.KindAction {
			continue
		}
		if a, err := statement.ParseAction(env.Payload); err == nil && a.Action == inventory.ActionRestock {
			restocks++
			if a.Caller != st.ids.inventory.DID || a.Agent != st.ids.inventory.DID || a.Quantity == nil || *a.Quantity != 50 {
				t.Fatalf("restock entry %d: %+v", i, a)
			}
		}
	}
	if restocks != 1 {
		t.Fatalf("%d restock entries in the log, want 1", restocks)
	}
	if v := e.State().Violations; len(v) != 0 {
		t.Fatalf("the audit found %d violations: %+v", len(v), v)
	}
}
