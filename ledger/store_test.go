package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentledger/agentledger/proofs"
)

// fault decides how one batch commit goes wrong. It gets the real Badger
// transaction and may commit it, write part of it, or drop it.
type fault func(db *badger.DB, txn *badger.Txn) error

// diskFull fails before anything is written, as Badger does when it cannot
// get room for the write.
func diskFull(*badger.DB, *badger.Txn) error {
	return fmt.Errorf("write wal: %w", syscall.ENOSPC)
}

// syncFailed lets Badger apply the whole transaction and then reports an
// error, as Badger does when the fsync of its write-ahead log fails after
// the transaction is in the memtable.
func syncFailed(_ *badger.DB, txn *badger.Txn) error {
	if err := txn.Commit(); err != nil {
		return err
	}
	return fmt.Errorf("sync wal: %w", syscall.EIO)
}

// stallUntil holds the commit until release is closed, as a disk that
// stops completing writes does, then commits for real.
func stallUntil(release <-chan struct{}) fault {
	return func(_ *badger.DB, txn *badger.Txn) error {
		<-release
		return txn.Commit()
	}
}

// faultyStore is a batchCommitter that wraps the real Badger commit and
// injects faults: each queued fault fails one commit, then the sticky
// fault (if any) fails every commit until it is cleared.
type faultyStore struct {
	mu      sync.Mutex
	db      *badger.DB
	queued  []fault
	sticky  fault
	commits int // commits attempted
}

func (f *faultyStore) commitBatch(txn *badger.Txn) error {
	f.mu.Lock()
	f.commits++
	next := f.sticky
	if len(f.queued) > 0 {
		next, f.queued = f.queued[0], f.queued[1:]
	}
	db := f.db
	f.mu.Unlock()
	if next != nil {
		return next(db, txn)
	}
	return badgerCommitter{}.commitBatch(txn)
}

func (f *faultyStore) queue(faults ...fault) {
	f.mu.Lock()
	f.queued = append(f.queued, faults...)
	f.mu.Unlock()
}

func (f *faultyStore) setSticky(x fault) {
	f.mu.Lock()
	f.sticky = x
	f.mu.Unlock()
}

func (f *faultyStore) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commits
}

// openFaulty opens tl's log with a faultyStore wrapping its real Badger.
func (tl *testLog) openFaulty(t *testing.T, commitTimeout time.Duration) *faultyStore {
	t.Helper()
	f := &faultyStore{}
	l, err := Open(Options{Dir: tl.dir, Signer: tl.signer, CheckpointInterval: time.Hour, CommitTimeout: commitTimeout, store: f})
	if err != nil {
		t.Fatal(err)
	}
	f.db = l.db
	tl.Log = l
	t.Cleanup(func() { l.Close() })
	return f
}

func newFaultyLog(t *testing.T) (*testLog, *faultyStore) {
	t.Helper()
	tl := newTestLog(t, time.Hour)
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	return tl, tl.openFaulty(t, 0)
}

// appendConcurrently appends entries from one goroutine each and returns
// each one's result and error.
func appendConcurrently(l *Log, entries [][]byte) ([]AppendResult, []error) {
	res := make([]AppendResult, len(entries))
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	for i := range entries {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i], errs[i] = l.Append(context.Background(), entries[i])
		}(i)
	}
	wg.Wait()
	return res, errs
}

func entriesFrom(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = entryN(from + i)
	}
	return out
}

// checkTree reads every committed entry back and checks that the tree
// state, the stored tiles and the entries agree, and that no entry is held
// twice.
func checkTree(t *testing.T, l *Log) {
	t.Helper()
	head := l.Head()
	seen := map[proofs.Hash]uint64{}
	hashes := make([]tlog.Hash, 0, head.Size)
	for i := uint64(0); i < head.Size; i++ {
		e, err := l.Entry(i)
		if err != nil {
			t.Fatalf("entry %d of %d: %v", i, head.Size, err)
		}
		h := proofs.LeafHash(e)
		if prev, ok := seen[h]; ok {
			t.Fatalf("entry %d duplicates entry %d", i, prev)
		}
		seen[h] = i
		if idx, err := l.IndexOf(h); err != nil || idx != i {
			t.Fatalf("IndexOf(entry %d) = %d, %v", i, idx, err)
		}
		hashes = append(hashes, tlog.RecordHash(e))
	}
	if head.Size == 0 {
		return
	}
	if want := naiveRoot(hashes); proofs.Hash(want) != head.Root {
		t.Fatalf("state root %x, entries hash to %x", head.Root, want)
	}
	root, err := proofs.RootHash(head.Size, l)
	if err != nil {
		t.Fatal(err)
	}
	if root != head.Root {
		t.Fatalf("root from tiles %x, state root %x", root, head.Root)
	}
}

// checkpointSize publishes if the tree has grown and returns the latest
// checkpoint's size.
func checkpointSize(t *testing.T, l *Log) uint64 {
	t.Helper()
	if err := l.publish(time.Now()); err != nil {
		t.Fatal(err)
	}
	_, size, _ := l.Checkpoint()
	return size
}

