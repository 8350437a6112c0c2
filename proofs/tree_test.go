package proofs

import (
	"errors"
	"slices"
	"testing"
)

// exhaustiveMax is the largest tree size the exhaustive tests cover.
const exhaustiveMax = 64

func TestHashPrimitives(t *testing.T) {
	for _, d := range [][]byte{nil, {}, {0}, []byte("hello"), make([]byte, 1000)} {
		if LeafHash(d) != refLeaf(d) {
			t.Errorf("LeafHash(%q) differs from the reference", d)
		}
	}
	a, b := refLeaf([]byte("a")), refLeaf([]byte("b"))
	if NodeHash(a, b) != refNode(a, b) {
		t.Error("NodeHash differs from the reference")
	}
	if NodeHash(a, b) == NodeHash(b, a) {
		t.Error("NodeHash is symmetric")
	}
	if got, want := EmptyRoot().String(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; got != want {
		t.Errorf("EmptyRoot() = %s, want %s", got, want)
	}
}

func TestParseHash(t *testing.T) {
	h := LeafHash([]byte("x"))
	got, err := ParseHash(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHash(%s) = %v, %v", h, got, err)
	}
	s := h.String()
	bad := []string{
		"",
		s[:43],                 // missing padding
		s + "=",                // too long
		s[:40] + "\n" + s[40:], // line break the decoder would skip
		s[:42] + "B=",          // non-zero trailing bits
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",     // 31 bytes
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", // 33 bytes
		"________________________________________AAA=",     // URL alphabet
	}
	for _, b := range bad {
		if _, err := ParseHash(b); err == nil {
			t.Errorf("ParseHash(%q) succeeded", b)
		}
	}
}

// TestReferenceProofSizes sanity-checks the reference implementation in
// helpers_test.go on two proofs worked by hand.
func TestReferenceProofSizes(t *testing.T) {
	d := newRefTree(5).leaves
	if got := len(refPath(4, d)); got != 1 {
		t.Errorf("len(PATH(4, D[5])) = %d, want 1", got)
	}
	if got := len(refProof(3, d)); got != 4 {
		t.Errorf("len(PROOF(3, D[5])) = %d, want 4", got)
	}
}

// mustFail reports an error unless err wraps ErrProofFailed.
func mustFail(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted: "+format, args...)
	}
	if !errors.Is(err, ErrProofFailed) {
		t.Fatalf("error does not wrap ErrProofFailed (%v): "+format, append([]any{err}, args...)...)
	}
}

// everyByte reports whether the mutation tests for a tree of the given size
// should flip every byte of every proof hash. Under the race detector or
// -short, trees above 32 leaves get only the first and last byte of each
// hash flipped, to keep the run under ten seconds; the full run flips all.
func everyByte(size uint64) bool {
	return size <= 32 || !(raceEnabled || testing.Short())
}

// eachFlip corrupts p in place, one byte at a time (one bit per byte), calls
// check, and restores the byte. With all false it flips only the first and
// last byte of each hash.
func eachFlip(p []Hash, all bool, check func()) {
	for i := range p {
		for j := 0; j < HashSize; j++ {
			if !all && j != 0 && j != HashSize-1 {
				continue
			}
			p[i][j] ^= 1 << (j % 8)
			check()
			p[i][j] ^= 1 << (j % 8)
		}
	}
}

func TestInclusionExhaustive(t *testing.T) {
	tree := newRefTree(exhaustiveMax)
	roots := make([]Hash, exhaustiveMax+1)
	for n := range roots {
		roots[n] = refMTH(tree.leaves[:n])
	}
	for size := uint64(1); size <= exhaustiveMax; size++ {
		r := tree.reader(size)
		root := roots[size]
		tree.calls = 0
		got, err := RootHash(size, r)
		if err != nil || got != root {
			t.Fatalf("RootHash(%d) = %s, %v; want %s", size, got, err, root)
		}
		if tree.calls != 1 {
			t.Fatalf("RootHash(%d) made %d reads, want 1", size, tree.calls)
		}
		for index := uint64(0); index < size; index++ {
			tree.calls = 0
			p, err := ProveInclusion(index, size, r)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d): %v", index, size, err)
			}
			if tree.calls > 1 || len(p) > 0 && tree.calls != 1 {
				t.Fatalf("ProveInclusion(%d, %d) made %d reads", index, size, tree.calls)
			}
			if want := refPath(int(index), tree.leaves[:size]); !slices.Equal(p, InclusionProof(want)) {
				t.Fatalf("ProveInclusion(%d, %d) = %v, want RFC 6962 PATH %v", index, size, p, want)
			}
			leaf := refLeaf(tree.leaves[index])
			if err := CheckInclusion(p, index, size, leaf, root); err != nil {
				t.Fatalf("CheckInclusion(%d, %d): %v", index, size, err)
			}
			checkInclusionMutations(t, p, index, size, leaf, roots)
		}
	}
}

