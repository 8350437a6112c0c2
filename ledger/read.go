package ledger

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/proofs"
)

// TreeHead is a committed tree size and its root hash.
type TreeHead struct {
	Size uint64
	Root proofs.Hash
}

// Head returns the committed tree head. It may be ahead of the latest
// published checkpoint.
func (l *Log) Head() TreeHead {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return TreeHead{Size: l.state.size, Root: l.state.root}
}

// Entry returns the entry at index.
func (l *Log) Entry(index uint64) ([]byte, error) {
	if index >= l.Size() {
		return nil, fmt.Errorf("entry %d: %w", index, ErrNotFound)
	}
	var out []byte
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(entryKey(index))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, storageErr(err))
	}
	return out, nil
}

// IndexOf returns the index of the entry with the given leaf hash. It
// answers ErrNotFound for an entry the committed tree does not hold, so it
// never reports an index that was not durably committed.
func (l *Log) IndexOf(leaf proofs.Hash) (uint64, error) {
	size := l.Size()
	var idx uint64
	err := l.db.View(func(txn *badger.Txn) error {
		var err error
		idx, err = committedIndex(txn, leaf, size)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("leaf hash %s: %w", leaf, storageErr(err))
	}
	return idx, nil
}

// committedIndex reads the dedup record for leaf and checks it against the
// tree of the given size: the index must be inside the tree and the entry
// there must have that leaf hash. A record that fails either check is the
// leftover of a failed commit and reads as ErrNotFound, as does no record.
func committedIndex(txn *badger.Txn, leaf proofs.Hash, size uint64) (uint64, error) {
	item, err := txn.Get(leafHashKey(leaf))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	var idx uint64
	if err := item.Value(func(v []byte) error { idx = uint64FromKey(v); return nil }); err != nil {
		return 0, err
	}
	if idx >= size {
		return 0, ErrNotFound
	}
	item, err = txn.Get(entryKey(idx))
	if err != nil {
		// Inside the tree every entry exists: this is a storage fault.
		return 0, fmt.Errorf("%w: entry %d: %v", ErrUnavailable, idx, err)
	}
	var got proofs.Hash
	if err := item.Value(func(v []byte) error { got = proofs.LeafHash(v); return nil }); err != nil {
		return 0, err
	}
	if got != leaf {
		return 0, ErrNotFound
	}
	return idx, nil
}

// Entries returns count entries starting at index start, all of which must
// be committed.
func (l *Log) Entries(start uint64, count int) ([][]byte, error) {
	if count <= 0 || start+uint64(count) > l.Size() || start+uint64(count) < start {
		return nil, fmt.Errorf("entries [%d, +%d): %w", start, count, ErrNotFound)
	}
	out := make([][]byte, 0, count)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: []byte{tagEntry}})
		defer it.Close()
		want := start
		for it.Seek(entryKey(start)); it.Valid() && len(out) < count; it.Next() {
			if got := uint64FromKey(it.Item().Key()[1:]); got != want {
				return fmt.Errorf("entry %d missing (found %d)", want, got)
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v)
			want++
		}
		if len(out) != count {
			return fmt.Errorf("entries from %d: found %d of %d", start, len(out), count)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return out, nil
}

// HashTile returns the C2SP tlog-tiles hash tile at (level, index) with the
// given width (1..256). It fails with ErrNotFound if the tree has not yet
// grown enough to fill that width.
func (l *Log) HashTile(level uint8, index uint64, width int) ([]byte, error) {
	v, err := l.readTile(level, index)
	if err != nil {
		return nil, err
	}
	if v.width() < width {
		return nil, fmt.Errorf("tile %d/%d width %d: %w", level, index, width, ErrNotFound)
	}
	return v.base(width), nil
}

// EntryBundle returns the C2SP tlog-tiles entry bundle at index with the
// given width (1..256).
func (l *Log) EntryBundle(index uint64, width int) ([]byte, error) {
	if index > (^uint64(0))/proofs.TileWidth {
		return nil, fmt.Errorf("entry bundle %d: %w", index, ErrNotFound)
	}
	entries, err := l.Entries(index*proofs.TileWidth, width)
	if err != nil {
		return nil, err
	}
	return proofs.MarshalEntryBundle(entries)
}

