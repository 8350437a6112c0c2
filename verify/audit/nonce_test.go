package audit

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/agentledger/agentledger/proofs/statement"
)

// nonceWorld is a clean log with charge contracts (order, and stranger,
// at payment) and a reserve contract (order at inventory).
func nonceWorld(t testing.TB) (w *world, orderPay, orderInv, strangerPay uint64) {
	w = newWorld(t)
	w.register(w.order)
	w.register(w.pay)
	w.register(w.inv)
	w.register(w.stranger)
	orderPay = w.contract(w.auth.Key, w.order, w.pay, "payment:charge:max_100usd")
	orderInv = w.contract(w.auth.Key, w.order, w.inv, "inventory:reserve:max_qty10")
	strangerPay = w.contract(w.auth.Key, w.stranger, w.pay, "payment:charge:max_100usd")
	return w, orderPay, orderInv, strangerPay
}

// reused returns, for each entry, the violation of the nonce rule found
// there ("" for none), failing on any other violation.
func reused(t testing.TB, w *world) map[uint64]string {
	t.Helper()
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	out := map[uint64]string{}
	for _, v := range e.State().Violations {
		if v.Kind != KindNonceReused {
			t.Fatalf("violation other than the nonce rule: %+v", v)
		}
		out[v.Index] = v.Detail
	}
	return out
}

// TestNonceRule: two uses of one nonce by one caller at one agent clash
// when recorded less than statement.NonceWindow apart, in either log
// order; from NonceWindow on they do not; other callers and other agents
// have nonces of their own.
func TestNonceRule(t *testing.T) {
	const W, ns = statement.NonceWindow, time.Nanosecond
	base := t0.Add(10 * time.Minute)
	at := func(d time.Duration) use { return use{time: base.Add(d)} }
	for _, c := range []struct {
		name  string
		uses  []use
		flags map[int]int // use -> the use the violation names
	}{
		{"4 s apart", []use{at(0), at(4 * time.Second)}, map[int]int{1: 0}},
		{"the same time", []use{at(0), at(0)}, map[int]int{1: 0}},
		{"a nanosecond inside", []use{at(0), at(W - ns)}, map[int]int{1: 0}},
		{"at the window", []use{at(0), at(W)}, nil},
		{"later in the log, earlier in time", []use{at(0), at(-W + ns)}, map[int]int{1: 0}},
		{"later in the log, a window earlier", []use{at(0), at(-W)}, nil},
		{"each against every earlier use", []use{at(0), at(W), at(W / 2)}, map[int]int{2: 0}},
		{"a clashing use still counts", []use{at(0), at(W - ns), at(W + W/2)}, map[int]int{1: 0, 2: 1}},
		{"other callers", []use{at(0), {time: base, caller: "stranger"}}, nil},
		{"other agents", []use{at(0), {time: base, agent: "inventory"}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, c1, c2, c3 := nonceWorld(t)
			idx := make([]uint64, len(c.uses))
			for i, u := range c.uses {
				agent, caller, ref, spec := w.pay, w.order, w.ref(c1), charge(100)
				if u.agent == "inventory" {
					agent, ref, spec = w.inv, w.ref(c2), reserve(1)
				}
				if u.caller == "stranger" {
					caller, ref = w.stranger, w.ref(c3)
				}
				spec.Nonce, spec.Time = "nonce-shared-000001", u.time
				idx[i] = w.act(agent, caller, ref, spec)
			}
			got := reused(t, w)
			if len(got) != len(c.flags) {
				t.Fatalf("flagged %v, want uses %v", got, c.flags)
			}
			for i, named := range c.flags {
				d, ok := got[idx[i]]
				if !ok || !strings.Contains(d, "index "+itoa(idx[named])+",") {
					t.Errorf("use %d: %q, want a violation naming index %d", i, d, idx[named])
				}
			}
		})
	}
}

// use is one use of the shared nonce: when, and by whom if not the order
// agent at the payment agent.
type use struct {
	time          time.Time
	caller, agent string
}

func itoa(i uint64) string { return strconv.FormatUint(i, 10) }

// TestNonceRuleProperty: over random times for one nonce, the audit flags
// exactly the uses that clash with an earlier one, and names the first.
func TestNonceRuleProperty(t *testing.T) {
	base, c1, _, _ := nonceWorld(t)
	rapid.Check(t, func(rt *rapid.T) {
		w := *base
		w.entries = slices.Clone(base.entries)
		ds := rapid.SliceOfN(rapid.Int64Range(-int64(3*statement.NonceWindow), int64(3*statement.NonceWindow)), 1, 6).Draw(rt, "offsets")
		var times []time.Time
		var idx []uint64
		for _, d := range ds {
			spec := charge(100)
			spec.Nonce, spec.Time = "nonce-shared-000001", t0.Add(30*time.Minute+time.Duration(d))
			times, idx = append(times, spec.Time), append(idx, w.act(w.pay, w.order, w.ref(c1), spec))
		}
		got := reused(t, &w)
		for j := range times {
			first := -1
			for i := 0; i < j && first < 0; i++ {
				if statement.NoncesClash(times[i], times[j]) {
					first = i
				}
			}
			d, flagged := got[idx[j]]
			if flagged != (first >= 0) {
				rt.Fatalf("use %d at %v: flagged %v, the rule says %v", j, times[j], flagged, first >= 0)
			}
			if flagged && !strings.Contains(d, "index "+itoa(idx[first])+",") {
				rt.Fatalf("use %d: %q does not name index %d", j, d, idx[first])
			}
		}
	})
}
