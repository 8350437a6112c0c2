package proofs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestCheckpointBody(t *testing.T) {
	c := Checkpoint{Origin: "example.com/log", Size: 20852163, Root: LeafHash([]byte("x"))}
	want := "example.com/log\n20852163\n" + c.Root.String() + "\n"
	if got := string(c.Body()); got != want {
		t.Fatalf("Body() = %q, want %q", got, want)
	}
	back, err := ParseCheckpointBody(c.Body())
	if err != nil || back != c {
		t.Fatalf("ParseCheckpointBody(Body()) = %+v, %v; want %+v", back, err, c)
	}
	zero := Checkpoint{Origin: "o", Size: 0, Root: EmptyRoot()}
	if back, err := ParseCheckpointBody(zero.Body()); err != nil || back != zero {
		t.Fatalf("size 0: %+v, %v", back, err)
	}
	max := Checkpoint{Origin: "o", Size: 1<<64 - 1, Root: EmptyRoot()}
	if back, err := ParseCheckpointBody(max.Body()); err != nil || back != max {
		t.Fatalf("size 2^64-1: %+v, %v", back, err)
	}
}

func TestParseCheckpointBodyExtensions(t *testing.T) {
	root := EmptyRoot().String()
	c, err := ParseCheckpointBody([]byte("o\n5\n" + root + "\next one\n— not a signature\n"))
	if err != nil {
		t.Fatalf("extension lines refused: %v", err)
	}
	if c.Origin != "o" || c.Size != 5 || c.Root != EmptyRoot() {
		t.Fatalf("got %+v", c)
	}
}

func TestParseCheckpointBodyRefusals(t *testing.T) {
	root := EmptyRoot().String()
	bad := map[string]string{
		"empty":                "",
		"two lines":            "o\n5\n",
		"missing newline":      "o\n5\n" + root,
		"empty origin":         "\n5\n" + root + "\n",
		"leading zeros":        "o\n007\n" + root + "\n",
		"leading zero":         "o\n01\n" + root + "\n",
		"double zero":          "o\n00\n" + root + "\n",
		"plus sign":            "o\n+7\n" + root + "\n",
		"minus sign":           "o\n-7\n" + root + "\n",
		"space in size":        "o\n 7\n" + root + "\n",
		"hex size":             "o\n0x7\n" + root + "\n",
		"empty size":           "o\n\n" + root + "\n",
		"size overflow":        "o\n18446744073709551616\n" + root + "\n",
		"31-byte root":         "o\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		"33-byte root":         "o\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		"unpadded root":        "o\n7\n" + root[:43] + "\n",
		"url base64 root":      "o\n7\n" + strings.NewReplacer("+", "-", "/", "_").Replace(root) + "\n",
		"root with space":      "o\n7\n " + root + "\n",
		"empty extension line": "o\n7\n" + root + "\n\next\n",
		"trailing empty line":  "o\n7\n" + root + "\n\n",
		"CRLF":                 "o\r\n7\r\n" + root + "\r\n",
		"control character":    "o\x01\n7\n" + root + "\n",
		"invalid UTF-8":        "o\xff\n7\n" + root + "\n",
		"oversize":             "o\n7\n" + root + "\n" + strings.Repeat("x", MaxCheckpointSize) + "\n",
	}
	for name, body := range bad {
		if c, err := ParseCheckpointBody([]byte(body)); err == nil {
			t.Errorf("%s: ParseCheckpointBody(%q) = %+v, want error", name, body, c)
		}
	}
}