// readTile reads a stored tile, from the cache when it is full.
func (l *Log) readTile(level uint8, index uint64) (tileView, error) {
	id := tileID{level, index}
	if v, ok := l.tiles.Get(id); ok {
		return v, nil
	}
	var v tileView
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(tileKey(level, index))
		if err != nil {
			return err
		}
		raw, err := item.ValueCopy(nil)
		v = tileView(raw)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tile %d/%d: %w", level, index, storageErr(err))
	}
	if err := v.check(); err != nil {
		return nil, fmt.Errorf("%w: tile %d/%d: %w", ErrUnavailable, level, index, err)
	}
	if v.width() == proofs.TileWidth {
		l.tiles.Add(id, v)
	}
	return v, nil
}

// ReadHashes implements proofs.HashReader over the stored tiles. Every
// requested node must be a complete subtree of the committed tree.
func (l *Log) ReadHashes(ids []proofs.NodeID) ([]proofs.Hash, error) {
	out := make([]proofs.Hash, len(ids))
	views := make(map[tileID]tileView, 4)
	for i, id := range ids {
		tl, ti, inner, pos := tileAddress(id.Level, id.Index)
		key := tileID{tl, ti}
		v, ok := views[key]
		if !ok {
			var err error
			if v, err = l.readTile(tl, ti); err != nil {
				return nil, err
			}
			views[key] = v
		}
		h, ok := v.hash(inner, pos)
		if !ok {
			return nil, fmt.Errorf("node %d/%d: %w", id.Level, id.Index, ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

// InclusionProof proves entry index is in the tree of the given size.
func (l *Log) InclusionProof(index, size uint64) (proofs.InclusionProof, error) {
	if size > l.Size() {
		return nil, fmt.Errorf("inclusion proof at size %d: %w", size, ErrBeyondTree)
	}
	if index >= size {
		return nil, fmt.Errorf("inclusion proof for index %d at size %d: %w", index, size, ErrBeyondTree)
	}
	return proofs.ProveInclusion(index, size, l)
}

// ConsistencyProof proves the tree of size oldSize is a prefix of the tree
// of size newSize.
func (l *Log) ConsistencyProof(oldSize, newSize uint64) (proofs.ConsistencyProof, error) {
	if newSize > l.Size() {
		return nil, fmt.Errorf("consistency proof to size %d: %w", newSize, ErrBeyondTree)
	}
	if oldSize > newSize {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", oldSize, newSize, ErrBeyondTree)
	}
	return proofs.ProveConsistency(oldSize, newSize, l)
}

// storageErr maps Badger's not-found to ErrNotFound and anything else to
// ErrUnavailable.
func storageErr(err error) error {
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// ErrNotCovered is returned when an entry exists but the checkpoint asked
// for does not cover it yet.
var ErrNotCovered = errors.New("not covered by the checkpoint")

// Bundle returns the C2SP tlog-proof of entry index, self-contained (its
// extra line carries the entry), under the latest published checkpoint,
// or under the one published at atSize when atSize is not zero.
func (l *Log) Bundle(index, atSize uint64) (proofs.Bundle, error) {
	cp, size, _ := l.Checkpoint()
	if atSize != 0 {
		var err error
		if cp, err = l.CheckpointAt(atSize); err != nil {
			return proofs.Bundle{}, err
		}
		size = atSize
	}
	if index >= size {
		if index < l.Size() {
			return proofs.Bundle{}, fmt.Errorf("entry %d at checkpoint size %d: %w", index, size, ErrNotCovered)
		}
		return proofs.Bundle{}, fmt.Errorf("entry %d: %w", index, ErrNotFound)
	}
	e, err := l.Entry(index)
	if err != nil {
		return proofs.Bundle{}, err
	}
	p, err := l.InclusionProof(index, size)
	if err != nil {
		return proofs.Bundle{}, err
	}
	return proofs.Bundle{Index: index, Proof: p, Extra: e, Checkpoint: cp}, nil
}
