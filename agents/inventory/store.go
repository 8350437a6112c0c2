// Package inventory is the inventory agent's business logic, served
// behind guard.Guard: stock levels, reservations that expire, releases,
// restocks, and the low-stock restock the agent triggers itself (recorded
// in the ledger as its own action before the stock changes).
//
// State lives in the agent's own Badger store under "inventory/":
//
//	inventory/sku/<sku>                    {"on_hand":N,"reserved":N}
//	inventory/res/<id>                     a Reservation (JSON)
//	inventory/order/<owner>/<order id>     the reservation id of an order
//	inventory/exp/<16 hex nanos>/<id>      expiry index of active reservations
//
// Every change is one Badger transaction (optimistic, with conflict
// detection, retried on conflict), so for every SKU 0 <= reserved <=
// on_hand holds at every commit, whatever runs concurrently, and so does
// the stock equation: on_hand = seeded + restocked - consumed, where a
// reservation is consumed when its order's goods leave (the order was
// charged). Consumed stock never comes back by a release: a restock the
// consumption triggered would otherwise stay, and reserve, consume,
// release would make stock from nothing. Goods that do come back are a
// restock by a caller whose contract grants it.
package inventory

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/jsonkv"
)

// Errors of the store. Handlers map them to HTTP answers.
var (
	ErrInsufficientStock = errors.New("insufficient stock")
	ErrUnknownSKU        = errors.New("unknown sku")
	ErrUnknownReserve    = errors.New("unknown reservation")
	ErrOrderConflict     = errors.New("order already reserved with other lines")
	ErrNotActive         = errors.New("reservation not active")
	ErrOverflow          = errors.New("quantity overflow")
)

// Status of a reservation.
type Status string

// The statuses of a reservation. Only an active one holds stock.
const (
	StatusActive   Status = "active"
	StatusReleased Status = "released"
	StatusExpired  Status = "expired"
	StatusConsumed Status = "consumed"
)

// Line is one SKU and quantity of a reservation.
type Line struct {
	SKU string `json:"sku"`
	Qty int64  `json:"qty"`
}