func TestSignOpenCheckpoint(t *testing.T) {
	signer, verifier := testKey(t, testOrigin, 1)
	c := Checkpoint{Origin: testOrigin, Size: 42, Root: LeafHash([]byte("root"))}
	signed, err := SignCheckpoint(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(signed, append(c.Body(), "\n— "+testOrigin+" "...)) {
		t.Fatalf("signed note has unexpected form:\n%s", signed)
	}
	sc, err := OpenCheckpoint(signed, testOrigin, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Checkpoint != c || !bytes.Equal(sc.Note, signed) {
		t.Fatalf("OpenCheckpoint = %+v, want %+v with the note", sc, c)
	}
	// The note is kept as a copy.
	signed[0] ^= 1
	if sc.Note[0] == signed[0] {
		t.Error("SignedCheckpoint.Note aliases the input")
	}
	signed[0] ^= 1

	// A witness cosignature by an unknown key is ignored.
	witness, _ := testKey(t, "witness.example", 2)
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, witness)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err := OpenCheckpoint(cosigned, testOrigin, verifier); err != nil || sc.Checkpoint != c {
		t.Errorf("cosigned checkpoint: %+v, %v", sc, err)
	}
}

func TestOpenCheckpointRefusals(t *testing.T) {
	signer, verifier := testKey(t, testOrigin, 1)
	_, otherVerifier := testKey(t, testOrigin, 3)
	otherSigner, otherNameVerifier := testKey(t, "other.example/log", 1)
	c := Checkpoint{Origin: testOrigin, Size: 42, Root: LeafHash([]byte("root"))}
	signed, err := SignCheckpoint(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(signed, testOrigin, otherVerifier); err == nil {
		t.Error("opened with the wrong key")
	}
	if _, err := OpenCheckpoint(signed, "other.example/log", otherNameVerifier); err == nil {
		t.Error("opened with the wrong origin")
	}
	if _, err := OpenCheckpoint(signed, testOrigin, nil); err == nil {
		t.Error("opened with no verifier")
	}
	// A verifier whose name differs from the origin asked for.
	if _, err := OpenCheckpoint(signed, "other.example/log", verifier); err == nil {
		t.Error("opened with verifier name != origin")
	}
	// A checkpoint for origin o signed by a key with another name: the
	// signature is valid for that key, but a log's key must carry its origin.
	otherBody := Checkpoint{Origin: testOrigin, Size: 1, Root: c.Root}.Body()
	misnamed, err := note.Sign(&note.Note{Text: string(otherBody)}, otherSigner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(misnamed, testOrigin, otherNameVerifier); err == nil {
		t.Error("opened with a verifier whose name is not the origin")
	}
	// A checkpoint whose origin line differs from its signer's name.
	wrongOrigin, err := note.Sign(&note.Note{Text: string(Checkpoint{Origin: testOrigin + "2", Size: 1, Root: c.Root}.Body())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(wrongOrigin, testOrigin, verifier); err == nil {
		t.Error("opened a checkpoint whose origin line is not the origin")
	}
	// Bodies that are signed but malformed.
	for _, body := range []string{
		testOrigin + "\n007\n" + c.Root.String() + "\n",
		testOrigin + "\n+7\n" + c.Root.String() + "\n",
		testOrigin + "\n7\nAAAA\n",
		testOrigin + "\n7\n",
	} {
		msg, err := note.Sign(&note.Note{Text: body}, signer)
		if err != nil {
			t.Fatal(err)
		}
		if sc, err := OpenCheckpoint(msg, testOrigin, verifier); err == nil {
			t.Errorf("opened malformed body %q as %+v", body, sc)
		}
	}
	// A modified body or signature.
	for i := range signed {
		if signed[i] == '\n' {
			continue
		}
		mod := bytes.Clone(signed)
		mod[i] ^= 1
		if _, err := OpenCheckpoint(mod, testOrigin, verifier); err == nil {
			t.Fatalf("opened checkpoint with byte %d modified:\n%s", i, mod)
		}
	}
	if _, err := OpenCheckpoint(signed[:len(signed)-1], testOrigin, verifier); err == nil {
		t.Error("opened checkpoint without its final newline")
	}
	// Oversize, even when validly signed.
	big := string(c.Body()) + strings.Repeat("x", MaxCheckpointSize) + "\n"
	msg, err := note.Sign(&note.Note{Text: big}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, testOrigin, verifier); err == nil {
		t.Error("opened an oversize checkpoint")
	}
	// SignCheckpoint refuses what OpenCheckpoint would refuse.
	if _, err := SignCheckpoint(Checkpoint{Origin: "other.example/log", Size: 1}, signer); err == nil {
		t.Error("signed a checkpoint whose origin is not the key name")
	}
	if _, err := SignCheckpoint(Checkpoint{Origin: "a\nb", Size: 1}, otherSigner); err == nil {
		t.Error("signed a checkpoint with a newline in the origin")
	}
}

// openTestCheckpoints signs and opens checkpoints of tree at the given sizes.
func openTestCheckpoints(t *testing.T, tree *refTree, sizes ...int) []SignedCheckpoint {
	t.Helper()
	signer, verifier := testKey(t, testOrigin, 1)
	var out []SignedCheckpoint
	for _, size := range sizes {
		sc, err := OpenCheckpoint(signedTestCheckpoint(t, tree, size, signer), testOrigin, verifier)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

func TestVerifyConsistency(t *testing.T) {
	tree := newRefTree(20)
	cps := openTestCheckpoints(t, tree, 7, 20)
	old, new := cps[0], cps[1]
	p, err := ProveConsistency(7, 20, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, new, p); err != nil {
		t.Fatalf("VerifyConsistency: %v", err)
	}
	if err := VerifyConsistency(old, old, nil); err != nil {
		t.Fatalf("VerifyConsistency(same): %v", err)
	}

	bad := append(ConsistencyProof(nil), p...)
	bad[1][3] ^= 1
	err = VerifyConsistency(old, new, bad)
	var ie *InconsistencyError
	if !errors.As(err, &ie) {
		t.Fatalf("bad proof: got %v, want *InconsistencyError", err)
	}
	if !errors.Is(err, ErrProofFailed) {
		t.Errorf("InconsistencyError does not wrap ErrProofFailed: %v", err)
	}
	if !bytes.Equal(ie.Old.Note, old.Note) || !bytes.Equal(ie.New.Note, new.Note) || len(ie.Proof) != len(bad) || ie.Proof[1] != bad[1] {
		t.Errorf("InconsistencyError does not carry the evidence: %+v", ie)
	}
	if !strings.Contains(err.Error(), testOrigin) || !strings.Contains(err.Error(), "size 7") {
		t.Errorf("error message lacks detail: %v", err)
	}

	// A fork: a checkpoint at size 20 over different leaves.
	forked := newRefTree(20)
	forked.leaves[3] = []byte("rewritten history")
	fork := openTestCheckpoints(t, forked, 20)[0]
	if err := VerifyConsistency(old, fork, p); !errors.As(err, &ie) {
		t.Errorf("fork: got %v, want *InconsistencyError", err)
	}
	// Same size, different roots: no proof can help.
	if err := VerifyConsistency(new, fork, nil); !errors.As(err, &ie) {
		t.Errorf("same size, different roots: got %v, want *InconsistencyError", err)
	}
	// The same two honest checkpoints in reverse order are no evidence:
	// a caller error, not an inconsistency, whatever the proof.
	for _, q := range []ConsistencyProof{nil, p, bad} {
		err := VerifyConsistency(new, old, q)
		if !errors.Is(err, ErrOutOfOrder) || errors.As(err, &ie) || errors.Is(err, ErrProofFailed) {
			t.Errorf("reverse order: got %v, want ErrOutOfOrder and no *InconsistencyError", err)
		}
	}
	// Reversed, a forked pair is no evidence either until it is put in
	// order: then the proof from the smaller fails.
	if err := VerifyConsistency(fork, old, nil); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("reversed fork: got %v, want ErrOutOfOrder", err)
	}
	// Different logs are a caller error, not evidence.
	otherSigner, otherVerifier := testKey(t, "other.example/log", 1)
	other, err := OpenCheckpoint(signedTestCheckpoint(t, tree, 20, otherSigner), "other.example/log", otherVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, other, p); err == nil || errors.As(err, &ie) {
		t.Errorf("different origins: got %v, want a plain error", err)
	}
}

func TestVerifyInclusion(t *testing.T) {
	tree := newRefTree(11)
	cp := openTestCheckpoints(t, tree, 11)[0]
	p, err := ProveInclusion(4, 11, tree)
	if err != nil {
		t.Fatal(err)
	}
	leaf := LeafHash(tree.leaves[4])
	if err := VerifyInclusion(cp, 4, leaf, p); err != nil {
		t.Fatal(err)
	}
	var ie *InclusionError
	err = VerifyInclusion(cp, 5, leaf, p)
	if !errors.As(err, &ie) || !errors.Is(err, ErrProofFailed) {
		t.Fatalf("wrong index: got %v, want *InclusionError", err)
	}
	if ie.Index != 5 || ie.Leaf != leaf || !bytes.Equal(ie.Checkpoint.Note, cp.Note) || len(ie.Proof) != len(p) {
		t.Errorf("InclusionError does not carry the evidence: %+v", ie)
	}
	if err := VerifyInclusion(cp, 11, leaf, p); !errors.As(err, &ie) {
		t.Errorf("index == size: got %v, want *InclusionError", err)
	}
}

// TestHonestPairsAreNoEvidence checks the evidence rule over every pair of
// honest checkpoints of small trees, in both orders: in order the proof
// connects them, and in reverse order the answer is ErrOutOfOrder. Neither
// is ever an *InconsistencyError.
func TestHonestPairsAreNoEvidence(t *testing.T) {
	const n = 17
	tree := newRefTree(n)
	sizes := make([]int, n+1)
	for i := range sizes {
		sizes[i] = i
	}
	cps := openTestCheckpoints(t, tree, sizes...)
	for a := 0; a <= n; a++ {
		for b := a; b <= n; b++ {
			var p ConsistencyProof
			if a > 0 && a < b {
				var err error
				if p, err = ProveConsistency(uint64(a), uint64(b), tree); err != nil {
					t.Fatal(err)
				}
			}
			if err := VerifyConsistency(cps[a], cps[b], p); err != nil {
				t.Errorf("%d -> %d: %v", a, b, err)
			}
			if a == b {
				continue
			}
			var ie *InconsistencyError
			if err := VerifyConsistency(cps[b], cps[a], p); errors.As(err, &ie) || !errors.Is(err, ErrOutOfOrder) {
				t.Errorf("%d -> %d, reversed: got %v, want ErrOutOfOrder", b, a, err)
			}
		}
	}
}
