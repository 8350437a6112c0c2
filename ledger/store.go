package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrStorageFailed wraps ErrUnavailable once the log has stopped taking
// appends for good: a commit failed after some of its writes had reached
// the store, so the process can no longer tell durable state from state
// that may vanish. Only a restart, which reopens the store from what is on
// disk, clears it (see Log.Failed).
var ErrStorageFailed = fmt.Errorf("%w: storage failed, restart required", ErrUnavailable)

// batchCommitter commits one batch's transaction. It is the seam between
// the sequencer and Badger: the one call through which a batch becomes
// durable. commitBatch MUST return nil only when every write of txn is
// durable. An error says nothing about whether some or all of the writes
// reached the store; the sequencer finds out itself (see landed).
type batchCommitter interface {
	commitBatch(txn *badger.Txn) error
}

// badgerCommitter is the production batchCommitter: Badger's own commit,
// which with SyncWrites fsyncs the write-ahead log before it returns.
type badgerCommitter struct{}

func (badgerCommitter) commitBatch(txn *badger.Txn) error { return txn.Commit() }

// errLanded marks a failed commit some of whose writes are visible in the
// store. Badger can return such an error: it applies a transaction to the
// memtable and then fsyncs the write-ahead log, and the fsync can fail.
var errLanded = errors.New("failed commit left writes in the store")

// stagedTxn is a batch's transaction that remembers every key it sets, so a
// failed commit can be checked for writes that reached the store.
type stagedTxn struct {
	*badger.Txn
	keys [][]byte
}

// Set stages key=value and remembers key.
func (t *stagedTxn) Set(key, value []byte) error {
	t.keys = append(t.keys, key)
	return t.Txn.Set(key, value)
}

// landed reports whether any of keys, set by a batch transaction that read
// at readTs and whose commit failed, now has a version newer than readTs:
// that is, whether the failed commit reached the store. Only the sequencer
// writes these keys, so no other writer can be mistaken for it. A read
// error is returned as is; the caller must then assume the worst.
func landed(db *badger.DB, readTs uint64, keys [][]byte) (bool, error) {
	found := false
	err := db.View(func(txn *badger.Txn) error {
		for _, k := range keys {
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if item.Version() > readTs {
				found = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("check failed commit: %w", err)
	}
	return found, nil
}

// fail stops the log taking appends for good, keeping the first cause.
// Reads of committed state go on; the tree state, and so every later
// checkpoint, stays at the last durable commit.
func (l *Log) fail(cause error) {
	l.failOnce.Do(func() {
		l.mu.Lock()
		l.cause = cause
		l.mu.Unlock()
		l.log.Error().Err(cause).Msg("storage failed; refusing appends until restarted")
		close(l.failed)
	})
}

// Err is nil while the log takes appends. Once the log has failed for good
// (see Failed) it returns an error wrapping ErrStorageFailed and the cause.
func (l *Log) Err() error {
	select {
	case <-l.failed:
	default:
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return fmt.Errorf("%w: %w", ErrStorageFailed, l.cause)
}

// Failed is closed when the log stops taking appends for good: a commit
// failed after some of its writes had reached the store (Badger applies a
// transaction in memory before its fsync, and a failed fsync cannot be
// retried safely), or the tree state could not be reloaded after a failed
// commit. From then on every Append fails with ErrStorageFailed, which
// wraps ErrUnavailable. Nothing acknowledged is lost, and no checkpoint
// covers the failed batch. A server should exit so that its supervisor
// restarts it: reopening the store recovers what is durable, and a client
// that resubmits an unacknowledged entry gets one index for it.
func (l *Log) Failed() <-chan struct{} { return l.failed }

// errCommitTimeout is the cause of an Append's wait ending at CommitTimeout.
var errCommitTimeout = errors.New("commit timeout")

// waitErr explains why an Append's wait ended: the caller's context, or no
// commit within CommitTimeout.
func (l *Log) waitErr(ctx, wait context.Context) error {
	if ctx.Err() == nil && errors.Is(context.Cause(wait), errCommitTimeout) {
		return fmt.Errorf("%w: no commit within %s; the entry was not acknowledged", ErrUnavailable, l.opts.CommitTimeout)
	}
	return ctx.Err()
}

// Stalled reports whether the running commit has taken longer than
// CommitTimeout: the disk is not completing writes. Appends meanwhile
// answer ErrUnavailable; the log recovers by itself if the commit
// finishes, and fails for good if it fails after reaching the store.
func (l *Log) Stalled() bool {
	started := l.committing.Load()
	return started != 0 && time.Since(time.Unix(0, started)) > l.opts.CommitTimeout
}
