package node_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/internal/testledger"
	"github.com/agentledger/agentledger/proofs"
)

// TestNodeServesGuardedCalls runs a ledger and one agent node on loopback
// and makes a signed call from another agent through the node's caller.
func TestNodeServesGuardedCalls(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	order, payment := l.Register("order-agent", "low"), l.Register("payment-agent", "high")
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
