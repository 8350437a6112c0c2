package proofs

import (
	"testing"
)

// TestRangeExhaustive grows a range leaf by leaf and checks, at every
// size up to 130, its root against the reference MTH, that a restored
// copy of its hashes has the same root, and that every node it visits is
// the reference hash of that subtree.
func TestRangeExhaustive(t *testing.T) {
	const n = 130
	tree := newRefTree(n)
	r := NewRange()
	if r.Size() != 0 || r.Root() != EmptyRoot() {
		t.Fatalf("empty range: size %d root %s", r.Size(), r.Root())
	}
	for i := 0; i < n; i++ {
		visited := 0
		err := r.Append(LeafHash(tree.leaves[i]), func(id NodeID, h Hash) error {
			begin, end := id.Coverage()
			if end != uint64(i+1) {
				t.Errorf("leaf %d: visited node %+v ending at %d", i, id, end)
			}
			if want := refMTH(tree.leaves[begin:end]); h != want {
				t.Errorf("leaf %d: node %+v hash %s, want %s", i, id, h, want)
			}
			visited++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if visited == 0 {
			t.Errorf("leaf %d: no node visited", i)
		}
		size := uint64(i + 1)
		if got, want := r.Root(), refMTH(tree.leaves[:size]); got != want {
			t.Fatalf("size %d: root %s, want %s", size, got, want)
		}
		restored, err := RestoreRange(size, r.Hashes())
		if err != nil {
			t.Fatal(err)
		}
		if restored.Root() != r.Root() || restored.Size() != size {
			t.Fatalf("size %d: restored range differs", size)
		}
	}
}

// TestRangeRootOfEverySplit proves, for every tree size up to 70 and
// every split point, that a range of the left part plus the reference
// hashes of the right part's nodes give the tree's root, and that any
// changed right hash, a missing one or an extra one does not.
func TestRangeRootOfEverySplit(t *testing.T) {
	const n = 70
	tree := newRefTree(n)
	for size := uint64(0); size <= n; size++ {
		want := refMTH(tree.leaves[:size])
		left := NewRange()
		for begin := uint64(0); begin <= size; begin++ {
			right, err := tree.ReadHashes(RangeNodes(begin, size))
			if err != nil {
				t.Fatal(err)
			}
			got, err := left.RootOf(size, right)
			if err != nil {
				t.Fatalf("size %d split %d: %v", size, begin, err)
			}
			if got != want {
				t.Fatalf("size %d split %d: root %s, want %s", size, begin, got, want)
			}
			for i := range right {
				bad := append([]Hash(nil), right...)
				bad[i][i%HashSize] ^= 1
				if got, err := left.RootOf(size, bad); err == nil && got == want {
					t.Fatalf("size %d split %d: flipped right hash %d still gives the root", size, begin, i)
				}
			}
			if len(right) > 0 {
				if _, err := left.RootOf(size, right[1:]); err == nil {
					t.Fatalf("size %d split %d: a missing right hash accepted", size, begin)
				}
			}
			if _, err := left.RootOf(size, append(right, Hash{})); err == nil {
				t.Fatalf("size %d split %d: an extra right hash accepted", size, begin)
			}
			if left.Size() != begin || left.Root() != refMTH(tree.leaves[:begin]) {
				t.Fatalf("size %d split %d: RootOf changed the range", size, begin)
			}
			if begin < size {
				if err := left.Append(LeafHash(tree.leaves[begin]), nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := NewRange().RootOf(0, []Hash{{}}); err == nil {
		t.Error("hashes for an empty right part accepted")
	}
	r := NewRange()
	_ = r.Append(LeafHash([]byte("x")), nil)
	if _, err := r.RootOf(0, nil); err == nil {
		t.Error("a tree smaller than the range accepted")
	}
}

// TestRangeCloneSharesNothing is the regression test of the aliasing a
// refused follower refresh once caused: extending a clone, or the slices
// Hashes returned, must never change the original.
func TestRangeCloneSharesNothing(t *testing.T) {
	tree := newRefTree(40)
	r := NewRange()
	for i := 0; i < 7; i++ { // 7 leaves: three nodes in the range
		_ = r.Append(LeafHash(tree.leaves[i]), nil)
	}
	root, hashes := r.Root(), r.Hashes()
	c := r.Clone()
	for i := 7; i < 40; i++ {
		_ = c.Append(LeafHash(tree.leaves[i]), nil)
	}
	got := r.Hashes()
	got[0][0] ^= 1
	if r.Root() != root || r.Size() != 7 {
		t.Fatal("extending a clone or editing Hashes changed the original range")
	}
	if h := r.Hashes(); h[0] != hashes[0] || len(h) != 3 {
		t.Fatalf("original hashes changed: %v", h)
	}
	if c.Root() != refMTH(tree.leaves) {
		t.Fatal("clone has the wrong root")
	}
	restored, err := RestoreRange(7, hashes)
	if err != nil {
		t.Fatal(err)
	}
	hashes[0][0] ^= 1 // the caller's slice, after restoring
	if restored.Root() != root {
		t.Fatal("RestoreRange kept the caller's slice")
	}
}

func TestRestoreRangeRefusesWrongCounts(t *testing.T) {
	for _, c := range []struct {
		size uint64
		n    int
	}{{0, 1}, {1, 0}, {7, 2}, {7, 4}, {8, 2}} {
		if _, err := RestoreRange(c.size, make([]Hash, c.n)); err == nil {
			t.Errorf("size %d with %d hashes accepted", c.size, c.n)
		}
	}
}

// TestRangeVisitError stops an append at the visitor's error.
func TestRangeVisitError(t *testing.T) {
	r := NewRange()
	want := errTest
	if err := r.Append(LeafHash(nil), func(NodeID, Hash) error { return want }); err != want {
		t.Fatalf("got %v, want the visitor's error", err)
	}
}

var errTest = errorString("test error")

type errorString string

func (e errorString) Error() string { return string(e) }
