package order_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/receipt"
	"github.com/agentledger/agentledger/agents/replay"
	"github.com/agentledger/agentledger/verify"
)

// TestMountedBehindRealGuard runs the order agent's own endpoints behind a
// real guard: a customer with an order:create contract orders and reads
// the status; the create receipt is the order agent's entry in the ledger.
func TestMountedBehindRealGuard(t *testing.T) {
	e := newEnv(t, envOptions{})
	w := e.world
	f, err := verify.NewFollower(verify.Options{Policy: verify.TrustPolicy{LogKey: w.verifier, Authority: w.authority.DID},
		Source: w.client, StateDir: filepath.Join(t.TempDir(), "view")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(guard.Options{Follower: f, Replay: replay.New(e.db), Receipts: receipt.NewWriter(e.self.Key, w.client, 5*time.Second),
		Verifier: &httpsig.Verifier{}, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.svc.Mount(mux, g)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	alice, bob := w.register("alice", "low"), w.register("bob", "low")
	ac, bc := caller.New(alice.Key, nil, nil), caller.New(bob.Key, nil, nil)
	if err := ac.Add(w.issue(alice, e.self, "order:create:max_2000usd")); err != nil {
		t.Fatal(err)
	}
	if err := bc.Add(w.issue(bob, e.self, "order:create")); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	call := func(c *caller.Client, method, path string, body []byte) (int, order.View, string) {
		t.Helper()
		resp, err := c.Call(context.Background(), method, srv.URL+path, e.self.DID, order.ActionCreate, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v order.View
		_ = json.Unmarshal(b, &v)
		return resp.StatusCode, v, resp.Header.Get("Ledger-Receipt")
	}
	body, _ := json.Marshal(newOrder("G-1", "US"))
	code, v, rcpt := call(ac, http.MethodPost, "/v1/orders", body)
	if code != http.StatusCreated || v.Status != order.StatusCompleted || rcpt == "" {
		t.Fatalf("create: %d %+v receipt %q", code, v, rcpt)
	}
	if _, err := w.log.Entry(v.CreateReceipt); err != nil {
		t.Fatalf("create receipt %d not in the ledger: %v", v.CreateReceipt, err)
	}
	// Over alice's order:create limit: the guard refuses, nothing is called.
	big, _ := json.Marshal(newOrder("G-2", "US", order.Item{SKU: "car", Qty: 1, UnitPrice: 300_000}))
	if code, _, _ := call(ac, http.MethodPost, "/v1/orders", big); code != http.StatusForbidden {
		t.Fatalf("over the limit: %d", code)
	}
	if code, v, _ := call(ac, http.MethodGet, "/v1/orders/G-1", nil); code != http.StatusOK || v.OrderID != "G-1" || v.Receipts[order.ActionCharge] == 0 {
		t.Fatalf("creator status: %d %+v", code, v)
	}
	if code, _, _ := call(bc, http.MethodGet, "/v1/orders/G-1", nil); code != http.StatusNotFound {
		t.Fatalf("another caller read the order: %d", code)
	}
	wantCalls(t, e, map[string]int{order.ActionReserve: 1, order.ActionCharge: 1, order.ActionConsume: 1, order.ActionLabel: 1, order.ActionNotify: 1})
}
