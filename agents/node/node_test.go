package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/internal/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/verify"
)

// TestNodeServesGuardedCalls runs a ledger and one agent node on loopback
// and makes a signed call from another agent through the node's caller.
func TestNodeServesGuardedCalls(t *testing.T) {
	const origin = "node.test/log"
	skey, vkey, _ := note.GenerateKey(rand.Reader, origin)
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	dir := filepath.Join(t.TempDir(), "ledger")
	if err := ledger.Create(dir, origin); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer, CheckpointInterval: 10 * time.Millisecond, Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	authority := fixture.NewIdentity("authority")
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	srv := httptest.NewServer(httpapi.New(l, reg, zerolog.Nop(), nil))
	defer srv.Close()
	lc, _ := client.New(srv.URL, nil)
	ctx := context.Background()
	order, payment := fixture.NewIdentity("order-agent"), fixture.NewIdentity("payment-agent")
	for _, id := range []fixture.Identity{order, payment} {
		raw, _ := fixture.Registration(authority.Key, id, "low", time.Now())
		if _, err := lc.Append(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	raw, _, _ := fixture.Contract(authority.Key, order.DID, payment.DID, []string{"payment:charge"}, time.Now(), time.Hour)
	res, err := lc.Append(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var bundle []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		if bundle, err = lc.Bundle(ctx, res.Index, 0); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	policy := verify.TrustPolicy{LogKey: verifier, Authority: authority.DID}

	pay, err := node.New(ctx, node.Config{Key: payment.Key, Ledger: srv.URL, Policy: policy, DataDir: t.TempDir(),
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

	orderNode, err := node.New(ctx, node.Config{Key: order.Key, Ledger: srv.URL, Policy: policy, DataDir: t.TempDir(),
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
	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}
