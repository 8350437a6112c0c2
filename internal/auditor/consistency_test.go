package auditor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
)

// servedSource is a real ledger whose Checkpoint answers cp instead of its
// latest: a lagging replica, or a log hiding its tail. Proofs and tiles
// come from the ledger.
type servedSource struct {
	Source
	cp proofs.SignedCheckpoint
}

func (s servedSource) Checkpoint(context.Context) (proofs.SignedCheckpoint, error) { return s.cp, nil }

func checkpoint(t *testing.T, l *testledger.Ledger) proofs.SignedCheckpoint {
	t.Helper()
	cp, err := verified.Checkpoint(context.Background(), l.Client, l.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// evidenceFiles lists the evidence files in the state directory dir.
func evidenceFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "evidence-*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCheckConsistencyBehind: an auditor that saw tree size 5 and is then
// served the log's honest checkpoint of size 3 proves it a prefix and
// refuses it, keeps 5, and writes no evidence.
func TestCheckConsistencyBehind(t *testing.T) {
	ctx := context.Background()
	l := testledger.Start(t)
	for _, name := range []string{"a", "b", "c"} {
		l.Register(name, "low")
	}
	cp3 := checkpoint(t, l)
	l.Register("d", "low")
	l.Register("e", "low")
	src := Ledger(l.Client, l.Verifier)
	dir := t.TempDir()
	if g, err := CheckConsistency(ctx, src, l.Verifier, dir); err != nil || !g.First || g.Trusted.Size != 5 {
		t.Fatalf("first audit: %+v, %v", g, err)
	}

	g, err := CheckConsistency(ctx, servedSource{src, cp3}, l.Verifier, dir)
	var behind *BehindError
	if !errors.As(err, &behind) || behind.Err != nil || behind.Served.Size != 3 || behind.Stored.Size != 5 {
		t.Fatalf("served 3 after 5: got %+v, %v; want a *BehindError with a proof", g, err)
	}
	var inc *InconsistentError
	if errors.As(err, &inc) {
		t.Fatalf("an honest smaller checkpoint called inconsistent: %v", err)
	}
	if g.Trusted.Size != 5 || g.ProofHashes == 0 {
		t.Errorf("growth %+v: want the stored 5 kept, and a proof from 3 to 5 verified", g)
	}
	if files := evidenceFiles(t, dir); len(files) != 0 {
		t.Errorf("evidence written for an honest pair: %v", files)
	}
	stored, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if err != nil || string(stored) != string(g.Trusted.Note) {
		t.Errorf("the stored checkpoint changed: %v", err)
	}

	// The log serves the larger tree again: the audit goes on.
	if g, err := CheckConsistency(ctx, src, l.Verifier, dir); err != nil || g.Trusted.Size != 5 {
		t.Fatalf("after the refusal: %+v, %v", g, err)
	}
}

// TestCheckConsistencySmallerFork: a smaller checkpoint that is not a
// prefix of the stored one is evidence, written with the smaller tree as
// old, and it re-checks as genuine.
func TestCheckConsistencySmallerFork(t *testing.T) {
	ctx := context.Background()
	signer, verifier := testledger.NewLogKey(t)
	honest := testledger.StartWith(t, signer, verifier, fixture.NewIdentity("authority"))
	twin := testledger.StartWith(t, signer, verifier, fixture.NewIdentity("other"))
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		honest.Register(name, "low")
	}
	twin.Register("x", "low")
	twin.Register("y", "low")
	forked := checkpoint(t, twin)
	src := Ledger(honest.Client, verifier)
	dir := t.TempDir()
	if _, err := CheckConsistency(ctx, src, verifier, dir); err != nil {
		t.Fatal(err)
	}
	_, err := CheckConsistency(ctx, servedSource{src, forked}, verifier, dir)
	var inc *InconsistentError
	if !errors.As(err, &inc) {
		t.Fatalf("forked 2 after 5: got %v, want *InconsistentError", err)
	}
	if inc.Proof.Old.Size != 2 || inc.Proof.New.Size != 5 {
		t.Errorf("evidence from %d to %d, want from the smaller tree 2 to 5", inc.Proof.Old.Size, inc.Proof.New.Size)
	}
	data, err := os.ReadFile(inc.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	e, err := RecheckEvidence(data, verifier)
	if err != nil || e.Verdict != Disconnected || !e.Verdict.IsEvidence() {
		t.Errorf("re-checked: verdict %v, %v; want Disconnected", e.Verdict, err)
	}
}
