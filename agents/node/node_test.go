package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs"
)

// TestNodeServesGuardedCalls runs a ledger and one agent node on loopback
// and makes a signed call from another agent through the node's caller.
func TestNodeServesGuardedCalls(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	order, payment := l.Register("order-agent", "low"), l.Register("payment-agent", "high", "payment:charge")
	bundle, _ := l.Issue(order, payment, "payment:charge")
	policy := l.Policy()

	pay, err := node.New(ctx, node.Config{Key: payment.Key, Ledger: l.URL, Policy: policy, DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Refresh: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	pay.Mux.Handle("POST /v1/charge", pay.Guard.Protect("payment:charge", guard.NoValues,
		func(w http.ResponseWriter, r *http.Request, a *guard.Approval) { ran++ }))
	addr, err := pay.Listen()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- pay.Serve(runCtx) }()

	orderNode, err := node.New(ctx, node.Config{Key: order.Key, Ledger: l.URL, Policy: policy, DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: [][]byte{bundle}})
	if err != nil {
		t.Fatal(err)
	}
	defer orderNode.DB.Close()
	resp, err := orderNode.Caller.Call(ctx, http.MethodPost, "http://"+addr+"/v1/charge", payment.DID, "payment:charge", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ran != 1 || resp.Header.Get(contractref.ReceiptHeader) == "" {
		t.Fatalf("call: %d, handler ran %d times, receipt %q", resp.StatusCode, ran, resp.Header.Get(contractref.ReceiptHeader))
	}
	if r, err := http.Get("http://" + addr + "/readyz"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", r, err)
	}
	// The checkpoint the agent acts under verifies with the log's key and
	// covers the contract it just accepted.
	r, err := http.Get("http://" + addr + "/v1/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	note, _ := io.ReadAll(r.Body)
	r.Body.Close()
	cp, err := proofs.OpenCheckpoint(note, policy.Origin(), policy.LogKey)
	if err != nil || r.StatusCode != http.StatusOK || cp.Size == 0 {
		t.Fatalf("checkpoint: %d %v %q", r.StatusCode, err, note)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}

// TestNodeRefusesInJSON: a path no role serves, a method an endpoint does
// not take, and a stale view are each refused with a JSON reason.
func TestNodeRefusesInJSON(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	agent := l.Register("payment-agent", "high", "payment:charge")
	policy := l.Policy()
	policy.MaxCheckpointAge = time.Millisecond // stale at once: it refreshes hourly
	n, err := node.New(ctx, node.Config{Key: agent.Key, Ledger: l.URL, Policy: policy, DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	n.Mux.Handle("POST /v1/charge", n.Guard.Protect("payment:charge", guard.NoValues,
		func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {}))
	addr, err := n.Listen()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- n.Serve(runCtx) }()
	defer func() { stop(); <-served }()
	for _, c := range []struct {
		method, path string
		status       int
		reason       string
	}{
		{http.MethodGet, "/nowhere", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/v1/charge", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/readyz", http.StatusServiceUnavailable, "checkpoint_stale"},
	} {
		// The view goes stale 1ms after a refresh; the node's first one
		// may still be under way, so ask until the answer comes or 5s pass.
		var resp *http.Response
		var body struct{ Error string }
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			req, _ := http.NewRequest(c.method, "http://"+addr+c.path, nil)
			if resp, err = http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			}
			body.Error = ""
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == c.status || time.Now().After(deadline) {
				break
			}
		}
		if err != nil || resp.StatusCode != c.status || body.Error != c.reason || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q (%v)", c.method, c.path, resp.StatusCode, body.Error, err)
		}
	}
}