func checkInclusionMutations(t *testing.T, p InclusionProof, index, size uint64, leaf Hash, roots []Hash) {
	t.Helper()
	root := roots[size]
	eachFlip(p, everyByte(size), func() {
		mustFail(t, CheckInclusion(p, index, size, leaf, root), "flipped proof byte, index %d size %d", index, size)
	})
	if len(p) > 0 {
		mustFail(t, CheckInclusion(p[:len(p)-1], index, size, leaf, root), "truncated proof, index %d size %d", index, size)
		mustFail(t, CheckInclusion(p[1:], index, size, leaf, root), "proof missing its first hash, index %d size %d", index, size)
	}
	mustFail(t, CheckInclusion(append(slices.Clone(p), Hash{}), index, size, leaf, root), "extended proof, index %d size %d", index, size)
	mustFail(t, CheckInclusion(append(slices.Clone(p), root), index, size, leaf, root), "proof extended by the root, index %d size %d", index, size)
	if index > 0 {
		mustFail(t, CheckInclusion(p, index-1, size, leaf, root), "index %d-1 size %d", index, size)
	}
	mustFail(t, CheckInclusion(p, index+1, size, leaf, root), "index %d+1 size %d", index, size)
	// A different size is checked against that size's true root: the pair
	// (size, root) is what a checkpoint commits to.
	if size > index+1 {
		mustFail(t, CheckInclusion(p, index, size-1, leaf, roots[size-1]), "index %d size %d-1", index, size)
	}
	if int(size+1) < len(roots) {
		mustFail(t, CheckInclusion(p, index, size+1, leaf, roots[size+1]), "index %d size %d+1", index, size)
	}
	badLeaf := leaf
	badLeaf[0] ^= 1
	mustFail(t, CheckInclusion(p, index, size, badLeaf, root), "wrong leaf, index %d size %d", index, size)
	badRoot := root
	badRoot[31] ^= 0x80
	mustFail(t, CheckInclusion(p, index, size, leaf, badRoot), "wrong root, index %d size %d", index, size)
}

func TestConsistencyExhaustive(t *testing.T) {
	tree := newRefTree(exhaustiveMax)
	roots := make([]Hash, exhaustiveMax+1)
	for n := range roots {
		roots[n] = refMTH(tree.leaves[:n])
	}
	for newSize := uint64(0); newSize <= exhaustiveMax; newSize++ {
		r := tree.reader(newSize)
		for oldSize := uint64(0); oldSize <= newSize; oldSize++ {
			tree.calls = 0
			p, err := ProveConsistency(oldSize, newSize, r)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", oldSize, newSize, err)
			}
			if tree.calls > 1 || len(p) > 0 && tree.calls != 1 {
				t.Fatalf("ProveConsistency(%d, %d) made %d reads", oldSize, newSize, tree.calls)
			}
			if want := refProof(int(oldSize), tree.leaves[:newSize]); !slices.Equal(p, ConsistencyProof(want)) {
				t.Fatalf("ProveConsistency(%d, %d) = %v, want RFC 6962 PROOF %v", oldSize, newSize, p, want)
			}
			if err := CheckConsistency(p, oldSize, newSize, roots[oldSize], roots[newSize]); err != nil {
				t.Fatalf("CheckConsistency(%d, %d): %v", oldSize, newSize, err)
			}
			if oldSize == 0 || oldSize == newSize {
				if len(p) != 0 {
					t.Fatalf("ProveConsistency(%d, %d) is not empty", oldSize, newSize)
				}
				if tree.calls != 0 {
					t.Fatalf("ProveConsistency(%d, %d) read hashes", oldSize, newSize)
				}
			}
			checkConsistencyMutations(t, p, oldSize, newSize, roots)
		}
	}
}

