package inventory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestReserveReleaseCheckArithmetic(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true})
	got := call(t, s.Check, orderAgent.DID, `{"sku":"A"}`)
	if got.status != 200 || got.num("on_hand") != 10 || got.num("reserved") != 0 || got.num("available") != 10 {
		t.Fatalf("check: %s", got.raw)
	}
	r := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 3))
	if r.status != 200 || r.str("status") != "active" || r.str("reservation_id") == "" {
		t.Fatalf("reserve: %s", r.raw)
	}
	got = call(t, s.Check, orderAgent.DID, `{"sku":"A"}`)
	if got.num("on_hand") != 10 || got.num("reserved") != 3 || got.num("available") != 7 {
		t.Fatalf("check after reserve: %s", got.raw)
	}
	// Another caller cannot release it: to it, the reservation is unknown.
	rel := map[string]string{"reservation_id": r.str("reservation_id")}
	if got := call(t, s.Release, otherAgent.DID, rel); got.status != 404 || got.reason() != "reservation_unknown" {
		t.Fatalf("release by another caller: %s", got.raw)
	}
	for i := 0; i < 2; i++ { // idempotent
		if got := call(t, s.Release, orderAgent.DID, rel); got.status != 200 || got.str("status") != "released" {
			t.Fatalf("release %d: %s", i, got.raw)
		}
		wantStock(t, s, "A", 10, 0)
	}
	if got := call(t, s.Release, orderAgent.DID, `{"reservation_id":"nope"}`); got.status != 404 {
		t.Fatalf("release unknown: %s", got.raw)
	}
	if got := call(t, s.Restock, orderAgent.DID, `{"sku":"A","qty":5}`); got.status != 200 || got.num("on_hand") != 15 || got.num("available") != 15 {
		t.Fatalf("restock: %s", got.raw)
	}
	if got := call(t, s.Restock, orderAgent.DID, `{"sku":"NEW","qty":2}`); got.status != 200 || got.num("on_hand") != 2 {
		t.Fatalf("restock of a new SKU: %s", got.raw)
	}
	if got := call(t, s.Check, orderAgent.DID, `{"sku":"missing"}`); got.status != 404 || got.reason() != "unknown_sku" {
		t.Fatalf("check unknown: %s", got.raw)
	}
}

func TestReserveIsAllOrNothing(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 5, "B": 1}, DisableRestock: true})
	for _, body := range []any{
		reserveBody("o1", 0, "A", 2, "B", 2),
		reserveBody("o2", 0, "A", 2, "GHOST", 1),
		reserveBody("o3", 0, "B", 1, "A", 6),
	} {
		got := call(t, s.Reserve, orderAgent.DID, body)
		if got.status != http.StatusConflict || got.reason() != "insufficient_stock" {
			t.Fatalf("reserve %v: %s", body, got.raw)
		}
		wantStock(t, s, "A", 5, 0)
		wantStock(t, s, "B", 1, 0)
	}
	// The refused order id is free to use afterwards.
	if got := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 5, "B", 1)); got.status != 200 {
		t.Fatalf("reserve of everything: %s", got.raw)
	}
	wantStock(t, s, "A", 5, 5)
	wantStock(t, s, "B", 1, 1)
}

func TestConcurrentReservesNeverOversell(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10, "B": 100}, DisableRestock: true})
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := reserveBody(fmt.Sprintf("order-%d", i), 0, "A", 1, "B", 1)
			if i%2 == 0 {
				body = reserveBody(fmt.Sprintf("order-%d", i), 0, "A", 1)
			}
			statuses[i] = call(t, s.Reserve, orderAgent.DID, body).status
		}()
	}
	wg.Wait()
	ok, conflict, withB := 0, 0, int64(0)
	for i, st := range statuses {
		switch st {
		case 200:
			ok++
			if i%2 == 1 {
				withB++
			}
		case 409:
			conflict++
		default:
			t.Fatalf("reserve %d: status %d", i, st)
		}
	}
	if ok != 10 || conflict != 40 {
		t.Fatalf("%d reserved and %d refused, want 10 and 40", ok, conflict)
	}
	wantStock(t, s, "A", 10, 10)
	wantStock(t, s, "B", 100, withB) // all or nothing: B only with A
}

