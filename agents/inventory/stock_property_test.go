package inventory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestStockEquationHolds drives the service with random sequences of
// reservations, consumptions (with the low-stock restocks they trigger),
// releases before and after consumption, direct restocks, expiries and
// restarts, and checks after every step that, for every SKU, on hand is
// the seed plus the recorded restocks minus what was consumed and not
// returned, that reserved is what active reservations hold, and that
// nothing is oversold. LEDGER_STOCK_SEQUENCES sets how many sequences
// run (default 12).
func TestStockEquationHolds(t *testing.T) {
	sequences := 12
	if v, err := strconv.Atoi(os.Getenv("LEDGER_STOCK_SEQUENCES")); err == nil && v > 0 {
		sequences = v
	}
	var total sequenceStats
	for seq := range sequences {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			st := stockSequence(t, uint64(seq))
			total.ownRestocks += st.ownRestocks
			total.consumed += st.consumed
			total.releasedAfter += st.releasedAfter
			total.expired += st.expired
		})
	}
	// The sequences must have reached every path they claim to test.
	if total.ownRestocks == 0 || total.consumed == 0 || total.releasedAfter == 0 || total.expired == 0 {
		t.Fatalf("the sequences missed a path: %+v", total)
	}
}

// sequenceStats counts what a sequence reached.
type sequenceStats struct{ ownRestocks, consumed, releasedAfter, expired int }

// stockModel is what the stock must be, kept by the test.
type stockModel struct {
	seed, restocked map[string]int64
}

func stockSequence(t *testing.T, seed uint64) (stats sequenceStats) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	skus := []string{"A", "B", "C"}
	m := stockModel{seed: map[string]int64{}, restocked: map[string]int64{}}
	for _, sku := range skus {
		m.seed[sku] = int64(rng.IntN(12))
	}
	dir := t.TempDir()
	clock := &testClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	cfg := Config{Seed: m.seed, LowStockThreshold: 4, RestockAmount: 6, Now: clock.Now,
		Grants: grants{scopes: []string{"inventory:restock:max_qty6"}}}
	db := openDB(t, dir)
	defer func() { db.Close() }()
	open := func() *Service {
		s, err := NewService(db, rec, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	var ids []string
	pick := func() string {
		if len(ids) == 0 {
			return "none"
		}
		return ids[rng.IntN(len(ids))]
	}
	for step := range 120 {
		op := rng.IntN(8)
		switch op {
		case 0, 1: // reserve
			var kv []any
			for _, sku := range skus {
				if rng.IntN(2) == 0 {
					kv = append(kv, sku, 1+rng.IntN(5))
				}
			}
			if kv == nil {
				kv = []any{"A", 1}
			}
			ttl := int64(1 + rng.IntN(120))
			r := call(t, s.Reserve, orderAgent.DID, reserveBody(fmt.Sprintf("o%d", step), ttl, kv...))
			if r.status == 200 {
				ids = append(ids, r.str("reservation_id"))
			} else if r.reason() != ReasonInsufficientStock {
				t.Fatalf("step %d reserve: %s", step, r.raw)
			}
		case 2, 3: // consume
			id := pick()
			r := call(t, s.Consume, orderAgent.DID, map[string]any{"reservation_id": id})
			if r.status == 200 {
				var resp ConsumeResponse
				mustJSON(t, r.raw, &resp)
				for _, o := range resp.Restocks {
					if o.Done {
						m.restocked[o.SKU] += o.Qty
						stats.ownRestocks++
					}
				}
			}
		case 4: // release (before or after consumption)
			id := pick()
			before, _ := s.Store().Reservation(id)
			call(t, s.Release, orderAgent.DID, map[string]any{"reservation_id": id})
			if before.Status == StatusConsumed {
				stats.releasedAfter++
			}
		case 5: // a restock asked for by a caller whose contract grants it
			sku := skus[rng.IntN(len(skus))]
			qty := int64(1 + rng.IntN(5))
			if r := call(t, s.Restock, orderAgent.DID, map[string]any{"sku": sku, "qty": qty}); r.status != 200 {
				t.Fatalf("step %d restock: %s", step, r.raw)
			}
			m.restocked[sku] += qty
		case 6: // time passes; due reservations expire
			clock.add(time.Duration(rng.IntN(90)) * time.Second)
			if _, err := s.ExpireDue(clock.Now()); err != nil {
				t.Fatal(err)
			}
		case 7: // restart
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openDB(t, dir)
			s = open()
		}
		m.check(t, s, skus, ids, step, op)
	}
	for _, id := range ids {
		r, _ := s.Store().Reservation(id)
		switch r.Status {
		case StatusConsumed:
			stats.consumed++
		case StatusExpired:
			stats.expired++
		}
	}
	return stats
}

// check compares the store with the model after a step. It reads every
// reservation's status from the store and derives consumed and returned
// from them, so a reservation that changed status outside the model's
// view cannot hide.
func (m stockModel) check(t *testing.T, s *Service, skus, ids []string, step, op int) {
	t.Helper()
	consumed, reserved := map[string]int64{}, map[string]int64{}
	for _, id := range ids {
		r, err := s.Store().Reservation(id)
		if err != nil {
			t.Fatalf("step %d: reservation %s: %v", step, id, err)
		}
		for _, l := range r.Lines {
			switch r.Status {
			case StatusActive:
				reserved[l.SKU] += l.Qty
			case StatusConsumed:
				consumed[l.SKU] += l.Qty
			}
		}
	}
	for _, sku := range skus {
		st := stock(t, s, sku) // also 0 <= reserved <= on hand
		want := m.seed[sku] + m.restocked[sku] - consumed[sku]
		if st.OnHand != want || st.Reserved != reserved[sku] {
			t.Fatalf("step %d (op %d) %s: on hand %d reserved %d, want %d = seed %d + restocked %d - consumed %d, reserved %d",
				step, op, sku, st.OnHand, st.Reserved, want, m.seed[sku], m.restocked[sku], consumed[sku], reserved[sku])
		}
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}
