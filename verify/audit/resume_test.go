package audit

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// resumeVia audits entries[from:to) with e, then returns an engine
// resumed from e's State after a JSON round trip.
func resumeVia(t testing.TB, e *Engine, entries [][]byte, from, to int) *Engine {
	t.Helper()
	audit(t, e, entries, from, to)
	b, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	r, err := Resume(s, skew)
	if err != nil {
		t.Fatalf("Resume after %d entries: %v", to, err)
	}
	return r
}

// TestResumeEverySplit audits [0,n), resumes through JSON and audits
// [n,m), for every n, and compares with one run over [0,m).
func TestResumeEverySplit(t *testing.T) {
	for name, w := range map[string]*world{"clean": cleanLog(t), "bad": func() *world { w, _ := badLog(t); return w }()} {
		t.Run(name, func(t *testing.T) {
			m := len(w.entries)
			whole := New(w.auth.DID, skew)
			audit(t, whole, w.entries, 0, m)
			want := stateJSON(t, whole.State())
			for n := 0; n <= m; n++ {
				e := resumeVia(t, New(w.auth.DID, skew), w.entries, 0, n)
				audit(t, e, w.entries, n, m)
				if got := stateJSON(t, e.State()); got != want {
					t.Fatalf("split at %d:\n got %s\nwant %s", n, got, want)
				}
			}
		})
	}
}

// TestResumeManySplits resumes at a random set of split points.
func TestResumeManySplits(t *testing.T) {
	w, _ := badLog(t)
	m := len(w.entries)
	whole := New(w.auth.DID, skew)
	audit(t, whole, w.entries, 0, m)
	want := stateJSON(t, whole.State())
	rapid.Check(t, func(rt *rapid.T) {
		cuts := rapid.SliceOfNDistinct(rapid.IntRange(0, m), 0, 6, rapid.ID[int]).Draw(rt, "cuts")
		e, from := New(w.auth.DID, skew), 0
		for n := range m + 1 {
			for _, c := range cuts {
				if c == n {
					e = resumeVia(t, e, w.entries, from, n)
					from = n
				}
			}
		}
		audit(t, e, w.entries, from, m)
		if got := stateJSON(t, e.State()); got != want {
			rt.Fatalf("cuts %v:\n got %s\nwant %s", cuts, got, want)
		}
	})
}

func TestResumeRefusesInconsistentState(t *testing.T) {
	w, _ := badLog(t)
	e := New(w.auth.DID, skew)
	audit(t, e, w.entries, 0, len(w.entries))
	good := e.State()
	if _, err := Resume(good, skew); err != nil {
		t.Fatalf("Resume of a good state: %v", err)
	}
	var someLeaf string
	for k := range good.Contracts {
		someLeaf = k
		break
	}
	for name, breakIt := range map[string]func(s *State){
		"authority":     func(s *State) { s.Authority = "did:key:nope" },
		"next":          func(s *State) { s.Next++ },
		"invalid count": func(s *State) { s.Counts.Invalid = s.Counts.Entries + 1 },
		"names":         func(s *State) { s.Names["ghost"] = 1 },
		"agent index":   func(s *State) { a := s.Agents[w.pay.DID]; a.Index = 1 << 40; s.Agents[w.pay.DID] = a },
		// A state from before registrations listed what they serve.
		"agent serves absent":   func(s *State) { a := s.Agents[w.order.DID]; a.Serves = nil; s.Agents[w.order.DID] = a },
		"agent serves unsorted": func(s *State) { a := s.Agents[w.pay.DID]; slices.Reverse(a.Serves); s.Agents[w.pay.DID] = a },
		"contract leaf":         func(s *State) { s.Contracts["bad"] = s.Contracts[someLeaf] },
		"contract future": func(s *State) {
			c := s.Contracts[someLeaf]
			c.Index = s.Next
			s.Contracts[someLeaf] = c
		},
		"revoked unknown": func(s *State) { s.Revoked["x"] = 1 },
		"nonce future":    func(s *State) { s.Nonces["a|b|c"] = []NonceUse{{Index: s.Next, Time: t0}} },
		"nonce no uses":   func(s *State) { s.Nonces["a|b|c"] = []NonceUse{} },
		"nonce order":     func(s *State) { s.Nonces["a|b|c"] = []NonceUse{{Index: 6, Time: t0}, {Index: 5, Time: t0}} },
		"violation order": func(s *State) {
			last := len(s.Violations) - 1
			s.Violations[0], s.Violations[last] = s.Violations[last], s.Violations[0]
		},
		"charge future": func(s *State) { s.Charges[s.Next] = Charge{LeafHash: someLeaf} },
		"charge leaf":   func(s *State) { s.Charges[0] = Charge{LeafHash: "x"} },
		"over-refunded": func(s *State) {
			for i, ch := range s.Charges {
				ch.Refunded = ch.Amount + 1
				s.Charges[i] = ch
			}
		},
		"refund before its charge": func(s *State) {
			for i, ch := range s.Charges {
				ch.Refunds["sha256:x"] = i
				s.Charges[i] = ch
			}
		},
		"no charges": func(s *State) { s.Charges = nil },
	} {
		s := e.State()
		breakIt(&s)
		if _, err := Resume(s, skew); !errors.Is(err, ErrState) {
			t.Errorf("%s: Resume = %v, want ErrState", name, err)
		}
	}
}
