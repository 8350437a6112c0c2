package replay

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func open(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestReplayRefusedAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	s := New(db, nil)
	until := time.Now().Add(time.Minute)
	if err := s.Remember("did:key:a", "nonce-0123456789abcdef", until); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember("did:key:a", "nonce-0123456789abcdef", until); !errors.Is(err, ErrReplay) {
		t.Fatalf("second use: %v", err)
	}
	// The same nonce from another signer is another request.
	if err := s.Remember("did:key:b", "nonce-0123456789abcdef", until); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, dir)
	defer db.Close()
	if err := New(db, nil).Remember("did:key:a", "nonce-0123456789abcdef", until); !errors.Is(err, ErrReplay) {
		t.Fatalf("after restart: %v", err)
	}
}

func TestConcurrentUsesAdmitOne(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	s := New(db, nil)
	until := time.Now().Add(time.Minute)
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Remember("did:key:a", fmt.Sprintf("nonce-round-%08d", round), until)
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, ErrReplay) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("round %d: %d of 8 concurrent uses admitted", round, ok)
		}
	}
}

func TestExpiredAndBounds(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	now := time.Now()
	s := New(db, func() time.Time { return now })
	if err := s.Remember("did:key:a", "nonce-expired-000001", now.Add(-time.Second)); !errors.Is(err, ErrReplay) {
		t.Fatalf("expired signature: %v", err)
	}
	if err := s.Remember("did:key:a", "", now.Add(time.Minute)); err == nil {
		t.Fatal("empty nonce accepted")
	}
	long := make([]byte, MaxNonceLen+1)
	for i := range long {
		long[i] = 'a'
	}
	if err := s.Remember("did:key:a", string(long), now.Add(time.Minute)); err == nil {
		t.Fatal("oversized nonce accepted")
	}
}