func checkConsistencyMutations(t *testing.T, p ConsistencyProof, oldSize, newSize uint64, roots []Hash) {
	t.Helper()
	oldRoot, newRoot := roots[oldSize], roots[newSize]
	eachFlip(p, everyByte(newSize), func() {
		mustFail(t, CheckConsistency(p, oldSize, newSize, oldRoot, newRoot), "flipped proof byte, %d to %d", oldSize, newSize)
	})
	if len(p) > 0 {
		mustFail(t, CheckConsistency(p[:len(p)-1], oldSize, newSize, oldRoot, newRoot), "truncated proof, %d to %d", oldSize, newSize)
		mustFail(t, CheckConsistency(p[1:], oldSize, newSize, oldRoot, newRoot), "proof missing its first hash, %d to %d", oldSize, newSize)
	}
	mustFail(t, CheckConsistency(append(slices.Clone(p), Hash{}), oldSize, newSize, oldRoot, newRoot), "extended proof, %d to %d", oldSize, newSize)
	mustFail(t, CheckConsistency(append(slices.Clone(p), oldRoot), oldSize, newSize, oldRoot, newRoot), "proof extended by the old root, %d to %d", oldSize, newSize)
	bad := oldRoot
	bad[0] ^= 1
	mustFail(t, CheckConsistency(p, oldSize, newSize, bad, newRoot), "wrong old root, %d to %d", oldSize, newSize)
	if oldSize == 0 {
		return // Every tree extends the empty tree: nothing else to break.
	}
	if oldSize > 1 || len(p) > 0 { // Not (1, 1) to (0, 1), which is valid.
		mustFail(t, CheckConsistency(p, oldSize-1, newSize, roots[oldSize-1], newRoot), "old size %d-1 to %d", oldSize, newSize)
	}
	if oldSize < newSize {
		mustFail(t, CheckConsistency(p, oldSize+1, newSize, roots[oldSize+1], newRoot), "old size %d+1 to %d", oldSize, newSize)
		mustFail(t, CheckConsistency(p, oldSize, newSize-1, oldRoot, roots[newSize-1]), "%d to new size %d-1", oldSize, newSize)
		mustFail(t, CheckConsistency(p, newSize, oldSize, newRoot, oldRoot), "swapped sizes %d and %d", oldSize, newSize)
	}
	if int(newSize+1) < len(roots) {
		mustFail(t, CheckConsistency(p, oldSize, newSize+1, oldRoot, roots[newSize+1]), "%d to new size %d+1", oldSize, newSize)
	}
	bad = newRoot
	bad[0] ^= 1
	mustFail(t, CheckConsistency(p, oldSize, newSize, oldRoot, bad), "wrong new root, %d to %d", oldSize, newSize)
}

func TestProveErrors(t *testing.T) {
	tree := newRefTree(8)
	r := tree.reader(8)
	if _, err := ProveInclusion(8, 8, r); err == nil {
		t.Error("ProveInclusion(8, 8) succeeded")
	}
	if _, err := ProveInclusion(0, 0, r); err == nil {
		t.Error("ProveInclusion(0, 0) succeeded")
	}
	if _, err := ProveConsistency(5, 4, r); err == nil {
		t.Error("ProveConsistency(5, 4) succeeded")
	}
	// A tree larger than the reader's data: the read error comes back.
	if _, err := ProveInclusion(3, 9, r); err == nil {
		t.Error("ProveInclusion beyond the stored tree succeeded")
	}
	if _, err := RootHash(9, r); err == nil {
		t.Error("RootHash beyond the stored tree succeeded")
	}
	boom := errors.New("boom")
	failing := HashReaderFunc(func([]NodeID) ([]Hash, error) { return nil, boom })
	if _, err := ProveConsistency(3, 8, failing); !errors.Is(err, boom) {
		t.Errorf("ProveConsistency with failing reader: %v, want wrapped %v", err, boom)
	}
	short := HashReaderFunc(func(ids []NodeID) ([]Hash, error) { return make([]Hash, len(ids)-1), nil })
	if _, err := ProveInclusion(3, 8, short); err == nil {
		t.Error("ProveInclusion accepted a short read")
	}
	if _, err := RootHash(7, short); err == nil {
		t.Error("RootHash accepted a short read")
	}
	long := HashReaderFunc(func(ids []NodeID) ([]Hash, error) { return make([]Hash, len(ids)+1), nil })
	if _, err := ProveConsistency(3, 8, long); err == nil {
		t.Error("ProveConsistency accepted a long read")
	}
	if h, err := RootHash(0, failing); err != nil || h != EmptyRoot() {
		t.Errorf("RootHash(0) = %s, %v; want the empty root without a read", h, err)
	}
}