func TestCommitFailureAcknowledgesNothingAndRecovers(t *testing.T) {
	tl, store := newFaultyLog(t)
	appendAllFrom(t, tl.Log, 0, 300) // past the first full tile
	before := tl.Head()
	if got := checkpointSize(t, tl.Log); got != before.Size {
		t.Fatalf("checkpoint at %d, tree at %d", got, before.Size)
	}

	// The disk fills: every commit fails before anything is written.
	store.setSticky(diskFull)
	failed := entriesFrom(1000, 40)
	res, errs := appendConcurrently(tl.Log, failed)
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append %d during the fault: %+v, %v; want ErrUnavailable wrapping ENOSPC", i, res[i], err)
		}
		if errors.Is(err, ErrStorageFailed) {
			t.Fatalf("append %d: a fault that wrote nothing failed the log for good: %v", i, err)
		}
	}
	if got := tl.Head(); got != before {
		t.Fatalf("failed commits moved the tree from %+v to %+v", before, got)
	}
	if got := checkpointSize(t, tl.Log); got != before.Size {
		t.Fatalf("checkpoint at %d covers entries that failed to commit (tree %d)", got, before.Size)
	}
	for i, e := range failed {
		if idx, err := tl.IndexOf(proofs.LeafHash(e)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("failed entry %d is in the dedup index at %d (%v)", i, idx, err)
		}
	}
	if err := tl.Err(); err != nil {
		t.Fatalf("log failed for good after a clean fault: %v", err)
	}

	// The disk is freed: the same log takes appends again, and the entries
	// that failed are each accepted once.
	store.setSticky(nil)
	retry := append(failed, entriesFrom(2000, 10)...)
	res, errs = appendConcurrently(tl.Log, retry)
	got := map[uint64]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d after the fault cleared: %v", i, err)
		}
		if res[i].Duplicate || res[i].Index < before.Size || got[res[i].Index] {
			t.Fatalf("append %d after the fault: %+v", i, res[i])
		}
		got[res[i].Index] = true
	}
	if want := before.Size + uint64(len(retry)); tl.Size() != want {
		t.Fatalf("size %d after recovery, want %d", tl.Size(), want)
	}
	res, errs = appendConcurrently(tl.Log, failed)
	for i, err := range errs {
		if err != nil || !res[i].Duplicate {
			t.Fatalf("resubmitting entry %d: %+v, %v; want a duplicate", i, res[i], err)
		}
	}
	checkTree(t, tl.Log)
	if got := checkpointSize(t, tl.Log); got != tl.Size() {
		t.Fatalf("checkpoint at %d, tree at %d", got, tl.Size())
	}
	if err := proveConsistent(tl, before.Size, tl.Size()); err != nil {
		t.Fatal(err)
	}

	// And a restart sees the same tree.
	head := tl.Head()
	tl.Close()
	tl.reopen(t, time.Hour)
	if tl.Head() != head {
		t.Fatalf("after reopen head %+v, want %+v", tl.Head(), head)
	}
	checkTree(t, tl.Log)
}

// proveConsistent opens the log's signed checkpoints at two sizes and
// checks its consistency proof between them.
func proveConsistent(tl *testLog, old, size uint64) error {
	var cps [2]proofs.SignedCheckpoint
	for i, n := range []uint64{old, size} {
		raw, err := tl.CheckpointAt(n)
		if err != nil {
			return err
		}
		if cps[i], err = proofs.OpenCheckpoint(raw, testOrigin, tl.verifier); err != nil {
			return err
		}
	}
	p, err := tl.ConsistencyProof(old, size)
	if err != nil {
		return err
	}
	return proofs.VerifyConsistency(cps[0], cps[1], p)
}

