package verify

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentledger/agentledger/proofs"
)

// TileSource serves a log's C2SP tlog-tiles: hash tiles and entry bundles
// (ledger/client.Client does, and so does a directory mirror). Nothing it
// returns is trusted.
type TileSource interface {
	Tile(ctx context.Context, t proofs.Tile) ([]byte, error)
}

// TileSourceFunc is a function that serves as a [TileSource].
type TileSourceFunc func(ctx context.Context, t proofs.Tile) ([]byte, error)

// Tile returns f(ctx, t).
func (f TileSourceFunc) Tile(ctx context.Context, t proofs.Tile) ([]byte, error) { return f(ctx, t) }

// ErrEntriesMismatch: the entries a log served are not those of the
// checkpoint it signed. Errors that report it are [*EntriesMismatchError].
var ErrEntriesMismatch = errors.New("served entries do not match the checkpoint")

// An EntriesMismatchError reports a run of served entries that is not part
// of the verified checkpoint's tree. It keeps the checkpoint, and, when the
// log's own hash tiles (proved against that checkpoint) tell, the first
// entry that differs.
type EntriesMismatchError struct {
	Checkpoint proofs.Checkpoint
	From, To   uint64 // the run [From, To) that failed
	Entry      uint64 // the first entry that differs, if Known
	Known      bool
}

func (e *EntriesMismatchError) Error() string {
	s := fmt.Sprintf("%v: entries [%d, %d) do not hash to the root of the checkpoint at tree size %d", ErrEntriesMismatch, e.From, e.To, e.Checkpoint.Size)
	if e.Known {
		s += fmt.Sprintf("; entry %d does not match its hash tile", e.Entry)
	}
	return s
}

// Unwrap returns ErrEntriesMismatch.
func (e *EntriesMismatchError) Unwrap() error { return ErrEntriesMismatch }

// Runs: entries are verified, and then handed out, a run of whole entry
// bundles at a time, bounded in count and in bytes.
const (
	maxRunBundles = 16
	maxRunBytes   = 8 << 20
)

// An EntryReader reads the entries of a log up to a checkpoint the caller
// has verified, and hands out an entry only once it is proved to be that
// checkpoint's entry at that index: every reader of entries (the follower,
// the full audit, reconcile, benchmarks) goes through it, so the check is
// written once.
//
// Entries are read from entry bundles a run at a time. A run's leaf hashes
// extend the compact range of everything read before it; for the run that
// reaches the checkpoint's size, the range's root must be the checkpoint's
// root. A run in the middle of the tree is proved with the hashes of the
// complete subtrees to its right, read from the log's hash tiles (which
// are themselves proved against the checkpoint by golang.org/x/mod's
// tlog). Either way, an entry is yielded only if collision resistance
// makes it the checkpoint's: nothing unverified reaches the caller.
//
// An EntryReader is for one pass by one goroutine.
type EntryReader struct {
	src   TileSource
	cp    proofs.Checkpoint
	tree  *proofs.Range
	tiles *provedTiles
	err   error
}

// NewEntryReader returns a reader of the entries [done.Size(), cp.Size)
// of the log that src serves. cp MUST be a checkpoint the caller has
// verified (its signature, and its consistency with what it trusted
// before). done is the compact range of the entries before those, already
// verified (a follower's or an audit's saved range); nil means none, and
// reading starts at entry 0. The reader works on a copy of done.
func NewEntryReader(src TileSource, cp proofs.Checkpoint, done *proofs.Range) (*EntryReader, error) {
	if done == nil {
		done = proofs.NewRange()
	}
	if done.Size() > cp.Size {
		return nil, fmt.Errorf("read entries: %d already read, beyond the checkpoint's tree size %d", done.Size(), cp.Size)
	}
	if cp.Size > math.MaxInt64 {
		return nil, fmt.Errorf("read entries: tree size %d is too large", cp.Size)
	}
	return &EntryReader{src: src, cp: cp, tree: done.Clone(), tiles: newProvedTiles(src, cp)}, nil
}

