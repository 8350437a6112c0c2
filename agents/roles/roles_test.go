package roles_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/fixture"
	"github.com/agentledger/agentledger/internal/testledger"
)

// startRole runs a node with role's handlers mounted until the test ends.
func startRole(t *testing.T, l *testledger.Ledger, id fixture.Identity, role roles.Role, cfg roles.Config, contracts ...[]byte) (*node.Node, string) {
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
	go func() { run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return n, "http://" + addr
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
	order := l.Register("order-agent", "low")
	pay := l.Register("payment-agent", "high")
	inv := l.Register("inventory-agent", "medium")
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
