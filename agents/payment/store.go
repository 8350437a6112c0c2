package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/internal/jsonkv"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Statuses of charges and refunds.
const (
	StatusPending   = "pending" // the processor was (or is about to be) asked; the answer is not recorded yet
	StatusSucceeded = "succeeded"
	StatusDeclined  = "declined" // a charge the processor declined
	StatusFailed    = "failed"   // a refund the processor refused
)

// ChargeRecord is one charge as the agent keeps it. It holds the card's
// last four digits only, never the card number.
type ChargeRecord struct {
	ID             string `json:"id"`
	Caller         string `json:"caller"`
	OrderID        string `json:"order_id"`
	IdempotencyKey string `json:"idempotency_key"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	CardLast4      string `json:"card_last4"`
	Status         string `json:"status"`
	DeclineReason  string `json:"decline_reason,omitempty"`
	ProcessorID    string `json:"processor_id,omitempty"`
	ReceiptIndex   uint64 `json:"receipt_index"`
	// ReceiptLeafHash is the base64 leaf hash of the action entry at
	// ReceiptIndex, which every refund of the charge names as its target.
	ReceiptLeafHash string `json:"receipt_leaf_hash,omitempty"`
	Refunded        int64  `json:"refunded"` // succeeded and pending refunds, minor units
	// RefundApprovals maps the args_digest of every refund approved
	// against the charge to its amount, whatever the processor then
	// answered: what an auditor counts against the charge from the log.
	RefundApprovals map[string]int64 `json:"refund_approvals,omitempty"`
	Time            time.Time        `json:"time"`
}

// approved is the sum of the refunds approved against c.
func (c *ChargeRecord) approved() int64 {
	var n int64
	for _, v := range c.RefundApprovals {
		n += v
	}
	return n
}

// target is the reference to c's action entry that its refunds' action
// entries carry, or false for a charge recorded before charges kept their
// entry's leaf hash.
func (c *ChargeRecord) target() (*statement.EntryRef, bool) {
	h, err := proofs.ParseHash(c.ReceiptLeafHash)
	if err != nil {
		return nil, false
	}
	return &statement.EntryRef{Index: c.ReceiptIndex, LeafHash: h}, true
}

// RefundRecord is one refund as the agent keeps it.
type RefundRecord struct {
	ID             string    `json:"id"`
	Caller         string    `json:"caller"`
	ChargeID       string    `json:"charge_id"`
	IdempotencyKey string    `json:"idempotency_key"`
	Amount         int64     `json:"amount"`
	Currency       string    `json:"currency"`
	Status         string    `json:"status"`
	FailureReason  string    `json:"failure_reason,omitempty"`
	ProcessorID    string    `json:"processor_id,omitempty"`
	ReceiptIndex   uint64    `json:"receipt_index"`
	Time           time.Time `json:"time"`
}

// ReceiptRecord is what the agent did with one approved request: one per
// action entry the guard wrote for this agent, whatever the answer
// (a first charge, a replayed retry, a refusal). Reconcile matches them
// against the ledger.
type ReceiptRecord struct {
	Index      uint64    `json:"index"`
	Action     string    `json:"action"`
	Caller     string    `json:"caller"`
	ArgsDigest string    `json:"args_digest"`
	Amount     *int64    `json:"amount,omitempty"`
	Currency   string    `json:"currency,omitempty"`
	ChargeID   string    `json:"charge_id,omitempty"`
	RefundID   string    `json:"refund_id,omitempty"`
	Outcome    string    `json:"outcome"`
	Time       time.Time `json:"time"`
}

const (
	prefix        = "payment/"
	prefixCharge  = prefix + "charge/"
	prefixRefund  = prefix + "refund/"
	prefixReceipt = prefix + "receipt/"
	prefixIdem    = prefix + "idem/"
)

func chargeKey(id string) []byte { return []byte(prefixCharge + id) }
func refundKey(id string) []byte { return []byte(prefixRefund + id) }
func receiptKey(i uint64) []byte { return fmt.Appendf(nil, "%s%020d", prefixReceipt, i) }
func idemKey(kind, caller, key string) []byte {
	// DIDs and idempotency keys hold no '/', so the key is unambiguous.
	return []byte(prefixIdem + kind + "/" + caller + "/" + key)
}

// errNotFound is a missing record.
var errNotFound = errors.New("payment: record not found")

// Store keeps the payment agent's records in its own Badger database,
// under keys starting "payment/". It is safe for concurrent use; callers
// serialize work on one idempotency key or charge with its locks.
type Store struct {
	db    *badger.DB
	locks keyLocks
}

// NewStore returns a store over db, which the caller opened and closes.
func NewStore(db *badger.DB) *Store {
	return &Store{db: db, locks: keyLocks{m: map[string]*keyLock{}}}
}

// Charge returns the charge with id.
func (s *Store) Charge(id string) (ChargeRecord, error) {
	var c ChargeRecord
	err := s.db.View(func(txn *badger.Txn) error { return get(txn, chargeKey(id), &c) })
	return c, err
}

// Refund returns the refund with id.
func (s *Store) Refund(id string) (RefundRecord, error) {
	var r RefundRecord
	err := s.db.View(func(txn *badger.Txn) error { return get(txn, refundKey(id), &r) })
	return r, err
}

// byKey returns the id stored under an idempotency key, or "".
func (s *Store) byKey(kind, caller, key string) (string, error) {
	var id string
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(idemKey(kind, caller, key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := it.ValueCopy(nil)
		id = string(v)
		return err
	})
	return id, err
}

// Charges calls fn for every charge record, in id order.
func (s *Store) Charges(fn func(ChargeRecord) error) error {
	return scan(s.db, prefixCharge, fn)
}

// Refunds calls fn for every refund record, in id order.
func (s *Store) Refunds(fn func(RefundRecord) error) error {
	return scan(s.db, prefixRefund, fn)
}

// Receipts calls fn for every receipt record, in index order.
func (s *Store) Receipts(fn func(ReceiptRecord) error) error {
	return scan(s.db, prefixReceipt, fn)
}

// write is one atomic change of records; nil parts are left out.
type write struct {
	charge  *ChargeRecord
	refund  *RefundRecord
	receipt *ReceiptRecord
	idem    []byte // with idemID: a new idempotency key
	idemID  string
}

// apply writes w in one transaction, retrying on a Badger conflict.
func (s *Store) apply(w write) error {
	for range 8 {
		err := s.db.Update(func(txn *badger.Txn) error {
			if w.idem != nil {
				if err := txn.Set(w.idem, []byte(w.idemID)); err != nil {
					return err
				}
			}
			if w.charge != nil {
				if err := jsonkv.Set(txn, chargeKey(w.charge.ID), w.charge); err != nil {
					return err
				}
			}
			if w.refund != nil {
				if err := jsonkv.Set(txn, refundKey(w.refund.ID), w.refund); err != nil {
					return err
				}
			}
			if w.receipt != nil {
				return jsonkv.Set(txn, receiptKey(w.receipt.Index), w.receipt)
			}
			return nil
		})
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return badger.ErrConflict
}

// get decodes the record at k into v, or answers errNotFound.
func get(txn *badger.Txn, k []byte, v any) error {
	found, err := jsonkv.Get(txn, k, v)
	if err == nil && !found {
		return errNotFound
	}
	return err
}

func scan[T any](db *badger.DB, p string, fn func(T) error) error {
	return db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(p)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v T
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
				return fmt.Errorf("payment store: %s: %w", it.Item().Key(), err)
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		return nil
	})
}

// keyLocks serializes work per key (an idempotency key, a charge) inside
// this process. Badger allows one process per database, so that is
// enough for exactly-once processor calls.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu sync.Mutex
	n  int
}

// lock locks k and returns its unlock.
func (l *keyLocks) lock(k string) func() {
	l.mu.Lock()
	kl := l.m[k]
	if kl == nil {
		kl = &keyLock{}
		l.m[k] = kl
	}
	kl.n++
	l.mu.Unlock()
	kl.mu.Lock()
	return func() {
		kl.mu.Unlock()
		l.mu.Lock()
		if kl.n--; kl.n == 0 {
			delete(l.m, k)
		}
		l.mu.Unlock()
	}
}
