// Package ledger is the agentledger transparency log: an append-only RFC 6962
// Merkle tree of DSSE envelopes kept in Badger, with C2SP tlog-tiles storage,
// group-committed appends and signed C2SP checkpoints.
//
// Durability contract: Append MUST NOT return an index until the entry, the
// tree nodes it adds (hash tiles) and the new tree state are committed in one
// Badger transaction with the write-ahead log fsynced. A crash therefore
// leaves entries and tree in step, and every index ever returned survives.
// Checkpoints are signed only over committed state, so every published
// checkpoint stays consistent with the tree after any crash.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/proofs"
)

var (
	// ErrClosed is returned by calls on a closed log.
	ErrClosed = errors.New("ledger is closed")
	// ErrEntrySize is returned for an empty entry or one over
	// proofs.MaxEntrySize, the C2SP tlog-tiles entry bundle limit.
	ErrEntrySize = errors.New("entry size out of range")
	// ErrNotFound is returned when an entry, tile or checkpoint does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBeyondTree is returned when a request names a size or index the
	// tree has not reached.
	ErrBeyondTree = errors.New("beyond the tree size")
	// ErrUnavailable wraps storage failures: the entry was not appended.
	ErrUnavailable = errors.New("ledger storage unavailable")
)

// Options configures a Log. Dir and Signer are required.
type Options struct {
	// Dir is the Badger directory, created by Create.
	Dir string
	// Signer signs checkpoints; its name is the log's origin.
	Signer note.Signer
	// CheckpointInterval is the least time between two checkpoints.
	// Default 500ms.
	CheckpointInterval time.Duration
	// MaxBatch caps the entries in one group commit. Default 1024.
	MaxBatch int
	// MaxBatchBytes caps the entry bytes in one group commit. Default 8 MiB.
	MaxBatchBytes int
	// Logger receives operational logs. Default: disabled.
	Logger *zerolog.Logger
	// Registerer receives the log's Prometheus metrics. Default: none.
	Registerer prometheus.Registerer
	// Indexer, if set, derives index records from each new entry in the
	// same transaction (see Indexer).
	Indexer Indexer

	// ValueLogGCInterval is how often Badger's value-log GC runs (see
	// runValueLogGC). Default 5 minutes.
	ValueLogGCInterval time.Duration
	// CommitTimeout is the longest Append waits for its commit before it
	// answers ErrUnavailable, and how long a commit may run before the
	// log reports itself stalled (see Stalled). Default 10s.
	CommitTimeout time.Duration

	// store commits batches; nil means Badger's own commit. Tests set it
	// to inject storage faults.
	store batchCommitter
	// badger gives the Badger options for a directory; nil means
	// badgerOptions. Benchmarks set it to compare sizings.
	badger func(dir string) badger.Options
}

func (o *Options) setDefaults() {
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 500 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 8 << 20
	}
	if o.Logger == nil {
		nop := zerolog.Nop()
		o.Logger = &nop
	}
	if o.store == nil {
		o.store = badgerCommitter{}
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 10 * time.Second
	}
	if o.ValueLogGCInterval <= 0 {
		o.ValueLogGCInterval = 5 * time.Minute
	}
	if o.badger == nil {
		o.badger = badgerOptions
	}
}

// AppendResult tells where an entry sits in the log.
type AppendResult struct {
	Index    uint64
	LeafHash proofs.Hash
	// Duplicate is true when the entry was already in the log; Index is
	// then its existing index.
	Duplicate bool
}

type appendReq struct {
	entry []byte
	leaf  proofs.Hash
	done  chan appendResp
}

type appendResp struct {
	res AppendResult
	err error
}

// Log is an open ledger. It is safe for concurrent use.
type Log struct {
	db      *badger.DB
	opts    Options
	origin  string
	log     zerolog.Logger
	metrics *metrics

	reqs    chan *appendReq
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the sequencer has exited
	failed  chan struct{} // closed when the log stops taking appends for good
	wg      sync.WaitGroup

	committing atomic.Int64 // when the running commit started (Unix ns), or 0

	seq *sequencer // owned by the sequencer goroutine

	mu     sync.RWMutex
	state  treeState                    // last committed tree
	latest latestCheckpoint             // last published checkpoint
	tiles  *lru.Cache[tileID, tileView] // full (immutable) tiles only
	cause  error                        // why failed was closed

	closeOnce sync.Once
	failOnce  sync.Once
}

