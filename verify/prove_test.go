package verify_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// signedLog is a log the test operates itself: any entries, under a
// checkpoint signed by a real log key. It plays an operator who logs what
// the ledger would refuse.
func signedLog(t *testing.T, entries [][]byte) (func(index uint64) []byte, note.Verifier) {
	t.Helper()
	signer, verifier := testledger.NewLogKey(t)
	tree := proofs.NewRange()
	nodes := map[proofs.NodeID]proofs.Hash{}
	for _, e := range entries {
		_ = tree.Append(proofs.LeafHash(e), func(id proofs.NodeID, h proofs.Hash) error { nodes[id] = h; return nil })
	}
	size := uint64(len(entries))
	signed, err := proofs.SignCheckpoint(proofs.Checkpoint{Origin: signer.Name(), Size: size, Root: tree.Root()}, signer)
	if err != nil {
		t.Fatal(err)
	}
	read := proofs.HashReaderFunc(func(ids []proofs.NodeID) ([]proofs.Hash, error) {
		out := make([]proofs.Hash, len(ids))
		for i, id := range ids {
			out[i] = nodes[id]
		}
		return out, nil
	})
	return func(index uint64) []byte {
		p, err := proofs.ProveInclusion(index, size, read)
		if err != nil {
			t.Fatal(err)
		}
		return proofs.Bundle{Index: index, Proof: p, Extra: entries[index], Checkpoint: signed}.Marshal()
	}, verifier
}

// TestProveEntry proves each kind of entry, and refuses every way a proof
// or its entry can be wrong, each with its own error.
func TestProveEntry(t *testing.T) {
	authority, agent, caller := fixture.NewIdentity("authority"), fixture.NewIdentity("payment-agent"), fixture.NewIdentity("order-agent")
	now := time.Now()
	reg, _ := fixture.Registration(authority.Key, agent, "high", now)
	contract, _, _ := fixture.Contract(authority.Key, caller.DID, agent.DID, []string{"payment:charge"}, now, time.Hour)
	action, _ := fixture.Action(agent, fixture.ActionSpec{Caller: caller.DID, Action: "payment:charge",
		Contract: statement.ContractRef{Index: 1, LeafHash: proofs.LeafHash(contract)}, Body: []byte(`{}`), Nonce: "nonce-0000000001", Time: now})
	// A receipt whose signature was forged: signed by another key, then
	// given the agent's keyid. The operator logs it anyway.
	forged := relabel(t, mustAction(t, fixture.NewIdentity("thief"), caller.DID), agent.DID)
	bundle, logKey := signedLog(t, [][]byte{reg, contract, action, forged, []byte("not an envelope")})

	e, err := verify.ProveEntry(bundle(2), logKey, verify.Want{Kind: envelope.KindAction, Signer: agent.DID})
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := e.Statement.(*statement.Action); !ok || a.Action != "payment:charge" || e.Index != 2 || e.Checkpoint.Size != 5 ||
		e.LeafHash != proofs.LeafHash(action) || !bytes.Equal(e.Entry, action) {
		t.Fatalf("proved %+v", e)
	}
	for i, kind := range []envelope.Kind{envelope.KindRegistration, envelope.KindContract} {
		if _, err := verify.ProveEntry(bundle(uint64(i)), logKey, verify.Want{Kind: kind, Signer: authority.DID}); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}

	changed := bundle(2)
	changed = bytes.Replace(changed, []byte("\nindex 2\n"), []byte("\nindex 1\n"), 1)
	for _, c := range []struct {
		name   string
		bundle []byte
		want   verify.Want
		is     error
	}{
		{"a forged signature", bundle(3), verify.Want{Kind: envelope.KindAction, Signer: agent.DID}, verify.ErrBadEntry},
		{"not an envelope", bundle(4), verify.Want{}, verify.ErrBadEntry},
		{"another kind", bundle(1), verify.Want{Kind: envelope.KindAction}, verify.ErrWrongKind},
		{"another signer", bundle(2), verify.Want{Signer: caller.DID}, verify.ErrWrongSigner},
		{"another index", changed, verify.Want{}, verify.ErrProofNotVerified},
		{"another log's key", bundle(2), verify.Want{}, nil},
		{"garbage", []byte("hello"), verify.Want{}, verify.ErrMalformedProof},
	} {
		key := logKey
		if c.name == "another log's key" {
			_, key = testledger.NewLogKey(t)
			c.is = verify.ErrProofNotVerified
		}
		_, err := verify.ProveEntry(c.bundle, key, c.want)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.is)
		}
	}
}

func mustAction(t *testing.T, signer fixture.Identity, caller string) []byte {
	t.Helper()
	raw, err := fixture.Action(signer, fixture.ActionSpec{Caller: caller, Action: "payment:refund",
		Contract: statement.ContractRef{Index: 1, LeafHash: proofs.LeafHash([]byte("c"))}, Body: []byte(`{}`),
		Nonce: "nonce-0000000002", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// relabel puts keyid in place of the envelope's own.
func relabel(t *testing.T, raw []byte, keyid string) []byte {
	t.Helper()
	env, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(strings.Replace(string(raw), env.KeyID, keyid, 1))
	if _, err := envelope.Parse(out); err != nil {
		t.Fatal(err)
	}
	return out
}
