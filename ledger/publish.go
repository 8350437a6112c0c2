package ledger

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/proofs"
)

// runPublisher signs a new checkpoint whenever the committed tree has grown,
// at most once per CheckpointInterval.
func (l *Log) runPublisher() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			if err := l.publish(now); err != nil {
				l.log.Error().Err(err).Msg("publish checkpoint")
			}
		}
	}
}

// publish signs and durably stores a checkpoint for the committed tree if
// it is larger than the latest published one (or none exists). Only one
// goroutine calls it at a time: Open, then the publisher, then Close.
func (l *Log) publish(now time.Time) error {
	l.mu.RLock()
	state, latest := l.state, l.latest
	l.mu.RUnlock()
	if latest.note != nil && state.size <= latest.size {
		return nil
	}
	cp := proofs.Checkpoint{Origin: l.origin, Size: state.size, Root: state.root}
	signed, err := proofs.SignCheckpoint(cp, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("sign checkpoint: %w", err)
	}
	if err := l.db.Update(func(txn *badger.Txn) error {
		return txn.Set(checkpointKey(cp.Size), signed)
	}); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	l.mu.Lock()
	l.latest = latestCheckpoint{size: cp.Size, note: signed, signed: now}
	l.mu.Unlock()
	l.metrics.checkpoints.Inc()
	l.log.Debug().Uint64("size", cp.Size).Msg("published checkpoint")
	return nil
}

// Checkpoint returns the latest published signed checkpoint, its size, and
// when it was signed (or, for one signed before this process started, when
// the process started).
func (l *Log) Checkpoint() (note []byte, size uint64, signedAt time.Time) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.latest.note, l.latest.size, l.latest.signed
}

// CheckpointAt returns the checkpoint published at exactly size.
func (l *Log) CheckpointAt(size uint64) ([]byte, error) {
	var out []byte
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(checkpointKey(size))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint at size %d: %w", size, storageErr(err))
	}
	return out, nil
}

// PublishedSizes returns the sizes of all published checkpoints, ascending.
func (l *Log) PublishedSizes() ([]uint64, error) {
	var out []uint64
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{tagCheckpoint}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, uint64FromKey(it.Item().Key()[1:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", storageErr(err))
	}
	return out, nil
}
