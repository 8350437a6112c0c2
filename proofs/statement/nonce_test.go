package statement

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestNonceRuleAtTheBoundary walks the offsets around the window, on both
// sides: a clash strictly inside (-W, W), none from W out.
func TestNonceRuleAtTheBoundary(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	const W = NonceWindow
	for _, c := range []struct {
		d     time.Duration
		clash bool
	}{
		{0, true}, {time.Nanosecond, true}, {4 * time.Second, true}, {29 * time.Second, true},
		{W - time.Nanosecond, true}, {W, false}, {W + time.Nanosecond, false}, {2 * W, false},
		{1<<63 - 1, false},
	} {
		for _, d := range []time.Duration{c.d, -c.d} {
			if got := NoncesClash(t0, t0.Add(d)); got != c.clash {
				t.Errorf("NoncesClash(t, t%+v) = %v, want %v", d, got, c.clash)
			}
		}
	}
	if NoncesClash(time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("times millennia apart clash (Sub saturates, the rule must not)")
	}
}

// TestNonceRuleProperties: symmetric; NonceReusableAt is the exact edge;
// and the rule is the same on an action's recorded time after a
// Marshal/Parse round trip, so that an agent that keeps the rule on the
// time it writes keeps it on the time an auditor reads.
func TestNonceRuleProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a := time.Unix(0, rapid.Int64Range(0, 1<<62).Draw(rt, "a")).UTC()
		b := a.Add(time.Duration(rapid.Int64Range(-int64(3*NonceWindow), int64(3*NonceWindow)).Draw(rt, "d")))
		if NoncesClash(a, b) != NoncesClash(b, a) {
			rt.Fatalf("not symmetric at %v, %v", a, b)
		}
		edge := NonceReusableAt(a)
		if NoncesClash(a, edge) || !NoncesClash(a, edge.Add(-time.Nanosecond)) {
			rt.Fatalf("NonceReusableAt(%v) = %v is not the edge", a, edge)
		}
		if !b.Before(edge) && NoncesClash(a, b) {
			rt.Fatalf("%v clashes with %v, at or after NonceReusableAt", b, a)
		}
		for _, x := range []time.Time{a, b} {
			act := actionAt(rt, x)
			p, err := act.Marshal()
			if err != nil {
				rt.Fatal(err)
			}
			back, err := ParseAction(p)
			if err != nil {
				rt.Fatal(err)
			}
			if !back.Time.Equal(x) {
				rt.Fatalf("time %v comes back as %v", x, back.Time)
			}
		}
	})
}

func actionAt(rt *rapid.T, at time.Time) *Action {
	a, err := ParseAction([]byte(goodActionBare))
	if err != nil {
		rt.Fatal(err)
	}
	a.Time = at
	return a
}
