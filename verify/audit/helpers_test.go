package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

var t0 = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

const skew = 30 * time.Second

// world is a set of identities and a log being built from them.
type world struct {
	t               testing.TB
	auth            fixture.Identity
	order, pay, inv fixture.Identity
	stranger        fixture.Identity
	entries         [][]byte
	nonce           int
	lastNonce       string
	contractIDs     map[uint64]string
	serves          map[string][]string // what each did:key's registration serves
}

func key(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }

func newWorld(t testing.TB) *world {
	return &world{
		t:           t,
		auth:        fixture.FromKey("authority", key(1)),
		order:       fixture.FromKey("order", key(2)),
		pay:         fixture.FromKey("payment", key(3)),
		inv:         fixture.FromKey("inventory", key(4)),
		stranger:    fixture.FromKey("stranger", key(5)),
		contractIDs: map[uint64]string{},
		serves: map[string][]string{
			didOf(key(3)): {"payment:charge", "payment:refund"},
			didOf(key(4)): {"inventory:reserve", "inventory:restock"},
		},
	}
}

func didOf(key ed25519.PrivateKey) string { return fixture.FromKey("", key).DID }

// add appends an entry and returns its index.
func (w *world) add(b []byte, err error) uint64 {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	w.entries = append(w.entries, b)
	return uint64(len(w.entries) - 1)
}

// register registers id, serving what w.serves lists for it.
func (w *world) register(id fixture.Identity) uint64 {
	w.t.Helper()
	return w.add(fixture.Registration(w.auth.Key, id, statement.RiskLow, t0, w.serves[id.DID]...))
}

func (w *world) contract(signer ed25519.PrivateKey, caller, callee fixture.Identity, scopes ...string) uint64 {
	w.t.Helper()
	b, id, err := fixture.Contract(signer, caller.DID, callee.DID, scopes, t0, time.Hour)
	idx := w.add(b, err)
	w.contractIDs[idx] = id
	return idx
}

// signed signs st (a statement with Marshal) as kind with key.
func (w *world) signed(kind envelope.Kind, st interface{ Marshal() ([]byte, error) }, key ed25519.PrivateKey) uint64 {
	w.t.Helper()
	p, err := st.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	return w.add(envelope.Sign(kind, p, key))
}

func (w *world) ref(idx uint64) statement.ContractRef {
	return statement.ContractRef{Index: idx, LeafHash: proofs.LeafHash(w.entries[idx])}
}

func (w *world) revoke(signer ed25519.PrivateKey, contract uint64) uint64 {
	w.t.Helper()
	return w.add(fixture.Revocation(signer, proofs.LeafHash(w.entries[contract]), "test", t0.Add(2*time.Minute)))
}

// act appends agent's action for caller under ref with a fresh nonce
// (unless spec.Nonce is set).
func (w *world) act(agent, caller fixture.Identity, ref statement.ContractRef, spec fixture.ActionSpec) uint64 {
	w.t.Helper()
	spec.Caller, spec.Contract = caller.DID, ref
	if spec.Nonce == "" {
		w.nonce++
		spec.Nonce = fmt.Sprintf("nonce-%016d", w.nonce)
	}
	w.lastNonce = spec.Nonce
	if spec.Time.IsZero() {
		spec.Time = t0.Add(time.Minute)
	}
	if spec.Body == nil {
		spec.Body = []byte(`{}`)
	}
	return w.add(fixture.Action(agent, spec))
}

func charge(minor int64) fixture.ActionSpec {
	return fixture.ActionSpec{Action: "payment:charge", Amount: fixture.Int64(minor), Currency: "USD"}
}

// refund is a refund of minor USD cents of the charge at index charge;
// key tells refunds apart (their bodies, so their args_digests).
func (w *world) refund(minor int64, key string, charge uint64) fixture.ActionSpec {
	target := w.ref(charge)
	return fixture.ActionSpec{Action: "payment:refund", Amount: fixture.Int64(minor), Currency: "USD",
		Body: []byte(`{"idempotency_key":"` + key + `"}`), Target: &target}
}

func reserve(qty int64) fixture.ActionSpec {
	return fixture.ActionSpec{Action: "inventory:reserve", Quantity: fixture.Int64(qty)}
}

// audit audits entries[from:to) with e and fails on an ordering error.
func audit(t testing.TB, e *Engine, entries [][]byte, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := e.Check(uint64(i), entries[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// stateJSON is the JSON form of s, which is what resumption preserves.
func stateJSON(t testing.TB, s State) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