type tileID struct {
	level uint8
	index uint64
}

type latestCheckpoint struct {
	size   uint64
	note   []byte
	signed time.Time
}

// Create makes a new, empty log in dir with the given origin. It refuses a
// directory that already holds a log.
func Create(dir, origin string) error {
	if origin == "" {
		return errors.New("create log: empty origin")
	}
	if _, err := os.Stat(dir); err == nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("create log: %w", err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("create log: %s is not empty", dir)
		}
	}
	db, err := badger.Open(badgerOptions(dir))
	if err != nil {
		return fmt.Errorf("create log: %w", err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(originKey, []byte(origin)); err != nil {
			return err
		}
		return txn.Set(stateKey, treeState{root: proofs.EmptyRoot()}.marshal())
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create log: %w", err)
	}
	return nil
}

// Open opens the log in opts.Dir, recovers its tree state, publishes a
// checkpoint if the tree has none yet, and starts the sequencer and the
// checkpoint publisher.
func Open(opts Options) (*Log, error) {
	opts.setDefaults()
	if opts.Signer == nil {
		return nil, errors.New("open log: no checkpoint signer")
	}
	if _, err := os.Stat(opts.Dir); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	db, err := badger.Open(opts.badger(opts.Dir))
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	l := &Log{
		db:      db,
		opts:    opts,
		origin:  opts.Signer.Name(),
		log:     opts.Logger.With().Str("component", "ledger").Logger(),
		reqs:    make(chan *appendReq, opts.MaxBatch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		failed:  make(chan struct{}),
	}
	l.tiles, _ = lru.New[tileID, tileView](4096)
	if err := l.recover(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	l.metrics = newMetrics(opts.Registerer, l)
	if err := l.publish(time.Now()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	l.wg.Add(3)
	go l.runSequencer()
	go l.runPublisher()
	go l.runValueLogGC()
	return l, nil
}

// recover loads the stored origin, tree state, right-edge tiles and latest
// checkpoint.
func (l *Log) recover() error {
	var origin []byte
	var state treeState
	var latest latestCheckpoint
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(originKey)
		if err != nil {
			return fmt.Errorf("read origin: %w (is %s a log created by init?)", err, l.opts.Dir)
		}
		if origin, err = item.ValueCopy(nil); err != nil {
			return err
		}
		item, err = txn.Get(stateKey)
		if err != nil {
			return fmt.Errorf("read tree state: %w", err)
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if state, err = unmarshalTreeState(raw); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{tagCheckpoint}})
		defer it.Close()
		it.Seek(checkpointKey(^uint64(0)))
		if it.Valid() {
			k := it.Item().Key()
			latest.size = uint64FromKey(k[1:])
			if latest.note, err = it.Item().ValueCopy(nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if string(origin) != l.origin {
		return fmt.Errorf("log origin is %q but the signing key is for %q", origin, l.origin)
	}
	seq, err := newSequencer(l.db, l.opts.store, state, l.opts.Indexer)
	if err != nil {
		return err
	}
	if latest.note != nil && latest.size > state.size {
		return fmt.Errorf("latest checkpoint has size %d beyond the stored tree size %d", latest.size, state.size)
	}
	if latest.note != nil {
		latest.signed = time.Now() // signed before this start; age counts from here
	}
	l.seq = seq
	l.state = state
	l.latest = latest
	return nil
}

// Origin is the log's origin line.
func (l *Log) Origin() string { return l.origin }

// Size is the number of committed entries.
func (l *Log) Size() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.state.size
}

// Append adds entry to the log and returns its index once it is durably
// committed. An identical entry already in the log returns its existing
// index with Duplicate set. If ctx ends first, Append returns ctx's error
// and the entry may or may not have been committed. If no commit answers
// within CommitTimeout (a stalled disk), Append returns ErrUnavailable, and
// again the entry may or may not be committed later: it was not
// acknowledged, and resubmitting it is safe.
//
// Append checks only the entry's size: it neither parses nor verifies it.
// An entry from a writer MUST be admitted through registry.Submit, the
// ledger's one admission path, which checks it and then calls Append.
func (l *Log) Append(ctx context.Context, entry []byte) (AppendResult, error) {
	if len(entry) == 0 || len(entry) > proofs.MaxEntrySize {
		return AppendResult{}, fmt.Errorf("%w: %d bytes", ErrEntrySize, len(entry))
	}
	if err := l.Err(); err != nil {
		return AppendResult{}, err
	}
	wait, cancel := context.WithTimeoutCause(ctx, l.opts.CommitTimeout, errCommitTimeout)
	defer cancel()
	r := &appendReq{entry: entry, leaf: proofs.LeafHash(entry), done: make(chan appendResp, 1)}
	select {
	case <-l.stop:
		return AppendResult{}, ErrClosed
	case <-wait.Done():
		return AppendResult{}, l.waitErr(ctx, wait)
	case l.reqs <- r:
	}
	select {
	case resp := <-r.done:
		return resp.res, resp.err
	case <-l.stopped:
		// The sequencer may have answered just before it exited.
		select {
		case resp := <-r.done:
			return resp.res, resp.err
		default:
			return AppendResult{}, ErrClosed
		}
	case <-wait.Done():
		return AppendResult{}, l.waitErr(ctx, wait)
	}
}

// runSequencer is the single writer. It takes whatever requests are queued
// as soon as the previous commit finishes (there is no timed wait), up to
// the batch caps, and commits them as one transaction.
func (l *Log) runSequencer() {
	defer l.wg.Done()
	defer close(l.stopped)
	batch := make([]*appendReq, 0, l.opts.MaxBatch)
	for {
		var first *appendReq
		select {
		case <-l.stop:
			l.failQueued()
			return
		case first = <-l.reqs:
		}
		batch = append(batch[:0], first)
		bytes := len(first.entry)
	drain:
		for len(batch) < l.opts.MaxBatch && bytes < l.opts.MaxBatchBytes {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
				bytes += len(r.entry)
			default:
				break drain
			}
		}
		l.commit(batch)
	}
}

func (l *Log) failQueued() {
	for {
		select {
		case r := <-l.reqs:
			r.done <- appendResp{err: ErrClosed}
		default:
			return
		}
	}
}

// commit integrates and durably commits one batch, then answers each
// request. On a storage failure every request in the batch fails with
// ErrUnavailable and nothing changes in memory: the tree state, and so the
// next checkpoint, stays at the last durable commit. A failure that left
// nothing in the store is transient: the sequencer reloads its state from
// disk and the next batch tries again. A failure that reached the store, or
// one after which the state cannot be reloaded, fails the log for good (see
// Failed).
func (l *Log) commit(batch []*appendReq) {
	if err := l.Err(); err != nil {
		for _, r := range batch {
			r.done <- appendResp{err: err}
		}
		return
	}
	start := time.Now()
	l.committing.Store(start.UnixNano())
	results, state, fsync, err := l.seq.commit(batch)
	l.committing.Store(0)
	if err != nil {
		l.log.Error().Err(err).Int("batch", len(batch)).Msg("batch commit failed")
		l.metrics.commitFailures.Inc()
		resp := fmt.Errorf("%w: %w", ErrUnavailable, err)
		if errors.Is(err, errLanded) {
			l.fail(err)
			resp = fmt.Errorf("%w: %w", ErrStorageFailed, err)
		} else if rerr := l.reloadSequencer(); rerr != nil {
			l.fail(fmt.Errorf("reload tree state after failed commit: %w", rerr))
		}
		for _, r := range batch {
			r.done <- appendResp{err: resp}
		}
		return
	}
	l.mu.Lock()
	l.state = state
	l.mu.Unlock()
	added := 0
	for i, r := range batch {
		if !results[i].Duplicate {
			added++
		}
		r.done <- appendResp{res: results[i]}
	}
	l.metrics.observeBatch(len(batch), added, fsync, time.Since(start), state.size)
}

func (l *Log) reloadSequencer() error {
	var state treeState
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(stateKey)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			state, err = unmarshalTreeState(v)
			return err
		})
	})
	if err != nil {
		return err
	}
	seq, err := newSequencer(l.db, l.opts.store, state, l.opts.Indexer)
	if err != nil {
		return err
	}
	l.seq = seq
	return nil
}

// Close stops the sequencer, the publisher and the value-log GC, fails
// queued appends with ErrClosed, publishes a final checkpoint and closes
// the store.
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		l.wg.Wait()
		if perr := l.publish(time.Now()); perr != nil {
			l.log.Error().Err(perr).Msg("final checkpoint")
		}
		err = l.db.Close()
	})
	return err
}