func TestReserveIsIdempotentByOrderAlsoAfterReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	cfg := Config{Seed: map[string]int64{"A": 10}, DisableRestock: true}
	s, err := NewService(db, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 3))
	again := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 3))
	if first.status != 200 || again.status != 200 || first.str("reservation_id") != again.str("reservation_id") {
		t.Fatalf("retried reserve: %s then %s", first.raw, again.raw)
	}
	wantStock(t, s, "A", 10, 3)
	if got := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 4)); got.status != 409 || got.reason() != "order_conflict" {
		t.Fatalf("same order, other lines: %s", got.raw)
	}
	// Order ids are per caller.
	if got := call(t, s.Reserve, otherAgent.DID, reserveBody("o1", 0, "A", 3)); got.status != 200 || got.str("reservation_id") == first.str("reservation_id") {
		t.Fatalf("another caller's o1: %s", got.raw)
	}
	wantStock(t, s, "A", 10, 6)
	db.Close()

	db = openDB(t, dir)
	defer db.Close()
	s, err = NewService(db, nil, cfg) // the seed does not reset stock
	if err != nil {
		t.Fatal(err)
	}
	wantStock(t, s, "A", 10, 6)
	after := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 3))
	if after.status != 200 || after.str("reservation_id") != first.str("reservation_id") {
		t.Fatalf("reserve after reopen: %s", after.raw)
	}
	wantStock(t, s, "A", 10, 6)
}

func TestExpiryReleasesStock(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true, Now: clock.Now, DefaultTTL: time.Minute})
	short := call(t, s.Reserve, orderAgent.DID, reserveBody("short", 60, "A", 2))
	def := call(t, s.Reserve, orderAgent.DID, reserveBody("default", 0, "A", 3))
	long := call(t, s.Reserve, orderAgent.DID, reserveBody("long", 3600, "A", 4))
	wantStock(t, s, "A", 10, 9)
	start := clock.Now()
	if n, err := s.ExpireDue(start.Add(59 * time.Second)); err != nil || n != 0 {
		t.Fatalf("expired %d early (%v)", n, err)
	}
	if n, err := s.ExpireDue(start.Add(60 * time.Second)); err != nil || n != 2 {
		t.Fatalf("expired %d at the deadline, want 2 (%v)", n, err)
	}
	wantStock(t, s, "A", 10, 4)
	for _, id := range []string{short.str("reservation_id"), def.str("reservation_id")} {
		if r, err := s.Store().Reservation(id); err != nil || r.Status != StatusExpired {
			t.Fatalf("reservation %s: %+v %v", id, r, err)
		}
	}
	// Releasing an expired reservation changes nothing.
	got := call(t, s.Release, orderAgent.DID, map[string]string{"reservation_id": short.str("reservation_id")})
	if got.status != 200 || got.str("status") != "expired" {
		t.Fatalf("release after expiry: %s", got.raw)
	}
	wantStock(t, s, "A", 10, 4)
	// A retried reserve returns the expired reservation; it holds nothing.
	if got := call(t, s.Reserve, orderAgent.DID, reserveBody("short", 60, "A", 2)); got.str("status") != "expired" {
		t.Fatalf("retry after expiry: %s", got.raw)
	}

	// The background loop expires the long one once its time comes.
	clock.add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for stock(t, s, "A").Reserved != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not expire the reservation")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	if r, _ := s.Store().Reservation(long.str("reservation_id")); r.Status != StatusExpired {
		t.Fatalf("long reservation: %+v", r)
	}
}

func TestConsume(t *testing.T) {
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true})
	r := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 0, "A", 4))
	id := r.str("reservation_id")
	now := time.Now()
	for i := 0; i < 2; i++ {
		if res, consumed, err := s.Store().Consume(orderAgent.DID, id, now); err != nil || res.Status != StatusConsumed || consumed != (i == 0) {
			t.Fatalf("consume %d: %+v, consumed %v, %v", i, res, consumed, err)
		}
		wantStock(t, s, "A", 6, 0)
	}
	// Consumed goods never come back by a release.
	for i := 0; i < 2; i++ {
		if res, err := s.Store().Release(orderAgent.DID, id); err != nil || res.Status != StatusConsumed {
			t.Fatalf("release %d after consume: %+v %v", i, res, err)
		}
		wantStock(t, s, "A", 6, 0)
	}
	r = call(t, s.Reserve, orderAgent.DID, reserveBody("o2", 0, "A", 1))
	if _, err := s.Store().Release("", r.str("reservation_id")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Store().Consume(orderAgent.DID, r.str("reservation_id"), now); !errors.Is(err, ErrNotActive) {
		t.Fatalf("consumed a released reservation: %v", err)
	}
	wantStock(t, s, "A", 6, 0)
}

// TestConsumeAfterExpiryIsRefused: a reservation past its expiry cannot
// be consumed, whether or not the sweep has run.
func TestConsumeAfterExpiryIsRefused(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	s := newService(t, nil, Config{Seed: map[string]int64{"A": 10}, DisableRestock: true, Now: clock.Now})
	r := call(t, s.Reserve, orderAgent.DID, reserveBody("o1", 1, "A", 4))
	clock.add(time.Hour)
	got := call(t, s.Consume, orderAgent.DID, map[string]any{"reservation_id": r.str("reservation_id")})
	if got.status != 409 || got.reason() != ReasonReservationNotActive {
		t.Fatalf("consume after expiry, before the sweep: %s", got.raw)
	}
	wantStock(t, s, "A", 10, 4) // held until the sweep gives it back
	if _, err := s.ExpireDue(clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantStock(t, s, "A", 10, 0)
}