// Entries yields each entry from the reader's start to the checkpoint's
// size, with its index, in index order. It stops at the first error,
// which [EntryReader.Err] then reports; check it after the loop. An entry
// the caller stops at or after is not counted as read.
func (r *EntryReader) Entries(ctx context.Context) iter.Seq2[uint64, []byte] {
	return func(yield func(uint64, []byte) bool) {
		for r.err == nil && r.tree.Size() < r.cp.Size {
			first := r.tree.Size()
			run, err := r.readRun(ctx, first)
			if err != nil {
				r.err = err
				return
			}
			before := r.tree
			if r.tree, err = r.prove(ctx, first, run); err != nil {
				r.tree, r.err = before, err
				return
			}
			for i, e := range run {
				if !yield(first+uint64(i), e) {
					r.tree = before
					r.appendLeaves(run[:i])
					return
				}
			}
		}
	}
}

// Err is the error that stopped [EntryReader.Entries], if any.
func (r *EntryReader) Err() error { return r.err }

// Range returns a copy of the compact range of every entry verified and
// handed out so far (with the entries before the reader's start): what a
// caller saves to resume from.
func (r *EntryReader) Range() *proofs.Range { return r.tree.Clone() }

// Checkpoint is the checkpoint the reader verifies entries against.
func (r *EntryReader) Checkpoint() proofs.Checkpoint { return r.cp }

func (r *EntryReader) appendLeaves(entries [][]byte) {
	for _, e := range entries {
		_ = r.tree.Append(proofs.LeafHash(e), nil) // a leaf never fails to append
	}
}

// readRun reads whole entry bundles from first on, up to maxRunBundles or
// maxRunBytes, and returns the entries from first.
func (r *EntryReader) readRun(ctx context.Context, first uint64) ([][]byte, error) {
	var run [][]byte
	bytes := 0
	for next := first; next < r.cp.Size && len(run) < maxRunBundles*proofs.TileWidth && bytes < maxRunBytes; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bundle := next / proofs.TileWidth
		width := min(r.cp.Size-bundle*proofs.TileWidth, proofs.TileWidth)
		data, err := r.src.Tile(ctx, proofs.Tile{Entries: true, Index: bundle, Width: uint16(width)})
		if err != nil {
			return nil, fmt.Errorf("fetch entry bundle %d: %w", bundle, err)
		}
		entries, err := proofs.ParseEntryBundle(data, int(width))
		if err != nil {
			return nil, fmt.Errorf("entry bundle %d: %w", bundle, err)
		}
		entries = entries[next-bundle*proofs.TileWidth:]
		for _, e := range entries {
			bytes += len(e)
		}
		run = append(run, entries...)
		next += uint64(len(entries))
	}
	return run, nil
}

// prove returns the reader's range extended by run, the entries from
// first, if the result is a prefix of the checkpoint's tree.
func (r *EntryReader) prove(ctx context.Context, first uint64, run [][]byte) (*proofs.Range, error) {
	next := r.tree.Clone()
	for _, e := range run {
		if err := next.Append(proofs.LeafHash(e), nil); err != nil {
			return nil, err
		}
	}
	end := next.Size()
	var right []proofs.Hash
	if end < r.cp.Size {
		var err error
		if right, err = r.tiles.hashes(ctx, proofs.RangeNodes(end, r.cp.Size)); err != nil {
			return nil, fmt.Errorf("proving entries [%d, %d) against tree size %d: %w", first, end, r.cp.Size, err)
		}
	}
	root, err := next.RootOf(r.cp.Size, right)
	if err != nil {
		return nil, err
	}
	if root != r.cp.Root {
		return nil, r.mismatch(ctx, first, run)
	}
	return next, nil
}

