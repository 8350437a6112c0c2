package ledger

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Indexer derives secondary index records from each new entry. The
// sequencer calls it inside the batch's transaction, in index order, so
// index records commit atomically with their entries and no crash can leave
// them out of step. It must be deterministic and must not fail for an entry
// it does not understand (it simply indexes nothing); an error fails the
// whole batch.
type Indexer interface {
	IndexEntry(index uint64, entry []byte, w IndexWriter) error
}

// IndexWriter stages index records in the current batch. Keys live in their
// own keyspace; Get sees records staged earlier in the same batch.
type IndexWriter interface {
	Set(key, value []byte) error
	Get(key []byte) ([]byte, error) // ErrNotFound when absent
}

// indexKey puts an index key in its own table.
func indexKey(key []byte) []byte {
	k := make([]byte, 1+len(key))
	k[0] = tagIndex
	copy(k[1:], key)
	return k
}

type txnIndexWriter struct{ txn *stagedTxn }

func (w txnIndexWriter) Set(key, value []byte) error {
	return w.txn.Set(indexKey(key), value)
}

func (w txnIndexWriter) Get(key []byte) ([]byte, error) {
	item, err := w.txn.Get(indexKey(key))
	if err != nil {
		return nil, storageErr(err)
	}
	return item.ValueCopy(nil)
}

// IndexGet returns the committed index record for key.
func (l *Log) IndexGet(key []byte) ([]byte, error) {
	var out []byte
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(indexKey(key))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("index record: %w", storageErr(err))
	}
	return out, nil
}

// errStopScan ends IndexScan early without error.
var errStopScan = errors.New("stop")

// IndexScan calls fn for each committed index record whose key starts with
// prefix, in key order, until fn returns false. fn must copy what it keeps.
func (l *Log) IndexScan(prefix []byte, fn func(key, value []byte) bool) error {
	full := indexKey(prefix)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: full, PrefetchValues: true, PrefetchSize: 32})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if !fn(it.Item().Key()[1:], v) {
				return errStopScan
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return fmt.Errorf("scan index: %w", storageErr(err))
	}
	return nil
}
