package ledger

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// countingIndexer records each entry's index under its bytes, and keeps a
// running count that it reads back through the same batch.
type countingIndexer struct{}

func (countingIndexer) IndexEntry(index uint64, entry []byte, w IndexWriter) error {
	if err := w.Set(append([]byte("e/"), entry...), uint64Bytes(index)); err != nil {
		return err
	}
	var n uint64
	switch v, err := w.Get([]byte("count")); {
	case err == nil:
		n = binary.BigEndian.Uint64(v)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return w.Set([]byte("count"), uint64Bytes(n+1))
}

func TestIndexerCommitsWithEntries(t *testing.T) {
	skey, _, _ := note.GenerateKey(rand.Reader, testOrigin)
	signer, _ := note.NewSigner(skey)
	dir := filepath.Join(t.TempDir(), "db")
	if err := Create(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	open := func() *Log {
		l, err := Open(Options{Dir: dir, Signer: signer, CheckpointInterval: time.Hour, Indexer: countingIndexer{}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	const n = 500
	idx := appendAll(t, l, n, 32)
	// Duplicates are not indexed again.
	if _, err := l.Append(context.Background(), entryN(3)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = open()
	defer l.Close()
	for i := 0; i < n; i++ {
		v, err := l.IndexGet(append([]byte("e/"), entryN(i)...))
		if err != nil {
			t.Fatalf("entry %d not indexed: %v", i, err)
		}
		if got := binary.BigEndian.Uint64(v); got != idx[i] {
			t.Fatalf("entry %d indexed at %d, appended at %d", i, got, idx[i])
		}
	}
	v, err := l.IndexGet([]byte("count"))
	if err != nil || binary.BigEndian.Uint64(v) != n {
		t.Fatalf("count = %v, %v; want %d (each new entry indexed exactly once)", v, err, n)
	}
	seen := 0
	if err := l.IndexScan([]byte("e/"), func(k, v []byte) bool { seen++; return seen < 10 }); err != nil {
		t.Fatal(err)
	}
	if seen != 10 {
		t.Fatalf("scan stopped after %d records, want 10", seen)
	}
	if _, err := l.IndexGet([]byte("absent")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent record: %v", err)
	}
}