// Reservation holds stock for one order of one caller until it expires.
type Reservation struct {
	ID      string    `json:"id"`
	Owner   string    `json:"owner"` // the caller's DID; order ids are per owner
	OrderID string    `json:"order_id"`
	Lines   []Line    `json:"lines"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Status  Status    `json:"status"`
}

// Stock is one SKU's level.
type Stock struct {
	SKU      string `json:"sku"`
	OnHand   int64  `json:"on_hand"`
	Reserved int64  `json:"reserved"`
}

// Available is what can still be reserved.
func (s Stock) Available() int64 { return s.OnHand - s.Reserved }

type stockRec struct {
	OnHand   int64 `json:"on_hand"`
	Reserved int64 `json:"reserved"`
}

const (
	prefix      = "inventory/"
	skuPrefix   = prefix + "sku/"
	resPrefix   = prefix + "res/"
	orderPrefix = prefix + "order/"
	expPrefix   = prefix + "exp/"
	// maxAttempts bounds the retries of a transaction that conflicts.
	maxAttempts = 1000
)

func skuKey(sku string) []byte { return []byte(skuPrefix + sku) }
func resKey(id string) []byte  { return []byte(resPrefix + id) }
func orderKey(owner, order string) []byte {
	return []byte(orderPrefix + owner + "/" + order)
}
func expKey(t time.Time, id string) []byte {
	return []byte(fmt.Sprintf("%s%016x/%s", expPrefix, uint64(max(t.UnixNano(), 0)), id))
}

// Store is the inventory state. It is safe for concurrent use.
type Store struct {
	db *badger.DB
}

// NewStore returns a store over db, which the caller opened (with
// conflict detection on, the Badger default) and closes.
func NewStore(db *badger.DB) *Store { return &Store{db: db} }

// update runs fn in a read-write transaction, retrying it on conflict.
// fn must set its results afresh on every run.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	for attempt := 1; ; attempt++ {
		err := s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) || attempt >= maxAttempts {
			return err
		}
		time.Sleep(time.Duration(mrand.IntN(200*min(attempt, 50))) * time.Microsecond)
	}
}

func getStock(txn *badger.Txn, sku string) (stockRec, bool, error) {
	var r stockRec
	ok, err := jsonkv.Get(txn, skuKey(sku), &r)
	return r, ok, err
}

// Seed sets the on-hand stock of every SKU of seed the store does not
// know yet; SKUs already present keep their state, so reopening a store
// never resets it.
func (s *Store) Seed(seed map[string]int64) error {
	for sku, qty := range seed {
		if !jsonapi.ValidID(sku, maxSKULen) || qty < 0 {
			return fmt.Errorf("inventory: bad seed %q=%d", sku, qty)
		}
		err := s.update(func(txn *badger.Txn) error {
			if _, ok, err := getStock(txn, sku); err != nil || ok {
				return err
			}
			return jsonkv.Set(txn, skuKey(sku), stockRec{OnHand: qty})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Stock returns a SKU's level, or ErrUnknownSKU.
func (s *Store) Stock(sku string) (Stock, error) {
	var st Stock
	err := s.db.View(func(txn *badger.Txn) error {
		r, ok, err := getStock(txn, sku)
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownSKU
		}
		st = Stock{SKU: sku, OnHand: r.OnHand, Reserved: r.Reserved}
		return nil
	})
	return st, err
}

// Restock adds qty (> 0) to a SKU's on-hand stock, creating the SKU if
// needed, and returns the new level.
func (s *Store) Restock(sku string, qty int64) (Stock, error) {
	if qty <= 0 {
		return Stock{}, fmt.Errorf("inventory: restock of %d", qty)
	}
	var st Stock
	err := s.update(func(txn *badger.Txn) error {
		r, _, err := getStock(txn, sku)
		if err != nil {
			return err
		}
		if r.OnHand > math.MaxInt64-qty {
			return ErrOverflow
		}
		r.OnHand += qty
		st = Stock{SKU: sku, OnHand: r.OnHand, Reserved: r.Reserved}
		return jsonkv.Set(txn, skuKey(sku), r)
	})
	return st, err
}

// Reserve holds lines (normalized: sorted, SKUs unique, quantities > 0)
// for owner's order until expires, all or nothing. A retry with the same
// owner, order id and lines returns the stored reservation, whatever its
// status, and created=false; other lines give ErrOrderConflict. Stock
// short on any line gives ErrInsufficientStock (an unknown SKU has none).
func (s *Store) Reserve(owner, orderID string, lines []Line, now, expires time.Time) (res Reservation, created bool, err error) {
	id, err := newID()
	if err != nil {
		return Reservation{}, false, err
	}
	err = s.update(func(txn *badger.Txn) error {
		created = false
		item, err := txn.Get(orderKey(owner, orderID))
		switch {
		case err == nil:
			var existing []byte
			if existing, err = item.ValueCopy(nil); err != nil {
				return err
			}
			if ok, err := jsonkv.Get(txn, resKey(string(existing)), &res); err != nil || !ok {
				return errors.Join(err, fmt.Errorf("inventory: order index names a missing reservation %s", existing))
			}
			if !sameLines(res.Lines, lines) {
				return ErrOrderConflict
			}
			return nil
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		for _, l := range lines {
			r, _, err := getStock(txn, l.SKU)
			if err != nil {
				return err
			}
			if r.OnHand-r.Reserved < l.Qty {
				return fmt.Errorf("%w: %s has %d available, %d asked", ErrInsufficientStock, l.SKU, max(r.OnHand-r.Reserved, 0), l.Qty)
			}
			r.Reserved += l.Qty
			if err := jsonkv.Set(txn, skuKey(l.SKU), r); err != nil {
				return err
			}
		}
		res = Reservation{ID: id, Owner: owner, OrderID: orderID, Lines: lines,
			Created: now.UTC(), Expires: expires.UTC(), Status: StatusActive}
		if err := jsonkv.Set(txn, resKey(id), res); err != nil {
			return err
		}
		if err := txn.Set(orderKey(owner, orderID), []byte(id)); err != nil {
			return err
		}
		created = true
		return txn.Set(expKey(res.Expires, id), nil)
	})
	return res, created, err
}

// Reservation returns a stored reservation, or ErrUnknownReserve.
func (s *Store) Reservation(id string) (Reservation, error) {
	var res Reservation
	err := s.db.View(func(txn *badger.Txn) error {
		ok, err := jsonkv.Get(txn, resKey(id), &res)
		if err == nil && !ok {
			err = ErrUnknownReserve
		}
		return err
	})
	return res, err
}

// finish moves an active reservation to status to, giving its stock
// back (released, expired) or taking it out of on-hand (consumed). It
// returns the reservation as stored afterwards, and whether it changed.
func (s *Store) finish(id string, to Status, owner string, due func(Reservation) bool) (Reservation, bool, error) {
	var res Reservation
	var changed bool
	err := s.update(func(txn *badger.Txn) error {
		changed = false
		ok, err := jsonkv.Get(txn, resKey(id), &res)
		if err != nil {
			return err
		}
		if !ok || (owner != "" && res.Owner != owner) {
			return ErrUnknownReserve
		}
		if res.Status != StatusActive || (due != nil && !due(res)) {
			return nil
		}
		for _, l := range res.Lines {
			r, found, err := getStock(txn, l.SKU)
			if err != nil {
				return err
			}
			if !found || r.Reserved < l.Qty || (to == StatusConsumed && r.OnHand < l.Qty) {
				return fmt.Errorf("inventory: stock of %s does not hold reservation %s", l.SKU, id)
			}
			r.Reserved -= l.Qty
			if to == StatusConsumed {
				r.OnHand -= l.Qty
			}
			if err := jsonkv.Set(txn, skuKey(l.SKU), r); err != nil {
				return err
			}
		}
		if err := txn.Delete(expKey(res.Expires, id)); err != nil {
			return err
		}
		res.Status = to
		changed = true
		return jsonkv.Set(txn, resKey(id), res)
	})
	return res, changed, err
}

// Release gives an active reservation's stock back. Releasing one that
// is no longer active (released, expired, or consumed: consumed goods do
// not come back) changes nothing and is not an error (idempotent). An
// owner other than "" must match the reservation's.
func (s *Store) Release(owner, id string) (Reservation, error) {
	res, _, err := s.finish(id, StatusReleased, owner, nil)
	return res, err
}

// Consume takes an active reservation's stock out of on-hand (the goods
// left) at now. A reservation no longer active, or due to expire by now
// though the sweep has not run yet, gives ErrNotActive: its stock may be
// another order's by then. A consumed one is consumed again without
// change (idempotent). consumed reports whether this call took the stock.
func (s *Store) Consume(owner, id string, now time.Time) (res Reservation, consumed bool, err error) {
	res, consumed, err = s.finish(id, StatusConsumed, owner, func(r Reservation) bool { return r.Expires.After(now) })
	if err == nil && !consumed && res.Status != StatusConsumed {
		if res.Status == StatusActive {
			return res, false, fmt.Errorf("%w: it expired at %s", ErrNotActive, res.Expires.Format(time.RFC3339))
		}
		return res, false, fmt.Errorf("%w: it is %s", ErrNotActive, res.Status)
	}
	return res, consumed, err
}

// ExpireDue expires every active reservation whose expiry is at or before
// now, giving its stock back, and returns how many it expired.
func (s *Store) ExpireDue(now time.Time) (int, error) {
	n := 0
	limit := expKey(now, "") // keys up to now's nanos; "/" sorts before hex digits
	limit = append(limit[:len(limit)-1], '0')
	for {
		var ids []string
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(expPrefix)})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(ids) < 256; it.Next() {
				k := it.Item().Key()
				if bytes.Compare(k, limit) >= 0 {
					break
				}
				ids = append(ids, string(k[len(expPrefix)+17:]))
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			return n, err
		}
		batch := 0
		for _, id := range ids {
			_, changed, err := s.finish(id, StatusExpired, "", func(r Reservation) bool { return !r.Expires.After(now) })
			if err != nil {
				return n, err
			}
			if changed {
				batch++
			}
		}
		n += batch
		if len(ids) < 256 || batch == 0 {
			return n, nil
		}
	}
}

func sameLines(a, b []Line) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
