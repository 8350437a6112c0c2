package testledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/contractref"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// CheckReceipt checks that the Ledger-Receipt value v names an entry in
// the ledger, under its leaf hash, that is agent's approval of action for
// caller with the digest of body, and fails the test if not.
func (l *Ledger) CheckReceipt(t testing.TB, v, agent, caller, action string, body []byte) {
	t.Helper()
	index, leaf, err := contractref.ParseReceipt(v)
	if err != nil {
		t.Fatalf("receipt %q: %v", v, err)
	}
	entry, err := l.Log.Entry(index)
	if err != nil || proofs.LeafHash(entry) != leaf {
		t.Fatalf("receipt %q names no entry in the ledger (%v)", v, err)
	}
	env, err := envelope.Parse(entry)
	if err != nil {
		t.Fatalf("receipt %q: %v", v, err)
	}
	a, err := statement.ParseAction(env.Payload)
	if err != nil {
		t.Fatalf("receipt %q is not an action: %v", v, err)
	}
	sum := sha256.Sum256(body)
	if a.Agent != agent || a.Caller != caller || a.Action != action ||
		a.ArgsDigest != statement.ArgsDigestPrefix+hex.EncodeToString(sum[:]) {
		t.Fatalf("receipt %q is %+v, not %s's approval of this %s by %s", v, a, agent, action, caller)
	}
}

// StartFixed runs a ledger whose log key and authority are derived from
// seed alone, the same in every process: given the same entries, its
// checkpoints and tlog-proofs are byte for byte the same in every fuzz
// worker.
func StartFixed(t testing.TB, seed byte) *Ledger {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)), Origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	return StartWith(t, signer, verifier, fixture.Fixed("authority", seed))
}
