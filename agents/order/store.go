package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Order statuses.
const (
	StatusProcessing        = "processing"         // steps under way (or interrupted: a retry resumes)
	StatusCompleted         = "completed"          // reserved, charged, consumed, labelled (unless digital), notified
	StatusRefused           = "refused"            // refused before anything was done
	StatusReservationFailed = "reservation_failed" // stock could not be reserved; nothing to undo
	StatusPaymentFailed     = "payment_failed"     // the charge failed; the reservation was released
	StatusFulfillmentFailed = "fulfillment_failed" // the consume or label failed; the charge was refunded (an unconsumed reservation released)
	StatusNeedsAttention    = "needs_attention"    // a person must look: see Reason
)

// Step outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// Step is one downstream call the order agent made.
type Step struct {
	Action     string    `json:"action"` // e.g. "inventory:reserve"
	Outcome    string    `json:"outcome"`
	HTTPStatus int       `json:"http_status,omitempty"`
	Error      string    `json:"error,omitempty"`
	Receipt    *uint64   `json:"receipt_index,omitempty"` // the callee's Ledger-Receipt
	Time       time.Time `json:"time"`
}

// Label is a shipment's label.
type Label struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// Order is the order agent's record of one order.
type Order struct {
	ID             string   `json:"id"`  // the creator's order id
	Ref            string   `json:"ref"` // the id used downstream, unique per creator and id
	Creator        string   `json:"creator"`
	Digest         string   `json:"digest"`
	Classification string   `json:"classification"`
	Digital        bool     `json:"digital"`
	Status         string   `json:"status"`
	Reason         string   `json:"reason,omitempty"` // machine-readable, for every status but processing and completed
	Detail         string   `json:"detail,omitempty"` // for a person
	Customer       Customer `json:"customer"`
	Address        Address  `json:"address"`
	Items          []Item   `json:"items"`
	Note           string   `json:"note,omitempty"`
	Amount         int64    `json:"amount"`
	Currency       string   `json:"currency"`
	// CreateReceipt is the order agent's own approval of the first
	// order:create; RetryReceipts those of the retries.
	CreateReceipt uint64    `json:"create_receipt_index"`
	RetryReceipts []uint64  `json:"retry_receipt_indexes,omitempty"`
	Steps         []Step    `json:"steps"`
	ReservationID string    `json:"reservation_id,omitempty"`
	ChargeID      string    `json:"charge_id,omitempty"`
	Consumed      bool      `json:"consumed,omitempty"` // the reservation's stock was taken out of inventory
	RefundID      string    `json:"refund_id,omitempty"`
	Label         *Label    `json:"label,omitempty"`
	Notified      bool      `json:"notified,omitempty"`
	Flags         []string  `json:"flags,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// terminal reports whether nothing more will be done for o.
func (o *Order) terminal() bool { return o.Status != StatusProcessing }

func (o *Order) flag(f string) {
	for _, g := range o.Flags {
		if g == f {
			return
		}
	}
	o.Flags = append(o.Flags, f)
}

// ErrNotFound is returned for an order the store does not hold.
var ErrNotFound = errors.New("order not found")

// Store keeps orders in the agent's own Badger, under "order/".
type Store struct {
	db    *badger.DB
	mu    sync.Mutex
	locks map[string]*refLock
}

type refLock struct {
	sync.Mutex
	n int
}

// NewStore returns a Store over db.
func NewStore(db *badger.DB) *Store { return &Store{db: db, locks: map[string]*refLock{}} }

// Ref is the downstream id of creator's order id: its own namespace per
// creator, of a form every downstream agent accepts.
func Ref(creator, id string) string {
	sum := sha256.Sum256([]byte(creator + "\n" + id))
	return "o-" + hex.EncodeToString(sum[:16])
}

func key(ref string) []byte { return []byte("order/o/" + ref) }

// Get returns the order of ref.
func (s *Store) Get(ref string) (Order, error) {
	var o Order
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key(ref))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &o) })
	})
	return o, err
}

// Put writes o.
func (s *Store) Put(o *Order) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key(o.Ref), b) })
}

// lock serializes the work on one order in this process.
func (s *Store) lock(ref string) func() {
	s.mu.Lock()
	l := s.locks[ref]
	if l == nil {
		l = &refLock{}
		s.locks[ref] = l
	}
	l.n++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.n--; l.n == 0 {
			delete(s.locks, ref)
		}
		s.mu.Unlock()
	}
}
