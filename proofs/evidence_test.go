package proofs

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testInconsistency returns a real inconsistency: a checkpoint at size 5 and
// a forked one at size 9, with the proof the honest tree gives.
func testInconsistency(t testing.TB) *InconsistencyError {
	tree := newRefTree(9)
	forked := newRefTree(9)
	forked.leaves[2] = []byte("rewritten")
	signer, verifier := testKey(t, testOrigin, 1)
	old, err := OpenCheckpoint(signedTestCheckpoint(t, tree, 5, signer), testOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	new, err := OpenCheckpoint(signedTestCheckpoint(t, forked, 9, signer), testOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ProveConsistency(5, 9, tree)
	if err != nil {
		t.Fatal(err)
	}
	err = VerifyConsistency(old, new, p)
	var ie *InconsistencyError
	if !errors.As(err, &ie) {
		t.Fatalf("VerifyConsistency = %v, want *InconsistencyError", err)
	}
	return ie
}

func TestEvidenceRoundTrip(t *testing.T) {
	ie := testInconsistency(t)
	ev := ie.MarshalEvidence()
	if !bytes.HasPrefix(ev, []byte("agentledger/consistency-evidence@v1\nold 5\nnew 9\n")) {
		t.Fatalf("unexpected evidence:\n%s", ev)
	}
	old, new, p, err := ParseInconsistencyEvidence(ev)
	if err != nil {
		t.Fatalf("ParseInconsistencyEvidence: %v\n%s", err, ev)
	}
	if !bytes.Equal(old, ie.Old.Note) || !bytes.Equal(new, ie.New.Note) || !slices.Equal(p, ie.Proof) {
		t.Fatal("evidence did not round-trip")
	}
	// Re-checking offline reaches the same verdict.
	_, verifier := testKey(t, testOrigin, 1)
	oc, err := OpenCheckpoint(old, testOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := OpenCheckpoint(new, testOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	var again *InconsistencyError
	if err := VerifyConsistency(oc, nc, p); !errors.As(err, &again) {
		t.Fatalf("offline re-check: %v, want *InconsistencyError", err)
	}
	if !bytes.Equal(again.MarshalEvidence(), ev) {
		t.Error("re-marshalled evidence differs")
	}

	// Empty proof (same size, different roots) round-trips too.
	same := &InconsistencyError{Old: ie.New, New: ie.New, Proof: nil}
	if _, _, p, err := ParseInconsistencyEvidence(same.MarshalEvidence()); err != nil || len(p) != 0 {
		t.Errorf("empty proof evidence: %v, %v", p, err)
	}
}

func TestEvidenceRefusals(t *testing.T) {
	ie := testInconsistency(t)
	ev := string(ie.MarshalEvidence())
	oldNote, newNote := string(ie.Old.Note), string(ie.New.Note)
	proofLines := ""
	for _, h := range ie.Proof {
		proofLines += h.String() + "\n"
	}
	build := func(header, sizes, proof, notes string) string {
		return header + sizes + proof + "\n" + notes
	}
	notes := fmt.Sprintf("old-note %d\n%snew-note %d\n%s", len(oldNote), oldNote, len(newNote), newNote)
	if got := build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, notes); got != ev {
		t.Fatalf("test builder disagrees with MarshalEvidence:\n%s\n---\n%s", got, ev)
	}
	many := strings.Repeat(EmptyRoot().String()+"\n", 65)
	bad := map[string]string{
		"empty":             "",
		"v2 header":         build("agentledger/consistency-evidence@v2\n", "old 5\nnew 9\n", proofLines, notes),
		"no header newline": "agentledger/consistency-evidence@v1",
		"leading zero":      build("agentledger/consistency-evidence@v1\n", "old 05\nnew 9\n", proofLines, notes),
		"sizes swapped":     build("agentledger/consistency-evidence@v1\n", "new 9\nold 5\n", proofLines, notes),
		"size mismatch":     build("agentledger/consistency-evidence@v1\n", "old 6\nnew 9\n", proofLines, notes),
		"short hash":        build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", "AAAA\n", notes),
		"too many hashes":   build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", many, notes),
		"no blank line":     "agentledger/consistency-evidence@v1\nold 5\nnew 9\n" + proofLines,
		"trailing bytes":    ev + "x",
		"trailing newline":  ev + "\n",
		"long note length":  build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, fmt.Sprintf("old-note %d\n%snew-note %d\n%s", len(oldNote), oldNote, len(newNote)+1, newNote)),
		"short note length": build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, fmt.Sprintf("old-note %d\n%snew-note %d\n%s", len(oldNote)-1, oldNote, len(newNote), newNote)),
		"notes swapped":     build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, fmt.Sprintf("old-note %d\n%snew-note %d\n%s", len(newNote), newNote, len(oldNote), oldNote)),
		"note not a note":   build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, fmt.Sprintf("old-note 4\nabc\nnew-note %d\n%s", len(newNote), newNote)),
		"oversize":          ev + strings.Repeat("x", MaxEvidenceSize),
	}
	for name, b := range bad {
		if _, _, _, err := ParseInconsistencyEvidence([]byte(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Notes of different logs.
	otherSigner, _ := testKey(t, "other.example/log", 1)
	other := string(signedTestCheckpoint(t, newRefTree(9), 9, otherSigner))
	mixed := build("agentledger/consistency-evidence@v1\n", "old 5\nnew 9\n", proofLines, fmt.Sprintf("old-note %d\n%snew-note %d\n%s", len(oldNote), oldNote, len(other), other))
	if _, _, _, err := ParseInconsistencyEvidence([]byte(mixed)); err == nil {
		t.Error("accepted notes of different logs")
	}
}
