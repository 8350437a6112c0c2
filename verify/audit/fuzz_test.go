package audit

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzCheck feeds arbitrary bytes as the next entry of a log that already
// holds registrations and contracts. Check must not panic, must advance by
// one, and must leave a state that Resume accepts.
func FuzzCheck(f *testing.F) {
	w, _ := badLog(f)
	prefix := 5 // three registrations and two contracts
	base := New(w.auth.DID, skew)
	audit(f, base, w.entries, 0, prefix)
	state := base.State()
	for _, e := range w.entries {
		f.Add(e)
	}
	f.Add([]byte{})
	f.Add([]byte(`{"payloadType":"","payload":"","signatures":[]}`))
	f.Fuzz(func(t *testing.T, entry []byte) {
		e, err := Resume(state, skew)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(uint64(prefix), entry); err != nil {
			t.Fatal(err)
		}
		s := e.State()
		if s.Next != uint64(prefix)+1 || s.Counts.Entries != s.Next {
			t.Fatalf("next %d, entries %d", s.Next, s.Counts.Entries)
		}
		if _, err := Resume(s, skew); err != nil {
			t.Fatalf("state after Check does not resume: %v", err)
		}
	})
}

// FuzzResume feeds Resume arbitrary saved states (an audit's state file
// is outside input when an audit resumes), seeded with the states of a
// real audit at several points. A state is either refused with ErrState,
// or resumes to an engine whose State survives a JSON round trip
// unchanged and that goes on auditing entries, whatever they hold,
// without an error, to states that resume (up to the last index a tree
// size can reach).
func FuzzResume(f *testing.F) {
	w, _ := badLog(f)
	for _, n := range []int{0, 3, 5, len(w.entries) / 2, len(w.entries)} {
		e := New(w.auth.DID, skew)
		audit(f, e, w.entries, 0, n)
		b, err := json.Marshal(e.State())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if n == len(w.entries) {
			st := e.State()
			st.Next, st.Counts.Entries = math.MaxUint64, math.MaxUint64 // the last index there is
			b, _ = json.Marshal(st)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if json.Unmarshal(data, &s) != nil {
			return
		}
		e, err := Resume(s, skew)
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("Resume refused with %v, not ErrState", err)
			}
			return
		}
		got := e.State()
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var again State
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		e2, err := Resume(again, skew)
		if err != nil || !reflect.DeepEqual(e2.State(), got) {
			t.Fatalf("resumed state %s does not resume to itself (%v)", b, err)
		}
		n := uint64(len(w.entries))
		for i := range uint64(3) {
			next := e.State().Next
			err := e.Check(next, w.entries[(got.Next+i)%n])
			if next == math.MaxUint64 {
				if !errors.Is(err, ErrOutOfOrder) {
					t.Fatalf("audited an entry at index %d: %v", next, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("auditing entry %d after resuming: %v", next, err)
			}
			if e.State().Next != next+1 {
				t.Fatalf("next went from %d to %d", next, e.State().Next)
			}
			if _, err := Resume(e.State(), skew); err != nil {
				t.Fatalf("the state after auditing entry %d does not resume: %v", next, err)
			}
		}
	})
}