func TestCheckEdgeCases(t *testing.T) {
	empty := EmptyRoot()
	tree := newRefTree(4)
	root4 := refMTH(tree.leaves)
	if err := CheckConsistency(nil, 0, 0, empty, empty); err != nil {
		t.Errorf("empty to empty: %v", err)
	}
	if err := CheckConsistency(nil, 0, 4, empty, root4); err != nil {
		t.Errorf("empty to 4: %v", err)
	}
	mustFail(t, CheckConsistency(nil, 0, 4, root4, root4), "size 0 with a non-empty root")
	mustFail(t, CheckConsistency(ConsistencyProof{root4}, 0, 4, empty, root4), "non-empty proof from size 0")
	mustFail(t, CheckConsistency(nil, 4, 4, root4, empty), "same size, different roots")
	mustFail(t, CheckConsistency(ConsistencyProof{root4}, 4, 4, root4, root4), "non-empty proof for same size")
	mustFail(t, CheckConsistency(nil, 5, 4, root4, root4), "old size > new size")
	mustFail(t, CheckInclusion(nil, 0, 0, LeafHash(nil), empty), "inclusion in the empty tree")
	mustFail(t, CheckInclusion(nil, 4, 4, LeafHash(nil), root4), "index == size")
	huge := make(InclusionProof, 65)
	mustFail(t, CheckInclusion(huge, 1<<62, 1<<63, LeafHash(nil), root4), "65-hash proof")
}

// TestLargeTrees round-trips proofs at sizes near powers of two and the top
// of the uint64 range, where index arithmetic could overflow. The tree has
// 2^64 equal leaves, so every node at level L has the same hash, levels[L].
func TestLargeTrees(t *testing.T) {
	var levels [64]Hash
	levels[0] = LeafHash([]byte("same"))
	for l := 1; l < len(levels); l++ {
		levels[l] = NodeHash(levels[l-1], levels[l-1])
	}
	uniform := HashReaderFunc(func(ids []NodeID) ([]Hash, error) {
		out := make([]Hash, len(ids))
		for i, id := range ids {
			out[i] = levels[id.Level]
		}
		return out, nil
	})
	root := func(size uint64) Hash {
		h, err := RootHash(size, uniform)
		if err != nil {
			t.Fatalf("RootHash(%d): %v", size, err)
		}
		return h
	}
	sizes := []uint64{1 << 20, 1<<20 + 1, 1<<32 - 1, 1 << 32, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for _, size := range sizes {
		for _, index := range []uint64{0, 1, size / 3, size - 2, size - 1} {
			p, err := ProveInclusion(index, size, uniform)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d): %v", index, size, err)
			}
			if len(p) > 64 {
				t.Fatalf("ProveInclusion(%d, %d) has %d hashes", index, size, len(p))
			}
			if err := CheckInclusion(p, index, size, levels[0], root(size)); err != nil {
				t.Fatalf("CheckInclusion(%d, %d): %v", index, size, err)
			}
			p[len(p)-1][5] ^= 1
			mustFail(t, CheckInclusion(p, index, size, levels[0], root(size)), "flipped proof, index %d size %d", index, size)
		}
		for _, old := range []uint64{1, 3, size / 2, size - 1} {
			p, err := ProveConsistency(old, size, uniform)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", old, size, err)
			}
			if err := CheckConsistency(p, old, size, root(old), root(size)); err != nil {
				t.Fatalf("CheckConsistency(%d, %d): %v", old, size, err)
			}
			p[0][5] ^= 1
			mustFail(t, CheckConsistency(p, old, size, root(old), root(size)), "flipped proof, %d to %d", old, size)
		}
	}
}
