package ledger

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// badgerOptions sizes Badger for the log so that its memory stays bounded
// under sustained appends. Without jemalloc, Badger's memtables and caches
// are Go heap, so these numbers are most of the ledger's heap:
//
//   - Every write is fsynced (SyncWrites), and conflict detection is off:
//     the sequencer is the only writer of the tree.
//   - Values stay in the LSM tree (ValueThreshold 1 MiB, above the largest
//     entry or tile). The rightmost tile of each level is rewritten by
//     every batch; in the LSM tree compaction drops the old versions
//     (NumVersionsToKeep 1), so the value log stays empty and needs no GC
//     in normal operation (runValueLogGC still runs, as a backstop).
//   - Memtables: 2 of 32 MiB. One takes writes while the other is flushed,
//     so at most 64 MiB of memtable arenas exist. Badger's default (5 of
//     64 MiB) lets up to 320 MiB queue behind a slow disk; with 2, a disk
//     that cannot keep up slows commits instead (backpressure).
//   - Caches: 16 MiB of table indexes and no block cache. Blocks are not
//     compressed (below), so Badger reads them straight from the mapped
//     table files, that is from the OS page cache, and keeps no block
//     cache. Proofs read full tiles, which the log caches itself (a
//     4,096-tile LRU, at most about 64 MiB). Tables an older version
//     wrote with Snappy stay readable: each table records its own
//     compression.
//   - Two compactors, one per core of the reference machine. Without
//     jemalloc every table Badger builds (a flush, or up to 13 at once
//     per compaction) holds its whole table in Go memory while it is
//     built, and a builder's buffers start at twice the table's size.
//     So every level's tables are 2 MiB (TableSizeMultiplier 1; by
//     default they double per level, and at a million entries the deeper
//     levels' builders alone took hundreds of MiB), and blocks are not
//     compressed: Snappy's buffers were a third of the heap at the peak,
//     hashes do not compress, and the CPU is better spent on signatures.
//     (Unsigned appends run about 13% slower without compression; signed
//     appends, which the ledger serves, do not.)
//     The price is more table files: about one per 2 MiB of store, each
//     an open file and a mapping (a 100-million-entry log wants an
//     open-file limit in the tens of thousands).
//   - Value-log files of 64 MiB rather than 1 GiB: the value log holds
//     nothing in normal operation, and a smaller file is a smaller sparse
//     reservation.
//
// BENCHMARKS.md has the measured effect on memory and throughput.
func badgerOptions(dir string) badger.Options {
	o := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(nil).
		WithDetectConflicts(false).
		WithValueThreshold(1 << 20).
		WithNumVersionsToKeep(1).
		WithMemTableSize(32 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(0).
		WithIndexCacheSize(16 << 20).
		WithNumCompactors(2).
		WithValueLogFileSize(64 << 20).
		WithCompression(options.None)
	o.TableSizeMultiplier = 1
	return o
}

// valueLogGCRatio is the least fraction of a value-log file that must be
// garbage for Badger to rewrite it.
const valueLogGCRatio = 0.5

// maxGCRewrites bounds the value-log files one GC round rewrites, so a
// round ends even while writes keep making garbage.
const maxGCRewrites = 8

// runValueLogGC runs a value-log GC round every ValueLogGCInterval until
// the log closes. It is one of the goroutines Close waits for before it
// closes Badger, so GC never runs against a closed store.
func (l *Log) runValueLogGC() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.ValueLogGCInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.valueLogGC()
		}
	}
}

// valueLogGC rewrites value-log files while Badger finds one at least
// valueLogGCRatio garbage, at most maxGCRewrites of them, and returns how
// many it rewrote. It stops early when the log is closing.
func (l *Log) valueLogGC() int {
	l.metrics.gcRounds.Inc()
	n := 0
	for n < maxGCRewrites {
		select {
		case <-l.stop:
			return n
		default:
		}
		err := l.db.RunValueLogGC(valueLogGCRatio)
		switch {
		case err == nil:
			n++
			l.metrics.gcRewrites.Inc()
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return n
		default:
			l.log.Warn().Err(err).Msg("value-log gc")
			return n
		}
	}
	return n
}
