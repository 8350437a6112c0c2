package proofs

import (
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"
)

// testonlyReader serves the published node hashes of the eight-leaf RFC 6962
// test tree (testonly.NodeHashes) and nothing else.
func testonlyReader() HashReader {
	nodes := testonly.NodeHashes()
	return HashReaderFunc(func(ids []NodeID) ([]Hash, error) {
		out := make([]Hash, len(ids))
		for i, id := range ids {
			if id.Level >= uint(len(nodes)) || id.Index >= uint64(len(nodes[id.Level])) {
				return nil, fmt.Errorf("no published hash for node %+v", id)
			}
			out[i] = Hash(nodes[id.Level][id.Index])
		}
		return out, nil
	})
}

func TestPublishedTreeVectors(t *testing.T) {
	leaves := testonly.LeafInputs()
	nodes := testonly.NodeHashes()
	roots := testonly.RootHashes()
	if EmptyRoot() != Hash(testonly.EmptyRootHash()) {
		t.Errorf("EmptyRoot() = %s, want %x", EmptyRoot(), testonly.EmptyRootHash())
	}
	for i, leaf := range leaves {
		if got, want := LeafHash(leaf), Hash(nodes[0][i]); got != want {
			t.Errorf("LeafHash(leaf %d) = %s, want %s", i, got, want)
		}
	}
	for level := 1; level < len(nodes); level++ {
		for i := range nodes[level] {
			got := NodeHash(Hash(nodes[level-1][2*i]), Hash(nodes[level-1][2*i+1]))
			if want := Hash(nodes[level][i]); got != want {
				t.Errorf("NodeHash for node (%d, %d) = %s, want %s", level, i, got, want)
			}
		}
	}
	r := testonlyReader()
	for size := range roots {
		got, err := RootHash(uint64(size), r)
		if err != nil {
			t.Fatalf("RootHash(%d): %v", size, err)
		}
		if want := Hash(roots[size]); got != want {
			t.Errorf("RootHash(%d) = %s, want %s", size, got, want)
		}
		if want := refMTH(leaves[:size]); got != want {
			t.Errorf("RootHash(%d) = %s, reference says %s", size, got, want)
		}
	}
	// The reference tree of the merkle module must agree with our proofs.
	ref := testonly.New(rfc6962.DefaultHasher)
	ref.AppendData(leaves...)
	for size := uint64(1); size <= uint64(len(leaves)); size++ {
		for index := uint64(0); index < size; index++ {
			p, err := ProveInclusion(index, size, r)
			if err != nil {
				t.Fatalf("ProveInclusion(%d, %d): %v", index, size, err)
			}
			want, err := ref.InclusionProof(index, size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(p, want, func(h Hash, b []byte) bool { return h == Hash(b) }) {
				t.Errorf("ProveInclusion(%d, %d) = %v, testonly tree says %x", index, size, p, want)
			}
		}
		for old := uint64(0); old <= size; old++ {
			p, err := ProveConsistency(old, size, r)
			if err != nil {
				t.Fatalf("ProveConsistency(%d, %d): %v", old, size, err)
			}
			want, err := ref.ConsistencyProof(old, size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(p, want, func(h Hash, b []byte) bool { return h == Hash(b) }) {
				t.Errorf("ProveConsistency(%d, %d) = %v, testonly tree says %x", old, size, p, want)
			}
		}
	}
}

// hx decodes a hex hash.
func hx(s string) Hash {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		panic("bad hex hash " + s)
	}
	return Hash(b)
}

// TestPublishedProofVectors checks hand-published RFC 6962 proofs over the
// same eight leaves, as used by the Certificate Transparency test suites
// (and the merkle module's proof tests, which number leaves from 1).
func TestPublishedProofVectors(t *testing.T) {
	var (
		l0     = hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
		l1     = hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")
		l4     = hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")
		l6     = hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f")
		h01    = hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
		h23    = hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e")
		h45    = hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a")
		h67    = hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")
		h0123  = hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")
		h4567  = hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")
		leaves = testonly.LeafInputs()
		roots  = testonly.RootHashes()
	)
	inclusion := []struct {
		index, size uint64
		proof       InclusionProof
	}{
		{0, 1, InclusionProof{}},
		{0, 8, InclusionProof{l1, h23, h4567}},
		{5, 8, InclusionProof{l4, h67, h0123}},
		{2, 3, InclusionProof{h01}},
		{1, 5, InclusionProof{l0, h23, l4}},
	}
	r := testonlyReader()
	for _, v := range inclusion {
		p, err := ProveInclusion(v.index, v.size, r)
		if err != nil || !slices.Equal(p, v.proof) {
			t.Errorf("ProveInclusion(%d, %d) = %v, %v; want %v", v.index, v.size, p, err, v.proof)
		}
		if err := CheckInclusion(v.proof, v.index, v.size, LeafHash(leaves[v.index]), Hash(roots[v.size])); err != nil {
			t.Errorf("CheckInclusion(published %d, %d): %v", v.index, v.size, err)
		}
	}
	consistency := []struct {
		old, new uint64
		proof    ConsistencyProof
	}{
		{1, 1, ConsistencyProof{}},
		{1, 8, ConsistencyProof{l1, h23, h4567}},
		{6, 8, ConsistencyProof{h45, h67, h0123}},
		{2, 5, ConsistencyProof{h23, l4}},
		{6, 7, ConsistencyProof{h45, l6, h0123}},
	}
	for _, v := range consistency {
		p, err := ProveConsistency(v.old, v.new, r)
		if err != nil || !slices.Equal(p, v.proof) {
			t.Errorf("ProveConsistency(%d, %d) = %v, %v; want %v", v.old, v.new, p, err, v.proof)
		}
		if err := CheckConsistency(v.proof, v.old, v.new, Hash(roots[v.old]), Hash(roots[v.new])); err != nil {
			t.Errorf("CheckConsistency(published %d, %d): %v", v.old, v.new, err)
		}
	}
}

// tlogStore builds golang.org/x/mod/sumdb/tlog's storage for the leaves.
func tlogStore(t *testing.T, leaves [][]byte) tlog.HashReader {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	return r
}

// TestTlogInterop checks that our proofs and golang.org/x/mod/sumdb/tlog's
// proofs are the same RFC 6962 proofs: each verifies with the other's check.
func TestTlogInterop(t *testing.T) {
	const n = 70
	tree := newRefTree(n)
	tl := tlogStore(t, tree.leaves)
	for size := uint64(1); size <= n; size++ {
		r := tree.reader(size)
		root, err := RootHash(size, r)
		if err != nil {
			t.Fatal(err)
		}
		th, err := tlog.TreeHash(int64(size), tl)
		if err != nil {
			t.Fatal(err)
		}
		if root != Hash(th) {
			t.Fatalf("size %d: RootHash %s, tlog.TreeHash %s", size, root, th)
		}
		for index := uint64(0); index < size; index++ {
			leaf := LeafHash(tree.leaves[index])
			if Hash(tlog.RecordHash(tree.leaves[index])) != leaf {
				t.Fatalf("tlog.RecordHash differs from LeafHash for leaf %d", index)
			}
			ours, err := ProveInclusion(index, size, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(toTlog(ours), int64(size), th, int64(index), tlog.Hash(leaf)); err != nil {
				t.Fatalf("tlog.CheckRecord rejects our proof of %d in %d: %v", index, size, err)
			}
			theirs, err := tlog.ProveRecord(int64(size), int64(index), tl)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckInclusion(fromTlog(theirs), index, size, leaf, root); err != nil {
				t.Fatalf("CheckInclusion rejects tlog's proof of %d in %d: %v", index, size, err)
			}
		}
		for old := uint64(1); old <= size; old++ {
			oldRoot, err := RootHash(old, r)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ProveConsistency(old, size, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(toTlog(ours), int64(size), th, int64(old), tlog.Hash(oldRoot)); err != nil {
				t.Fatalf("tlog.CheckTree rejects our proof %d to %d: %v", old, size, err)
			}
			theirs, err := tlog.ProveTree(int64(size), int64(old), tl)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckConsistency(fromTlog(theirs), old, size, oldRoot, root); err != nil {
				t.Fatalf("CheckConsistency rejects tlog's proof %d to %d: %v", old, size, err)
			}
		}
	}
}

func toTlog(p []Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

func fromTlog(p []tlog.Hash) []Hash {
	out := make([]Hash, len(p))
	for i, h := range p {
		out[i] = Hash(h)
	}
	return out
}
