package roles_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs/statement"
)

// startRole runs a node with role's handlers mounted, and the role's
// background work, until the test ends.
func startRole(t testing.TB, l *testledger.Ledger, id fixture.Identity, role roles.Role, cfg roles.Config, contracts ...[]byte) (*node.Node, string) {
	t.Helper()
	return startNode(t, l, id, role, cfg, true, contracts...)
}

// startNode runs a node with role's handlers mounted until the test ends,
// and the role's background work if background is set.
func startNode(t testing.TB, l *testledger.Ledger, id fixture.Identity, role roles.Role, cfg roles.Config, background bool, contracts ...[]byte) (*node.Node, string) {
	t.Helper()
	n, err := node.New(context.Background(), node.Config{Key: id.Key, Ledger: l.URL, Policy: l.Policy(),
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Refresh: 20 * time.Millisecond, Contract: contracts})
	if err != nil {
		t.Fatal(err)
	}
	run, err := roles.Mount(n, role, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := n.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { n.Serve(ctx); done <- struct{}{} }()
	go func() {
		if background {
			run(ctx)
		}
		done <- struct{}{}
	}()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return n, "http://" + addr
}

// orderStackIDs are the parties of an order stack.
type orderStackIDs struct{ storefront, order, inventory, payment, fulfillment fixture.Identity }

// orderStack is the four agents as nodes on one ledger, and a storefront
// node that calls the order agent.
type orderStack struct {
	l                 *testledger.Ledger
	ids               orderStackIDs
	order, storefront *node.Node
	url               map[roles.Role]string
}

// startOrderStack starts a ledger, the inventory (with inv), payment,
// fulfillment and order agents, and a storefront node, until the test
// ends. The storefront holds order:create; the order agent holds
// inventory:reserve, release and check, payment:charge:max_10000usd
// (and no refund), and fulfillment:label and notify; the inventory agent
// holds a standing grant of inventory:restock:max_qty50.
func startOrderStack(t *testing.T, inv inventory.Config) orderStack {
	t.Helper()
	l := testledger.Start(t)
	ids := orderStackIDs{l.Register("storefront", "low"), l.Register("order-agent", "low", roles.Serves(roles.Order)...),
		l.Register("inventory-agent", "medium", roles.Serves(roles.Inventory)...), l.Register("payment-agent", "high", roles.Serves(roles.Payment)...), l.Register("fulfillment-agent", "medium", roles.Serves(roles.Fulfillment)...)}
	create, _ := l.Issue(ids.storefront, ids.order, "order:create")
	toInv, _ := l.Issue(ids.order, ids.inventory, "inventory:reserve", "inventory:consume", "inventory:release", "inventory:check")
	toPay, _ := l.Issue(ids.order, ids.payment, "payment:charge:max_10000usd")
	toFul, _ := l.Issue(ids.order, ids.fulfillment, "fulfillment:label", "fulfillment:notify")
	standing, _ := l.Issue(ids.inventory, ids.inventory, "inventory:restock:max_qty50")
	st := orderStack{l: l, ids: ids, url: map[roles.Role]string{}}
	_, st.url[roles.Inventory] = startRole(t, l, ids.inventory, roles.Inventory, roles.Config{Inventory: inv}, standing)
	_, st.url[roles.Payment] = startRole(t, l, ids.payment, roles.Payment, roles.Config{})
	_, st.url[roles.Fulfillment] = startRole(t, l, ids.fulfillment, roles.Fulfillment, roles.Config{})
	var cfg order.Config
	cfg.InventoryURL, cfg.InventoryDID = st.url[roles.Inventory], ids.inventory.DID
	cfg.PaymentURL, cfg.PaymentDID = st.url[roles.Payment], ids.payment.DID
	cfg.FulfillmentURL, cfg.FulfillmentDID = st.url[roles.Fulfillment], ids.fulfillment.DID
	st.order, st.url[roles.Order] = startRole(t, l, ids.order, roles.Order, roles.Config{Order: cfg}, toInv, toPay, toFul)
	var err error
	st.storefront, err = node.New(context.Background(), node.Config{Key: ids.storefront.Key, Ledger: l.URL, Policy: l.Policy(),
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: [][]byte{create}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.storefront.DB.Close() })
	return st
}

func call(t *testing.T, n *node.Node, url, callee, action, body string) (int, map[string]any, string) {
	t.Helper()
	resp, err := n.Caller.Call(context.Background(), http.MethodPost, url, callee, action, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header.Get(contractref.ReceiptHeader)
}

// TestPaymentAndInventoryRoles runs the payment and inventory agents as
// nodes against a real ledger and calls them as the order agent would.
func TestPaymentAndInventoryRoles(t *testing.T) {
	l := testledger.Start(t)
	order := l.Register("order-agent", "low", roles.Serves(roles.Order)...)
	pay := l.Register("payment-agent", "high", roles.Serves(roles.Payment)...)
	inv := l.Register("inventory-agent", "medium", roles.Serves(roles.Inventory)...)
	payContract, _ := l.Issue(order, pay, "payment:charge:max_10000usd", "payment:reconcile")
	invContract, _ := l.Issue(order, inv, "inventory:reserve:max_qty10", "inventory:check")

	_, payURL := startRole(t, l, pay, roles.Payment, roles.Config{})
	_, invURL := startRole(t, l, inv, roles.Inventory, roles.Config{Inventory: inventory.Config{Seed: map[string]int64{"sku-1": 20}}})
	orderNode, err := node.New(context.Background(), node.Config{Key: order.Key, Ledger: l.URL, Policy: l.Policy(),
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: [][]byte{payContract, invContract}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { orderNode.DB.Close() })

	charge := `{"order_id":"o-1","idempotency_key":"o-1-charge","amount":12999,"currency":"USD","card":"4242424242424242"}`
	status, first, receipt := call(t, orderNode, payURL+"/v1/payment/charge", pay.DID, "payment:charge", charge)
	if status != http.StatusOK || receipt == "" {
		t.Fatalf("charge: %d %v (receipt %q)", status, first, receipt)
	}
	// A retry with a fresh signature gets the first answer: no second charge.
	status, again, _ := call(t, orderNode, payURL+"/v1/payment/charge", pay.DID, "payment:charge", charge)
	if status != http.StatusOK || again["charge_id"] != first["charge_id"] {
		t.Fatalf("retried charge: %d %v, first %v", status, again, first)
	}
	if status, _, _ := call(t, orderNode, payURL+"/v1/payment/charge", pay.DID, "payment:charge",
		`{"order_id":"o-2","idempotency_key":"o-2-charge","amount":1000001,"currency":"USD","card":"4242424242424242"}`); status != http.StatusForbidden {
		t.Fatalf("over-limit charge: %d", status)
	}
	status, res, _ := call(t, orderNode, invURL+"/v1/inventory/reserve", inv.DID, "inventory:reserve", `{"order_id":"o-1","lines":[{"sku":"sku-1","qty":3}]}`)
	if status != http.StatusOK || res["reservation_id"] == nil {
		t.Fatalf("reserve: %d %v", status, res)
	}
	if status, _, _ := call(t, orderNode, invURL+"/v1/inventory/reserve", inv.DID, "inventory:reserve", `{"order_id":"o-3","lines":[{"sku":"sku-1","qty":11}]}`); status != http.StatusForbidden {
		t.Fatalf("reserve over max_qty: %d", status)
	}
	// Reconcile compares the payment agent's records with its action
	// entries, once its view covers them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, rep, _ := call(t, orderNode, payURL+"/v1/payment/reconcile", pay.DID, "payment:reconcile", `{}`)
		if actions, _ := rep["actions"].(float64); status == http.StatusOK && rep["differences"] == nil && actions >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconcile never came back clean: %d %v", status, rep)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOrderFlowAcrossFourAgents runs the four agents as nodes against a
// real ledger: a storefront places an order, and the order agent reserves,
// charges, labels and notifies through signed calls under its contracts.
func TestOrderFlowAcrossFourAgents(t *testing.T) {
	st := startOrderStack(t, inventory.Config{Seed: map[string]int64{"sku-1": 100}})
	storefront, orderURL, orderID := st.storefront, st.url[roles.Order], st.ids.order
	body := `{"order_id":"o-1","customer":{"first":"Ada","last":"Lovelace","email":"ada@example.com"},` +
		`"address":{"lines":["1 Main St"],"city":"London","postal_code":"N1 1AA","country":"GB"},` +
		`"items":[{"sku":"sku-1","qty":2,"unit_price":1999}],"currency":"USD","card":"4242424242424242","note":"leave at the door"}`
	status, got, receipt := call(t, storefront, orderURL+"/v1/orders", orderID.DID, "order:create", body)
	if status != http.StatusCreated || got["status"] != "completed" || receipt == "" {
		t.Fatalf("order: %d %v", status, got)
	}
	steps, _ := got["steps"].([]any)
	seen := map[string]bool{}
	for _, s := range steps {
		step := s.(map[string]any)
		if step["receipt_index"] == nil {
			t.Fatalf("step without a receipt: %v", step)
		}
		seen[step["action"].(string)] = true
	}
	for _, a := range []string{"inventory:reserve", "payment:charge", "inventory:consume", "fulfillment:label", "fulfillment:notify"} {
		if !seen[a] {
			t.Fatalf("no %s step in %v", a, steps)
		}
	}
	// The same order again changes nothing and charges nothing.
	status, again, _ := call(t, storefront, orderURL+"/v1/orders", orderID.DID, "order:create", body)
	if status != http.StatusOK || again["charge_id"] != got["charge_id"] {
		t.Fatalf("retried order: %d %v", status, again)
	}
}

// TestServesIsWhatMountProtects holds roles.Serves, which registrations
// declare, to the actions each role's guard protects once mounted: an
// endpoint a role gains is served in its registrations too, or this fails.
func TestServesIsWhatMountProtects(t *testing.T) {
	l := testledger.Start(t)
	for _, role := range []roles.Role{roles.Order, roles.Inventory, roles.Payment, roles.Fulfillment} {
		id := l.Register(string(role)+"-agent", "low", roles.Serves(role)...)
		var cfg roles.Config
		if role == roles.Order {
			cfg.Order = order.Config{InventoryURL: "http://127.0.0.1:1", InventoryDID: id.DID, PaymentURL: "http://127.0.0.1:1",
				PaymentDID: id.DID, FulfillmentURL: "http://127.0.0.1:1", FulfillmentDID: id.DID}
		}
		n, _ := startNode(t, l, id, role, cfg, false)
		if got, want := n.Guard.Actions(), roles.Serves(role); !slices.Equal(got, want) {
			t.Errorf("%s: Mount protects %q, Serves says %q", role, got, want)
		}
		if want := statement.SortServes(roles.Serves(role)); !slices.Equal(roles.Serves(role), want) {
			t.Errorf("%s: Serves is not in a registration's order: %q", role, roles.Serves(role))
		}
	}
	if roles.Serves("storefront") != nil {
		t.Error("an unknown role serves something")
	}
}
