package order_test

import (
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
)

// ledgerWorld is a real ledger on loopback, with the registry's rules: the
// contracts the order agent holds are real entries with real tlog-proofs.
type ledgerWorld struct {
	t         testing.TB
	l         *testledger.Ledger
	log       *ledger.Log
	client    *client.Client
	verifier  note.Verifier
	authority fixture.Identity
}

func newLedger(t testing.TB) *ledgerWorld {
	t.Helper()
	l := testledger.Start(t)
	return &ledgerWorld{t: t, l: l, log: l.Log, client: l.Client, verifier: l.Verifier, authority: l.Authority}
}

// register registers a new identity that serves the actions serves.
func (w *ledgerWorld) register(name, risk string, serves ...string) fixture.Identity {
	w.t.Helper()
	return w.l.Register(name, risk, serves...)
}

// issue appends a contract granting scopes to subject at audience and
// returns it with its tlog-proof, as the order agent holds it.
func (w *ledgerWorld) issue(subject, audience fixture.Identity, scopes ...string) caller.Contract {
	w.t.Helper()
	bundle, _ := w.l.Issue(subject, audience, scopes...)
	c, err := caller.ParseContract(bundle)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}
