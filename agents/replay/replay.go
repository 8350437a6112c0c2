// Package replay remembers the nonces of signed requests an agent has
// accepted, so that a nonce is refused while it is remembered, including
// after the agent restarts. How long to remember each one is the caller's
// choice: agents/guard keeps the nonce rule of proofs/statement with it.
//
// Nonces live in the agent's own Badger store. Each key holds the time
// until which it is remembered, and the store judges that against the
// time the caller passes in, not its own clock, so that the caller can
// reason about one clock. Badger's TTL on the key only collects the
// garbage, a second after that time. Writes are not fsynced one by one:
// they survive a process crash (the write-ahead log is in the page cache)
// but not a power loss. The ledger's action entries also carry each
// accepted nonce, so an auditor still sees a reuse that a power loss let
// through.
package replay

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrReplay is returned for a nonce still remembered from the same signer.
var ErrReplay = errors.New("request replayed")

// MaxNonceLen bounds the nonces the store accepts.
const MaxNonceLen = 128

// Store is a replay store. It is safe for concurrent use.
type Store struct {
	db *badger.DB
}

// New returns a store over db, which the caller opened (with conflict
// detection on, the Badger default) and closes.
func New(db *badger.DB) *Store { return &Store{db: db} }

func key(signer, nonce string) []byte {
	return []byte("replay/" + signer + "/" + nonce)
}

// Remember records that signer used nonce at the time at, and remembers
// it until the time until, which must be after at. It returns ErrReplay if
// the pair is remembered at the time at: if an earlier Remember of it set
// an until after at. Otherwise it records the pair, replacing what an
// earlier use left, and returns nil. Two concurrent calls with one pair:
// at most one succeeds.
//
// A key written by an older version of this package holds no time; it is
// taken as remembered until Badger's TTL drops it.
func (s *Store) Remember(signer, nonce string, at, until time.Time) error {
	if nonce == "" || len(nonce) > MaxNonceLen || len(signer) > 256 {
		return fmt.Errorf("replay store: nonce of %d bytes or signer of %d bytes out of bounds", len(nonce), len(signer))
	}
	if !until.After(at) {
		return fmt.Errorf("replay store: remembering until %v, not after %v", until, at)
	}
	v, err := until.MarshalBinary()
	if err != nil {
		return fmt.Errorf("replay store: %w", err)
	}
	k := key(signer, nonce)
	err = s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		switch {
		case err == nil:
			if remembered(item, at) {
				return ErrReplay
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		// Badger's TTL counts whole seconds on the wall clock; a second's
		// slack keeps the key at least until until.
		return txn.SetEntry(badger.NewEntry(k, v).WithTTL(until.Sub(at) + time.Second))
	})
	switch {
	case errors.Is(err, ErrReplay), errors.Is(err, badger.ErrConflict):
		return fmt.Errorf("%w: nonce %q from %s", ErrReplay, nonce, signer)
	case err != nil:
		return fmt.Errorf("replay store: %w", err)
	}
	return nil
}

// remembered reports whether item, a key Badger still holds, is
// remembered at the time at.
func remembered(item *badger.Item, at time.Time) bool {
	var until time.Time
	err := item.Value(func(v []byte) error { return until.UnmarshalBinary(v) })
	return err != nil || at.Before(until)
}
