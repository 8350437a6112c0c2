// Package replay remembers the nonces of signed requests an agent has
// accepted, for as long as their signatures could still verify, so that
// the same signed request is refused the second time, including after the
// agent restarts.
//
// Nonces live in the agent's own Badger store with a TTL. Writes are not
// fsynced one by one: they survive a process crash (the write-ahead log
// is in the page cache) but not a power loss. The ledger's action entries
// also carry each accepted nonce, so an auditor still sees a replay that
// a power loss let through.
package replay

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrReplay is returned for a nonce already seen from the same signer.
var ErrReplay = errors.New("request replayed")

// MaxNonceLen bounds the nonces the store accepts.
const MaxNonceLen = 128

// Store is a replay store. It is safe for concurrent use.
type Store struct {
	db  *badger.DB
	now func() time.Time
}

// New returns a store over db, which the caller opened (with conflict
// detection on, the Badger default) and closes. now is the clock (nil:
// time.Now).
func New(db *badger.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

func key(signer, nonce string) []byte {
	return []byte("replay/" + signer + "/" + nonce)
}

// Remember records that signer used nonce, until the time until (after
// which the signature no longer verifies anyway). It returns ErrReplay if
// the pair was already recorded and has not expired. Two concurrent calls
// with one pair: exactly one succeeds.
func (s *Store) Remember(signer, nonce string, until time.Time) error {
	if nonce == "" || len(nonce) > MaxNonceLen || len(signer) > 256 {
		return fmt.Errorf("replay store: nonce of %d bytes or signer of %d bytes out of bounds", len(nonce), len(signer))
	}
	ttl := until.Sub(s.now())
	if ttl <= 0 {
		return fmt.Errorf("%w: the signature has already expired", ErrReplay)
	}
	k := key(signer, nonce)
	err := s.db.Update(func(txn *badger.Txn) error {
		switch _, err := txn.Get(k); {
		case err == nil:
			return ErrReplay
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		// A second's slack covers Badger's whole-second TTL granularity.
		return txn.SetEntry(badger.NewEntry(k, nil).WithTTL(ttl + time.Second))
	})
	switch {
	case errors.Is(err, ErrReplay), errors.Is(err, badger.ErrConflict):
		return fmt.Errorf("%w: nonce %q from %s", ErrReplay, nonce, signer)
	case err != nil:
		return fmt.Errorf("replay store: %w", err)
	}
	return nil
}
