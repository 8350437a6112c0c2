// Package fulfillment is the fulfillment agent's business logic, served
// behind guard.Guard: shipping labels from a simulated carrier, and the
// customer's shipping message, written by a Notifier (a template, or an
// LLM with the template as its fallback) into an outbox.
//
// The agent acts on nothing but its own store: the Service holds no client
// for other agents, so nothing a customer's note or a model's answer says
// can make it charge, refund or call anyone. A Notifier sees only the
// minimum (MessageInput: first name, items, carrier, tracking number and
// the note as untrusted data), never the address or payment data.
//
// State lives in the agent's own Badger store under "fulfillment/":
//
//	fulfillment/label/<order id>    a Label (JSON)
//	fulfillment/outbox/<order id>   a Message (JSON)
//
// Both are idempotent by order id: a retry returns what is stored.
package fulfillment

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/internal/jsonkv"
)

// Errors of the store. Handlers map them to HTTP answers.
var (
	ErrNotFound      = errors.New("not found")
	ErrOrderConflict = errors.New("order already handled with other details")
)

// Source says who wrote a customer message.
type Source string

// The sources of a message.
const (
	SourceTemplate         Source = "template"
	SourceLLM              Source = "llm"
	SourceTemplateFallback Source = "template_fallback"
)

// Label is a shipping label of one order.
type Label struct {
	ID             string    `json:"id"`
	OrderID        string    `json:"order_id"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	Name           Name      `json:"name"`
	Address        Address   `json:"address"`
	Items          []Item    `json:"items"`
	Created        time.Time `json:"created"`
	ReceiptIndex   uint64    `json:"receipt_index"`
	// Digest is the SHA-256 of the normalized request, to tell a retry
	// from a different request under the same order id.
	Digest string `json:"digest"`
}

// Message is one customer message in the outbox. Text is plain text only:
// it is stored and shown, never parsed or acted on.
type Message struct {
	ID           string    `json:"id"`
	OrderID      string    `json:"order_id"`
	To           string    `json:"to"` // the first name only
	Text         string    `json:"text"`
	Source       Source    `json:"source"`
	Created      time.Time `json:"created"`
	ReceiptIndex uint64    `json:"receipt_index"`
	Digest       string    `json:"digest"`
}

const (
	prefix       = "fulfillment/"
	labelPrefix  = prefix + "label/"
	outboxPrefix = prefix + "outbox/"
)

func labelKey(order string) []byte  { return []byte(labelPrefix + order) }
func outboxKey(order string) []byte { return []byte(outboxPrefix + order) }

// Store is the fulfillment state. It is safe for concurrent use.
type Store struct {
	db *badger.DB
}

// NewStore returns a store over db, which the caller opened and closes.
func NewStore(db *badger.DB) *Store { return &Store{db: db} }

// putOnce stores v at key unless the key holds a value already; then it
// decodes that into old and reports created=false. It retries a
// conflicting transaction, so of concurrent writers exactly one creates.
func putOnce(db *badger.DB, key []byte, v, old any) (created bool, err error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	for attempt := 0; attempt < 100; attempt++ {
		err = db.Update(func(txn *badger.Txn) error {
			ok, err := jsonkv.Get(txn, key, old)
			if err != nil || ok {
				created = false
				return err
			}
			created = true
			return txn.Set(key, b)
		})
		if !errors.Is(err, badger.ErrConflict) {
			return created, err
		}
	}
	return false, err
}

// PutLabel stores l unless its order has a label already. A label with
// the same digest is returned as stored (created=false); another digest
// gives the stored label and ErrOrderConflict.
func (s *Store) PutLabel(l Label) (Label, bool, error) {
	var old Label
	created, err := putOnce(s.db, labelKey(l.OrderID), l, &old)
	switch {
	case err != nil:
		return Label{}, false, err
	case created:
		return l, true, nil
	case old.Digest != l.Digest:
		return old, false, ErrOrderConflict
	}
	return old, false, nil
}

// Label returns the label of an order, or ErrNotFound.
func (s *Store) Label(orderID string) (Label, error) {
	var l Label
	err := s.db.View(func(txn *badger.Txn) error {
		ok, err := jsonkv.Get(txn, labelKey(orderID), &l)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	return l, err
}

// PutMessage puts m in the outbox unless its order has a message already,
// with the same rules as PutLabel.
func (s *Store) PutMessage(m Message) (Message, bool, error) {
	var old Message
	created, err := putOnce(s.db, outboxKey(m.OrderID), m, &old)
	switch {
	case err != nil:
		return Message{}, false, err
	case created:
		return m, true, nil
	case old.Digest != m.Digest:
		return old, false, ErrOrderConflict
	}
	return old, false, nil
}

// Message returns the outbox message of an order, or ErrNotFound.
func (s *Store) Message(orderID string) (Message, error) {
	var m Message
	err := s.db.View(func(txn *badger.Txn) error {
		ok, err := jsonkv.Get(txn, outboxKey(orderID), &m)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return err
	})
	return m, err
}

// Outbox returns every message in the outbox, by order id.
func (s *Store) Outbox() ([]Message, error) {
	var out []Message
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(outboxPrefix), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var m Message
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &m) }); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
