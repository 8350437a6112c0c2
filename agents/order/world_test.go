package order_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/internal/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
)

const origin = "order.test/log"

// ledgerWorld is a real ledger on loopback, with the registry's rules: the
// contracts the order agent holds are real entries with real tlog-proofs.
type ledgerWorld struct {
	t         testing.TB
	log       *ledger.Log
	client    *client.Client
	verifier  note.Verifier
	authority fixture.Identity
}

func newLedger(t testing.TB) *ledgerWorld {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	authority := fixture.NewIdentity("authority")
	dir := filepath.Join(t.TempDir(), "ledger")
	if err := ledger.Create(dir, origin); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer, CheckpointInterval: 10 * time.Millisecond, Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	api := httpapi.New(l, reg, zerolog.Nop(), nil)
	api.ServeRegistry(reg)
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); l.Close() })
	c, _ := client.New(srv.URL, nil)
	return &ledgerWorld{t: t, log: l, client: c, verifier: verifier, authority: authority}
}

// append appends an entry and waits until a checkpoint covers it.
func (w *ledgerWorld) append(raw []byte, err error) client.AppendResult {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.client.Append(context.Background(), raw)
	if err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, size, _ := w.log.Checkpoint(); size > res.Index {
			return res
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no checkpoint covers %d", res.Index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *ledgerWorld) register(name, risk string) fixture.Identity {
	w.t.Helper()
	id := fixture.NewIdentity(name)
	w.append(fixture.Registration(w.authority.Key, id, risk, time.Now()))
	return id
}

// issue appends a contract granting scopes to subject at audience and
// returns it with its tlog-proof, as the order agent holds it.
func (w *ledgerWorld) issue(subject, audience fixture.Identity, scopes ...string) caller.Contract {
	w.t.Helper()
	raw, _, err := fixture.Contract(w.authority.Key, subject.DID, audience.DID, scopes, time.Now().Add(-time.Minute), time.Hour)
	res := w.append(raw, err)
	bundle, err := w.client.Bundle(context.Background(), res.Index, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := caller.ParseContract(bundle)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}
