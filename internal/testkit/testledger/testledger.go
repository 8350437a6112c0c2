// Package testledger runs a real ledger, with the registry's write rules,
// on loopback for tests of the agents: it registers identities, issues
// contracts and hands out their tlog-proofs, as the authority would.
package testledger

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

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/ledger/signerlimit"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// Origin is the test ledger's origin.
const Origin = "testledger.agentledger.local/log"

// Ledger is a running test ledger.
type Ledger struct {
	t         testing.TB
	Log       *ledger.Log
	URL       string
	Client    *client.Client
	Verifier  note.Verifier
	Authority fixture.Identity
}

// Start runs a ledger with fresh keys until the test ends. It publishes
// checkpoints every 10 ms.
func Start(t testing.TB) *Ledger {
	t.Helper()
	signer, verifier := NewLogKey(t)
	return StartWith(t, signer, verifier, fixture.NewIdentity("authority"))
}

// NewLogKey makes a log signing key pair for Origin.
func NewLogKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, Origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	return signer, verifier
}

// StartWith runs a ledger under the given log key and authority: two
// ledgers started with one key are a forked log.
func StartWith(t testing.TB, signer note.Signer, verifier note.Verifier, authority fixture.Identity) *Ledger {
	t.Helper()
	return start(t, signer, verifier, authority, signerlimit.Options{})
}

// StartLimited runs a ledger like Start whose registered agents may each
// write rate entries per second, burst at once (the authority is exempt).
func StartLimited(t testing.TB, rate float64, burst int) *Ledger {
	t.Helper()
	signer, verifier := NewLogKey(t)
	return start(t, signer, verifier, fixture.NewIdentity("authority"), signerlimit.Options{Rate: rate, Burst: burst})
}

func start(t testing.TB, signer note.Signer, verifier note.Verifier, authority fixture.Identity, limits signerlimit.Options) *Ledger {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ledger")
	if err := ledger.Create(dir, Origin); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer, CheckpointInterval: 10 * time.Millisecond, Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	limits.Exempt = func(s string) bool { return s == authority.DID }
	lim, err := signerlimit.New(limits)
	if err != nil {
		t.Fatal(err)
	}
	if lim != nil {
		reg.LimitSigners(lim)
	}
	api := httpapi.New(l, reg, zerolog.Nop(), nil)
	api.ServeRegistry(reg)
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); l.Close() })
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Ledger{t: t, Log: l, URL: srv.URL, Client: c, Verifier: verifier, Authority: authority}
}

// Policy is the trust policy of an agent relying on this ledger.
func (l *Ledger) Policy() verify.TrustPolicy {
	return verify.TrustPolicy{LogKey: l.Verifier, Authority: l.Authority.DID}
}

// Append appends an entry and waits until a checkpoint covers it.
func (l *Ledger) Append(raw []byte, err error) client.AppendResult {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
	res, err := l.Client.Append(context.Background(), raw)
	if err != nil {
		l.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, size, _ := l.Log.Checkpoint(); size > res.Index {
			return res
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no checkpoint covers entry %d", res.Index)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Register registers a new identity that serves the actions serves (none
// if left out: a party that only calls others).
func (l *Ledger) Register(name, risk string, serves ...string) fixture.Identity {
	l.t.Helper()
	id := fixture.NewIdentity(name)
	l.Append(fixture.Registration(l.Authority.Key, id, risk, time.Now(), serves...))
	return id
}

// Issue issues a contract valid for about an hour and returns its
// tlog-proof and reference.
func (l *Ledger) Issue(subject, audience fixture.Identity, scopes ...string) ([]byte, statement.ContractRef) {
	l.t.Helper()
	// Valid from a minute ago, so clock skew never makes it not yet valid.
	raw, _, err := fixture.Contract(l.Authority.Key, subject.DID, audience.DID, scopes, time.Now().Add(-time.Minute), time.Hour)
	res := l.Append(raw, err)
	bundle, err := l.Client.Bundle(context.Background(), res.Index, 0)
	if err != nil {
		l.t.Fatal(err)
	}
	return bundle, statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
}
