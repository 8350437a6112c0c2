package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/proofs"
)

// TestRecheckSwappedEvidence: evidence that names the larger of two
// checkpoints as old, as ledgerctl once wrote for swapped checkpoints, is
// re-checked as no evidence, and exits 0.
func TestRecheckSwappedEvidence(t *testing.T) {
	const origin = "test.example/swapped"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	open := func(size uint64, root byte) proofs.SignedCheckpoint {
		raw, err := proofs.SignCheckpoint(proofs.Checkpoint{Origin: origin, Size: size, Root: proofs.Hash{root}}, signer)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := proofs.OpenCheckpoint(raw, origin, verifier)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	dir := t.TempDir()
	pub, evidence := filepath.Join(dir, "log.pub"), filepath.Join(dir, "swapped.evidence")
	ev := (&proofs.InconsistencyError{Old: open(8, 1), New: open(3, 2), Err: proofs.ErrProofFailed}).MarshalEvidence()
	if err := os.WriteFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evidence, ev, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"ledgerctl", "verify-consistency", "--log-key", pub, "--evidence-in", evidence}, nil, &stdout, &stderr)
	if code != exitOK || strings.Contains(stdout.String(), "GENUINE") ||
		!strings.Contains(stdout.String(), "not evidence of an inconsistency: the old checkpoint (tree size 8) is larger than the new one (3)") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
