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
	s := New(db)
	at := time.Now()
	until := at.Add(time.Minute)
	if err := s.Remember("did:key:a", "nonce-0123456789abcdef", at, until); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember("did:key:a", "nonce-0123456789abcdef", at, until); !errors.Is(err, ErrReplay) {
		t.Fatalf("second use: %v", err)
	}
	// The same nonce from another signer is another request.
	if err := s.Remember("did:key:b", "nonce-0123456789abcdef", at, until); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, dir)
	defer db.Close()
	if err := New(db).Remember("did:key:a", "nonce-0123456789abcdef", at.Add(59*time.Second), until); !errors.Is(err, ErrReplay) {
		t.Fatalf("after restart: %v", err)
	}
}

// TestRememberedUntilExactly: a nonce is refused at every time before
// until and taken again from until on, judged on the caller's times (the
// wall clock barely moves here), also after a restart; the new use then
// sets a new until.
func TestRememberedUntilExactly(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	until := t0.Add(time.Minute)
	if err := New(db).Remember("did:key:a", "nonce-edge-00000001", t0, until); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{t0.Add(-time.Hour), t0, t0.Add(30 * time.Second), until.Add(-time.Nanosecond)} {
		if err := New(db).Remember("did:key:a", "nonce-edge-00000001", at, at.Add(time.Minute)); !errors.Is(err, ErrReplay) {
			t.Fatalf("at %v, before until %v: %v", at, until, err)
		}
	}
	db.Close()
	db = open(t, dir)
	defer db.Close()
	s := New(db)
	if err := s.Remember("did:key:a", "nonce-edge-00000001", until.Add(-time.Nanosecond), until.Add(time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatalf("after restart, before until: %v", err)
	}
	if err := s.Remember("did:key:a", "nonce-edge-00000001", until, until.Add(time.Minute)); err != nil {
		t.Fatalf("at until: %v", err)
	}
	if err := s.Remember("did:key:a", "nonce-edge-00000001", until.Add(59*time.Second), until.Add(2*time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatalf("within the second use's until: %v", err)
	}
}

// TestOldKeysStayRemembered: a key an older version wrote, with no time
// in it, is refused at any time while Badger holds it.
func TestOldKeysStayRemembered(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(key("did:key:a", "nonce-old-000000001"), nil).WithTTL(time.Minute))
	}); err != nil {
		t.Fatal(err)
	}
	far := time.Now().Add(100 * 365 * 24 * time.Hour)
	if err := New(db).Remember("did:key:a", "nonce-old-000000001", far, far.Add(time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatalf("old key: %v", err)
	}
}

func TestConcurrentUsesAdmitOne(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	s := New(db)
	at := time.Now()
	until := at.Add(time.Minute)
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Remember("did:key:a", fmt.Sprintf("nonce-round-%08d", round), at, until)
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

func TestBounds(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	s := New(db)
	now := time.Now()
	for _, until := range []time.Time{now, now.Add(-time.Second)} {
		if err := s.Remember("did:key:a", "nonce-expired-000001", now, until); err == nil || errors.Is(err, ErrReplay) {
			t.Fatalf("until %v, not after at: %v", until, err)
		}
	}
	if err := s.Remember("did:key:a", "", now, now.Add(time.Minute)); err == nil {
		t.Fatal("empty nonce accepted")
	}
	long := make([]byte, MaxNonceLen+1)
	for i := range long {
		long[i] = 'a'
	}
	if err := s.Remember("did:key:a", string(long), now, now.Add(time.Minute)); err == nil {
		t.Fatal("oversized nonce accepted")
	}
}
