package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/proofs"
)

// sequencer owns the write side of the tree: the compact range of the right
// edge and the rightmost (growing) hash tile of every tile level. Only the
// sequencer goroutine uses it.
type sequencer struct {
	db      *badger.DB
	store   batchCommitter
	indexer Indexer // may be nil
	state   treeState
	rng     *proofs.Range
	edge    map[uint8]*edgeTile
	// finished holds tiles that filled up during the current batch and were
	// replaced at the edge; they are written with the batch.
	finished []*edgeTile
}

type edgeTile struct {
	level uint8
	index uint64
	tile  *storedTile
	dirty bool
}

// newSequencer rebuilds the write-side state from the committed tree state
// and the stored right-edge tiles.
func newSequencer(db *badger.DB, store batchCommitter, state treeState, indexer Indexer) (*sequencer, error) {
	rng, err := proofs.RestoreRange(state.size, state.edges)
	if err != nil {
		return nil, fmt.Errorf("rebuild compact range: %w", err)
	}
	s := &sequencer{db: db, store: store, indexer: indexer, state: state, rng: rng, edge: map[uint8]*edgeTile{}}
	err = db.View(func(txn *badger.Txn) error {
		// The tile at tile level k holding the right edge is the one that
		// holds node (8k, size>>8k), if any part of it exists.
		for k := uint8(0); uint(k)*tileHeight < 64; k++ {
			nodes := state.size >> (uint(k) * tileHeight)
			if nodes == 0 {
				break
			}
			idx := nodes / proofs.TileWidth
			if nodes%proofs.TileWidth == 0 {
				continue // the edge tile at this level is full; the next starts empty
			}
			item, err := txn.Get(tileKey(k, idx))
			if err != nil {
				return fmt.Errorf("read edge tile %d/%d: %w", k, idx, err)
			}
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			t, err := tileView(raw).unmarshal()
			if err != nil {
				return fmt.Errorf("edge tile %d/%d: %w", k, idx, err)
			}
			if uint64(t.width()) != nodes%proofs.TileWidth {
				return fmt.Errorf("edge tile %d/%d has width %d, tree state wants %d", k, idx, t.width(), nodes%proofs.TileWidth)
			}
			s.edge[k] = &edgeTile{level: k, index: idx, tile: t}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// visit records a newly complete tree node in its hash tile.
func (s *sequencer) visit(id proofs.NodeID, hash proofs.Hash) error {
	tl, ti, inner, pos := tileAddress(id.Level, id.Index)
	e := s.edge[tl]
	if e == nil || e.index != ti {
		if e != nil {
			if e.tile.width() != proofs.TileWidth {
				return fmt.Errorf("tile %d/%d left partial at width %d", tl, e.index, e.tile.width())
			}
			if e.dirty {
				s.finished = append(s.finished, e)
			}
		}
		if inner != 0 || pos != 0 {
			return fmt.Errorf("tile %d/%d starts at inner level %d position %d", tl, ti, inner, pos)
		}
		e = &edgeTile{level: tl, index: ti, tile: &storedTile{}}
		s.edge[tl] = e
	}
	e.dirty = true
	return e.tile.add(inner, pos, hash)
}

// lookup finds the index of an entry already in the tree by its leaf hash.
// A dedup record that points beyond the committed tree, or at an entry with
// another leaf hash, is the leftover of a failed commit rather than an
// entry: it is ignored, and the new commit overwrites it.
func (s *sequencer) lookup(txn *stagedTxn, leaf proofs.Hash) (uint64, bool, error) {
	idx, err := committedIndex(txn.Txn, leaf, s.state.size)
	switch {
	case err == nil:
		return idx, true, nil
	case errors.Is(err, ErrNotFound):
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("dedup lookup: %w", err)
	}
}

// commit assigns indexes to the batch's new entries, integrates them into
// the tree, and commits entries, tiles and tree state in one fsynced
// transaction. It returns per-request results, the new state and the time
// the commit (including fsync) took. On error the sequencer's in-memory
// state is no longer valid and must be rebuilt. An error wrapping errLanded
// means the failed commit reached the store, which then holds writes that
// are neither known durable nor undone.
func (s *sequencer) commit(batch []*appendReq) ([]AppendResult, treeState, time.Duration, error) {
	txn := &stagedTxn{Txn: s.db.NewTransaction(true)}
	defer txn.Discard()

	results := make([]AppendResult, len(batch))
	inBatch := make(map[proofs.Hash]uint64, len(batch))
	next := s.state.size
	s.finished = s.finished[:0]
	for i, r := range batch {
		if idx, ok := inBatch[r.leaf]; ok {
			results[i] = AppendResult{Index: idx, LeafHash: r.leaf, Duplicate: true}
			continue
		}
		idx, found, err := s.lookup(txn, r.leaf)
		if err != nil {
			return nil, treeState{}, 0, err
		}
		if found {
			results[i] = AppendResult{Index: idx, LeafHash: r.leaf, Duplicate: true}
			continue
		}
		idx = next
		next++
		inBatch[r.leaf] = idx
		results[i] = AppendResult{Index: idx, LeafHash: r.leaf}
		if err := txn.Set(entryKey(idx), r.entry); err != nil {
			return nil, treeState{}, 0, fmt.Errorf("stage entry: %w", err)
		}
		if err := txn.Set(leafHashKey(r.leaf), uint64Bytes(idx)); err != nil {
			return nil, treeState{}, 0, fmt.Errorf("stage leaf hash: %w", err)
		}
		if s.indexer != nil {
			if err := s.indexer.IndexEntry(idx, r.entry, txnIndexWriter{txn}); err != nil {
				return nil, treeState{}, 0, fmt.Errorf("index entry %d: %w", idx, err)
			}
		}
		if err := s.rng.Append(r.leaf, s.visit); err != nil {
			return nil, treeState{}, 0, fmt.Errorf("integrate: %w", err)
		}
	}
	if next == s.state.size {
		return results, s.state, 0, nil // only duplicates
	}
	for _, e := range s.finished {
		if err := txn.Set(tileKey(e.level, e.index), e.tile.marshal()); err != nil {
			return nil, treeState{}, 0, fmt.Errorf("stage tile: %w", err)
		}
	}
	for _, e := range s.edge {
		if !e.dirty {
			continue
		}
		if err := txn.Set(tileKey(e.level, e.index), e.tile.marshal()); err != nil {
			return nil, treeState{}, 0, fmt.Errorf("stage tile: %w", err)
		}
	}
	state := treeState{size: next, root: s.rng.Root(), edges: s.rng.Hashes()}
	if err := txn.Set(stateKey, state.marshal()); err != nil {
		return nil, treeState{}, 0, fmt.Errorf("stage tree state: %w", err)
	}
	start := time.Now()
	if err := s.store.commitBatch(txn.Txn); err != nil {
		switch in, lerr := landed(s.db, txn.ReadTs(), txn.keys); {
		case lerr != nil:
			return nil, treeState{}, 0, fmt.Errorf("%w: commit: %w (%w)", errLanded, err, lerr)
		case in:
			return nil, treeState{}, 0, fmt.Errorf("%w: commit: %w", errLanded, err)
		}
		return nil, treeState{}, 0, fmt.Errorf("commit: %w", err)
	}
	took := time.Since(start)
	for _, e := range s.edge {
		e.dirty = false
	}
	s.state = state
	return results, state, took, nil
}
