package proofs

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// ErrProofFailed is wrapped by every error that reports a proof which does
// not prove what it claims: a wrong hash, a proof of the wrong length, an
// index outside the tree, or roots that cannot be connected.
// Test for it with errors.Is.
var ErrProofFailed = errors.New("proof verification failed")

// An InclusionProof is an RFC 6962 audit path (RFC 6962, section 2.1.1):
// the sibling hashes from the leaf's sibling up to a child of the root.
type InclusionProof []Hash

// A ConsistencyProof is an RFC 6962 consistency proof (RFC 6962, section
// 2.1.2) between an older and a newer size of the same tree.
type ConsistencyProof []Hash

// ProveInclusion returns the proof that the leaf at index is included in the
// tree of the first size leaves. It reads the needed subtree hashes from r in
// a single call. It requires index < size.
func ProveInclusion(index, size uint64, r HashReader) (InclusionProof, error) {
	if index >= size {
		return nil, fmt.Errorf("inclusion proof: index %d out of range for tree size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	hashes, err := rehash(nodes, r)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof for index %d in tree size %d: %w", index, size, err)
	}
	return InclusionProof(hashes), nil
}

// CheckInclusion verifies that p proves the leaf hash leaf is at index in the
// tree of the given size whose root hash is root. On failure the error wraps
// [ErrProofFailed].
func CheckInclusion(p InclusionProof, index, size uint64, leaf, root Hash) error {
	if index >= size {
		return fmt.Errorf("%w: index %d out of range for tree size %d", ErrProofFailed, index, size)
	}
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf[:], toBytes(p), root[:])
	if err != nil {
		return fmt.Errorf("%w: inclusion of index %d in tree size %d: %w", ErrProofFailed, index, size, explain(err, false, root))
	}
	return nil
}

// ProveConsistency returns the proof that the tree of the first oldSize
// leaves is a prefix of the tree of the first newSize leaves. It reads the
// needed subtree hashes from r in a single call. The proof is empty, and r is
// not called, when oldSize is 0 or equal to newSize. It requires
// oldSize <= newSize.
func ProveConsistency(oldSize, newSize uint64, r HashReader) (ConsistencyProof, error) {
	if oldSize > newSize {
		return nil, fmt.Errorf("consistency proof: old size %d > new size %d", oldSize, newSize)
	}
	nodes, err := proof.Consistency(oldSize, newSize)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	hashes, err := rehash(nodes, r)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from size %d to %d: %w", oldSize, newSize, err)
	}
	return ConsistencyProof(hashes), nil
}

// CheckConsistency verifies that p proves the tree of size oldSize with root
// oldRoot is a prefix of the tree of size newSize with root newRoot.
//
// When oldSize == newSize the proof must be empty and the roots equal. When
// oldSize is 0 the proof must be empty and oldRoot must be [EmptyRoot]: any
// tree extends the empty tree. On failure the error wraps [ErrProofFailed].
func CheckConsistency(p ConsistencyProof, oldSize, newSize uint64, oldRoot, newRoot Hash) error {
	if oldSize > newSize {
		return fmt.Errorf("%w: old size %d > new size %d", ErrProofFailed, oldSize, newSize)
	}
	if oldSize == 0 && oldRoot != EmptyRoot() {
		return fmt.Errorf("%w: tree size 0 with root %s, want the empty root", ErrProofFailed, oldRoot)
	}
	if oldSize == newSize && oldRoot != newRoot {
		return fmt.Errorf("%w: tree size %d with two roots %s and %s", ErrProofFailed, oldSize, oldRoot, newRoot)
	}
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, newSize, toBytes(p), oldRoot[:], newRoot[:])
	if err != nil {
		return fmt.Errorf("%w: consistency from size %d to %d: %w", ErrProofFailed, oldSize, newSize, explain(err, true, oldRoot))
	}
	return nil
}

// explain rewrites the merkle verifier's root mismatch error, which prints
// hashes as decimal byte lists over several lines, in this package's terms.
// For a consistency proof it says which root failed to match.
func explain(err error, consistency bool, oldRoot Hash) error {
	var m proof.RootMismatchError
	if !errors.As(err, &m) || len(m.CalculatedRoot) != HashSize || len(m.ExpectedRoot) != HashSize {
		return err
	}
	which := "root"
	if consistency {
		which = "new root"
		if Hash(m.ExpectedRoot) == oldRoot {
			which = "old root"
		}
	}
	return fmt.Errorf("computed %s %s, want %s", which, Hash(m.CalculatedRoot), Hash(m.ExpectedRoot))
}

// RootHash returns the root hash of the tree of the first size leaves,
// reading the hashes of its complete subtrees from r in a single call.
// The root of the empty tree is [EmptyRoot], and r is not called for it.
func RootHash(size uint64, r HashReader) (Hash, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := readHashes(r, ids)
	if err != nil {
		return Hash{}, fmt.Errorf("root hash of tree size %d: %w", size, err)
	}
	// The nodes run left to right with decreasing level; RFC 6962 merges the
	// smaller subtrees on the right first.
	root := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		root = NodeHash(hashes[i], root)
	}
	return root, nil
}

// rehash fetches the hashes of nodes.IDs with one call to r and folds the
// ephemeral node, if any, into the proof.
func rehash(nodes proof.Nodes, r HashReader) ([]Hash, error) {
	if len(nodes.IDs) == 0 {
		return []Hash{}, nil
	}
	hashes, err := readHashes(r, nodes.IDs)
	if err != nil {
		return nil, err
	}
	folded, err := nodes.Rehash(toBytes(hashes), rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, err
	}
	out := make([]Hash, len(folded))
	for i, b := range folded {
		if len(b) != HashSize {
			return nil, fmt.Errorf("internal error: rehashed node of %d bytes", len(b))
		}
		out[i] = Hash(b)
	}
	return out, nil
}

// readHashes asks r for the given nodes and checks the answer's length.
func readHashes(r HashReader, ids []compact.NodeID) ([]Hash, error) {
	want := make([]NodeID, len(ids))
	for i, id := range ids {
		want[i] = NodeID(id)
	}
	hashes, err := r.ReadHashes(want)
	if err != nil {
		return nil, fmt.Errorf("reading %d node hashes: %w", len(want), err)
	}
	if len(hashes) != len(want) {
		return nil, fmt.Errorf("hash reader returned %d hashes for %d nodes", len(hashes), len(want))
	}
	return hashes, nil
}

// toBytes returns views of the hashes as byte slices. The slices alias hs.
func toBytes(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
