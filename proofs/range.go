package proofs

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// rangeFactory makes RFC 6962 compact ranges.
var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// A Range is the right edge of a tree of Size leaves: the hashes of the
// fewest complete subtrees that cover leaves [0, Size), largest first (a
// compact range, RFC 6962 hashing). From it the tree's root is computed,
// and the tree grows one leaf at a time without any other stored hash.
//
// A Range owns its hashes: [Range.Hashes] returns a copy, and
// [Range.Clone] a range that shares nothing with the original, so a range
// that a failed update has extended can be thrown away without changing
// the one it was cloned from. The zero value is not usable; start from
// [NewRange] or [RestoreRange].
type Range struct {
	r *compact.Range
}

// NewRange returns the range of the empty tree.
func NewRange() *Range {
	return &Range{r: rangeFactory.NewEmptyRange(0)}
}

// RestoreRange rebuilds the range of a tree of size leaves from its hashes,
// as [Range.Hashes] returned them. It fails unless there are exactly as
// many hashes as the range of that size has nodes. Nothing checks the
// hashes themselves: compare the restored range's root with a checkpoint.
func RestoreRange(size uint64, hashes []Hash) (*Range, error) {
	if n := compact.RangeSize(0, size); n != len(hashes) {
		return nil, fmt.Errorf("compact range of tree size %d has %d hashes, got %d", size, n, len(hashes))
	}
	r, err := rangeFactory.NewRange(0, size, toBytes(clone(hashes)))
	if err != nil {
		return nil, fmt.Errorf("compact range of tree size %d: %w", size, err)
	}
	return &Range{r: r}, nil
}

// Size is the number of leaves the range covers.
func (r *Range) Size() uint64 { return r.r.End() }

// Hashes returns a copy of the range's hashes, largest subtree first.
func (r *Range) Hashes() []Hash {
	hs := r.r.Hashes()
	out := make([]Hash, len(hs))
	for i, h := range hs {
		out[i] = Hash(h)
	}
	return out
}

// Clone returns a range equal to r that shares no memory with it.
func (r *Range) Clone() *Range {
	c, err := RestoreRange(r.Size(), r.Hashes())
	if err != nil {
		panic(fmt.Sprintf("proofs: cloning a valid range: %v", err)) // cannot happen
	}
	return c
}

// Append adds the leaf with hash leaf at index Size. If visit is not nil,
// it is called with every node the leaf completes, the leaf itself first
// and then upwards, so that a store can keep every complete subtree's hash
// (the ledger's hash tiles). An error from visit stops the append and is
// returned; the range is then not usable.
func (r *Range) Append(leaf Hash, visit func(NodeID, Hash) error) error {
	var verr error
	var fn compact.VisitFn
	if visit != nil {
		fn = func(id compact.NodeID, h []byte) {
			if verr == nil {
				verr = visit(NodeID{Level: id.Level, Index: id.Index}, Hash(h))
			}
		}
	}
	if err := r.r.Append(leaf[:], fn); err != nil {
		return err
	}
	return verr
}

// Root returns the root hash of the tree the range covers: [EmptyRoot] for
// the empty tree.
func (r *Range) Root() Hash {
	if r.Size() == 0 {
		return EmptyRoot()
	}
	root, err := r.r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("proofs: root of a valid range: %v", err)) // cannot happen
	}
	return Hash(root)
}

// RangeNodes returns the nodes of the compact range [begin, end): the
// fewest complete subtrees that cover those leaves, left to right. Their
// hashes, read from a log's tiles, extend a Range of size begin to the
// tree of size end ([Range.RootOf]).
func RangeNodes(begin, end uint64) []NodeID {
	ids := compact.RangeNodes(begin, end, nil)
	out := make([]NodeID, len(ids))
	for i, id := range ids {
		out[i] = NodeID{Level: id.Level, Index: id.Index}
	}
	return out
}

// RootOf returns the root of the tree of size leaves whose first r.Size()
// leaves are those of r and whose remaining leaves are covered by right:
// the hashes of RangeNodes(r.Size(), size), in that order. If the root
// equals a checkpoint's, then r (with right) is proved to be a prefix of
// that checkpoint's tree: that is how a verifier checks entries in the
// middle of a tree without reading every leaf after them. r is not
// changed.
func (r *Range) RootOf(size uint64, right []Hash) (Hash, error) {
	begin := r.Size()
	if size < begin {
		return Hash{}, fmt.Errorf("tree size %d is smaller than the range's %d", size, begin)
	}
	if size == begin {
		if len(right) != 0 {
			return Hash{}, errors.New("hashes given for an empty right part")
		}
		return r.Root(), nil
	}
	if n := compact.RangeSize(begin, size); n != len(right) {
		return Hash{}, fmt.Errorf("the range [%d, %d) has %d nodes, got %d hashes", begin, size, n, len(right))
	}
	tail, err := rangeFactory.NewRange(begin, size, toBytes(clone(right)))
	if err != nil {
		return Hash{}, err
	}
	whole := r.Clone().r
	if err := whole.AppendRange(tail, nil); err != nil {
		return Hash{}, err
	}
	root, err := whole.GetRootHash(nil)
	if err != nil {
		return Hash{}, err
	}
	return Hash(root), nil
}

func clone(hs []Hash) []Hash { return append([]Hash(nil), hs...) }
