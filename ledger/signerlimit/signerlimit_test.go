package signerlimit

import (
	"errors"
	"testing"
	"time"
)

// clock is a settable clock for the limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(t *testing.T, rate float64, burst, signers int) (*Limits, *clock) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l, err := New(Options{Rate: rate, Burst: burst, Signers: signers, Now: c.now,
		Exempt: func(s string) bool { return s == "authority" }})
	if err != nil || l == nil {
		t.Fatalf("New: %v, %v", l, err)
	}
	return l, c
}

func TestPeekSpendsNothingAndTakeSpends(t *testing.T) {
	l, c := newTest(t, 2, 3, 0)
	for range 100 {
		if err := l.Peek("a"); err != nil {
			t.Fatalf("peek of a fresh signer: %v", err)
		}
	}
	for i := range 3 {
		if err := l.Take("a"); err != nil {
			t.Fatalf("take %d of a burst of 3: %v", i, err)
		}
	}
	for _, f := range []func(string) error{l.Peek, l.Take} {
		err := f("a")
		var over *Exceeded
		if !errors.As(err, &over) || !errors.Is(err, ErrLimited) || over.Signer != "a" || over.RetryAfter != time.Second {
			t.Fatalf("over budget: %v, want *Exceeded for a with a retry after 1s", err)
		}
	}
	if err := l.Take("b"); err != nil {
		t.Fatalf("another signer: %v", err)
	}
	c.t = c.t.Add(500 * time.Millisecond) // one token at 2/s
	if err := l.Peek("a"); err != nil {
		t.Fatalf("peek after a refill: %v", err)
	}
	if err := l.Take("a"); err != nil {
		t.Fatalf("take after a refill: %v", err)
	}
	if err := l.Take("a"); err == nil {
		t.Fatal("second take after one token's refill was allowed")
	}
	for range 1000 {
		if l.Peek("authority") != nil || l.Take("authority") != nil {
			t.Fatal("the exempt signer was limited")
		}
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	l, _ := newTest(t, 0.4, 1, 0) // a token every 2.5s
	_ = l.Take("a")
	var over *Exceeded
	if err := l.Take("a"); !errors.As(err, &over) || over.RetryAfter != 3*time.Second {
		t.Fatalf("got %v, want a retry after 3s", err)
	}
}

func TestBucketsAreBounded(t *testing.T) {
	l, _ := newTest(t, 1, 1, 8)
	for i := range 1000 {
		_ = l.Take(string(rune('A' + i)))
	}
	if n := l.buckets.Len(); n != 8 {
		t.Fatalf("%d buckets kept, want the bound 8", n)
	}
}

func TestZeroDisables(t *testing.T) {
	for _, o := range []Options{{}, {Rate: 5}, {Burst: 5}} {
		l, err := New(o)
		if err != nil || l != nil {
			t.Fatalf("New(%+v) = %v, %v; want nil, nil", o, l, err)
		}
		if l.Peek("a") != nil || l.Take("a") != nil {
			t.Fatal("nil limits refused")
		}
	}
	if _, err := New(Options{Rate: -1, Burst: 1}); err == nil {
		t.Fatal("a negative rate was accepted")
	}
}
