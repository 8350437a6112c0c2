package audit

import (
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