// TestFailedCommitThatReachedStoreFailsLog is the case where Badger applied
// the batch but reported an error (its fsync failed): the writes are
// visible but may not be durable. No index may be handed out for them, no
// checkpoint may cover them, and the log must refuse appends until a
// restart, after which every entry is accepted exactly once.
func TestFailedCommitThatReachedStoreFailsLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(leaf proofs.Hash, index uint64) fault
	}{
		{"whole batch", func(proofs.Hash, uint64) fault { return syncFailed }},
		{"one dedup record", func(leaf proofs.Hash, index uint64) fault {
			// Only the failed entry's dedup record reached the store, and
			// it stays there after the restart.
			return func(db *badger.DB, txn *badger.Txn) error {
				txn.Discard()
				if err := db.Update(func(w *badger.Txn) error {
					return w.Set(leafHashKey(leaf), uint64Bytes(index))
				}); err != nil {
					return err
				}
				return fmt.Errorf("sync wal: %w", syscall.EIO)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, store := newFaultyLog(t)
			appendAllFrom(t, tl.Log, 0, 100)
			before := tl.Head()
			checkpointSize(t, tl.Log)

			first := entryN(500)
			store.queue(tc.fault(proofs.LeafHash(first), before.Size))
			if res, err := tl.Append(context.Background(), first); !errors.Is(err, ErrStorageFailed) || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("append whose commit reached the store: %+v, %v; want ErrStorageFailed", res, err)
			}
			select {
			case <-tl.Failed():
			default:
				t.Fatal("Failed not closed")
			}
			if !errors.Is(tl.Err(), ErrStorageFailed) || !errors.Is(tl.Err(), syscall.EIO) {
				t.Fatalf("Err() = %v", tl.Err())
			}
			// The fault has cleared, but the log must not trust its store.
			attempts := store.attempts()
			later := entriesFrom(600, 20)
			res, errs := appendConcurrently(tl.Log, append(later, first))
			for i, err := range errs {
				if !errors.Is(err, ErrStorageFailed) {
					t.Fatalf("append %d after the store failed: %+v, %v", i, res[i], err)
				}
			}
			if store.attempts() != attempts {
				t.Fatal("a failed log went on committing")
			}
			if tl.Head() != before {
				t.Fatalf("tree moved from %+v to %+v", before, tl.Head())
			}
			if idx, err := tl.IndexOf(proofs.LeafHash(first)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("IndexOf the failed entry = %d, %v; want ErrNotFound", idx, err)
			}
			if _, err := tl.Entry(before.Size); !errors.Is(err, ErrNotFound) {
				t.Fatalf("entry beyond the tree: %v", err)
			}
			if got := checkpointSize(t, tl.Log); got != before.Size {
				t.Fatalf("checkpoint at %d covers a failed commit (tree %d)", got, before.Size)
			}
			checkTree(t, tl.Log)

			// Restart. The failed batch may or may not have survived;
			// either way the tree is consistent and each entry lands once.
			if err := tl.Close(); err != nil {
				t.Fatal(err)
			}
			tl.reopen(t, time.Hour)
			if tl.Size() < before.Size {
				t.Fatalf("restart lost acknowledged entries: size %d < %d", tl.Size(), before.Size)
			}
			checkTree(t, tl.Log)
			// The failed entry goes last, once the tree has grown past any
			// index a leftover record of it could name.
			res, errs = appendConcurrently(tl.Log, later)
			r, err := tl.Append(context.Background(), first)
			res, errs = append(res, r), append(errs, err)
			all := append(later, first)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("append %d after restart: %v", i, err)
				}
				if res[i].Index < before.Size {
					t.Fatalf("append %d after restart at %d, inside the acknowledged tree", i, res[i].Index)
				}
			}
			if want := before.Size + uint64(len(all)); tl.Size() != want {
				t.Fatalf("size %d after restart and resubmission, want %d", tl.Size(), want)
			}
			checkTree(t, tl.Log)
			if got := checkpointSize(t, tl.Log); got != tl.Size() {
				t.Fatalf("checkpoint at %d, tree at %d", got, tl.Size())
			}
			if err := proveConsistent(tl, before.Size, tl.Size()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStalledCommitAnswersUnavailableAndRecovers has a commit hang, as on
// a disk that stops completing writes: appends answer ErrUnavailable after
// CommitTimeout without an index, the log reports itself stalled, and once
// the commit completes the log goes on by itself.
func TestStalledCommitAnswersUnavailableAndRecovers(t *testing.T) {
	tl := newTestLog(t, time.Hour)
	tl.Close()
	store := tl.openFaulty(t, time.Second)
	appendAllFrom(t, tl.Log, 0, 10)
	before := tl.Head()

	release := make(chan struct{})
	store.queue(stallUntil(release))
	stalled := entryN(100)
	res, errs := appendConcurrently(tl.Log, [][]byte{stalled, entryN(101)})
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrStorageFailed) {
			t.Fatalf("append %d during the stall: %+v, %v; want ErrUnavailable", i, res[i], err)
		}
	}
	if !tl.Stalled() {
		t.Fatal("a commit past CommitTimeout is not reported as stalled")
	}
	if tl.Head() != before || checkpointSize(t, tl.Log) != before.Size {
		t.Fatal("a commit that has not finished moved the tree or a checkpoint")
	}

	close(release)
	// The held commit completes: its entry is in the log after all, though
	// it was never acknowledged, so resubmitting it answers its index.
	deadline := time.Now().Add(10 * time.Second)
	for tl.Stalled() || tl.Size() == before.Size {
		if time.Now().After(deadline) {
			t.Fatal("the log did not go on after the stall ended")
		}
		time.Sleep(time.Millisecond)
	}
	got, err := tl.Append(context.Background(), stalled)
	if err != nil || !got.Duplicate || got.Index < before.Size {
		t.Fatalf("resubmitting the stalled entry: %+v, %v; want a duplicate at %d or later", got, err, before.Size)
	}
	if _, err := tl.Append(context.Background(), entryN(101)); err != nil {
		t.Fatal(err)
	}
	appendAllFrom(t, tl.Log, 200, 10)
	if want := before.Size + 12; tl.Size() != want {
		t.Fatalf("size %d, want %d", tl.Size(), want)
	}
	checkTree(t, tl.Log)
}