// mismatch explains a run that does not hash to the checkpoint: it names
// the first entry whose leaf hash is not the log's proved level-0 hash.
func (r *EntryReader) mismatch(ctx context.Context, first uint64, run [][]byte) error {
	e := &EntriesMismatchError{Checkpoint: r.cp, From: first, To: first + uint64(len(run))}
	ids := make([]proofs.NodeID, len(run))
	for i := range run {
		ids[i] = proofs.NodeID{Level: 0, Index: first + uint64(i)}
	}
	leaves, err := r.tiles.hashes(ctx, ids)
	if err != nil {
		return e // the tiles do not tell
	}
	for i, entry := range run {
		if proofs.LeafHash(entry) != leaves[i] {
			e.Entry, e.Known = first+uint64(i), true
			break
		}
	}
	return e
}

// provedTiles reads the hash tiles of one checkpoint's tree from a
// source, through golang.org/x/mod's tlog, which proves every tile against
// the checkpoint's root before a hash from it is used. It keeps the tiles
// it has proved: at most a few hundred (the right edge, and the tiles a
// pass moves through).
type provedTiles struct {
	src   TileSource
	tree  tlog.Tree
	tiles map[tlog.Tile][]byte
}

const maxProvedTiles = 256

func newProvedTiles(src TileSource, cp proofs.Checkpoint) *provedTiles {
	return &provedTiles{src: src, tree: tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Root)}, tiles: map[tlog.Tile][]byte{}}
}

// hashes returns the hashes of complete subtrees of the tree.
func (p *provedTiles) hashes(ctx context.Context, ids []proofs.NodeID) ([]proofs.Hash, error) {
	indexes := make([]int64, len(ids))
	for i, id := range ids {
		indexes[i] = tlog.StoredHashIndex(int(id.Level), int64(id.Index))
	}
	hashes, err := tlog.TileHashReader(p.tree, tileReader{ctx: ctx, p: p}).ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	out := make([]proofs.Hash, len(hashes))
	for i, h := range hashes {
		out[i] = proofs.Hash(h)
	}
	return out, nil
}

// proveConsistency returns the consistency proof from the tree of size
// old to the tree, computed from the tiles.
func (p *provedTiles) proveConsistency(ctx context.Context, old uint64) (proofs.ConsistencyProof, error) {
	proof, err := tlog.ProveTree(p.tree.N, int64(old), tlog.TileHashReader(p.tree, tileReader{ctx: ctx, p: p}))
	if err != nil {
		return nil, err
	}
	out := make(proofs.ConsistencyProof, len(proof))
	for i, h := range proof {
		out[i] = proofs.Hash(h)
	}
	return out, nil
}

// tileReader is a tlog.TileReader over a provedTiles' source.
type tileReader struct {
	ctx context.Context
	p   *provedTiles
}

func (t tileReader) Height() int { return 8 }

func (t tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		if b, ok := t.p.tiles[tile]; ok {
			out[i] = b
			continue
		}
		if tile.H != 8 || tile.L < 0 || tile.W < 1 || tile.W > proofs.TileWidth {
			return nil, fmt.Errorf("unexpected tile %+v", tile)
		}
		b, err := t.p.src.Tile(t.ctx, proofs.Tile{Level: uint8(tile.L), Index: uint64(tile.N), Width: uint16(tile.W)})
		if err != nil {
			return nil, fmt.Errorf("fetch hash tile %s: %w", tile.Path(), err)
		}
		if len(b) != tile.W*proofs.HashSize {
			return nil, fmt.Errorf("hash tile %s is %d bytes, want %d", tile.Path(), len(b), tile.W*proofs.HashSize)
		}
		out[i] = b
	}
	return out, nil
}

func (t tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	if len(t.p.tiles)+len(tiles) > maxProvedTiles {
		clear(t.p.tiles)
	}
	for i, tile := range tiles {
		t.p.tiles[tile] = data[i]
	}
}
