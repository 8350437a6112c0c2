package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify/audit"
)

// FuzzParseFullState feeds the full audit's saved state, seeded with real
// ones. What parseFullState accepts is of the given authority, and its
// rule engine, its compact range and its size all stand at the same
// entry; written back as the audit writes it, it parses to the same
// state.
func FuzzParseFullState(f *testing.F) {
	const skew = 30 * time.Second
	authority := fixture.Fixed("authority", 9)
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	var entries [][]byte
	for i, name := range []string{"order-agent", "payment-agent"} {
		e, err := fixture.Registration(authority.Key, fixture.Fixed(name, byte(10+i)), "low", t0)
		if err != nil {
			f.Fatal(err)
		}
		entries = append(entries, e)
	}
	entries = append(entries, []byte("not an envelope"))
	for n := range len(entries) + 1 {
		eng := audit.New(authority.DID, skew)
		rng := auditRanges.NewEmptyRange(0)
		for i, e := range entries[:n] {
			if err := eng.Check(uint64(i), e); err != nil {
				f.Fatal(err)
			}
			leaf := proofs.LeafHash(e)
			if err := rng.Append(leaf[:], nil); err != nil {
				f.Fatal(err)
			}
		}
		b, err := json.Marshal(fullState{Size: uint64(n), Range: rng.Hashes(), Engine: eng.State()})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, eng, rng, err := parseFullState(raw, authority.DID, skew)
		if err != nil {
			return
		}
		if st.Engine.Authority != authority.DID || eng.State().Next != st.Size || rng.End() != st.Size || rng.Begin() != 0 {
			t.Fatalf("accepted a state of size %d with the engine at %d and the range at [%d, %d)", st.Size, eng.State().Next, rng.Begin(), rng.End())
		}
		saved := fullState{Size: st.Size, Range: rng.Hashes(), Engine: eng.State()}
		out, err := json.Marshal(saved)
		if err != nil {
			t.Fatal(err)
		}
		st2, eng2, rng2, err := parseFullState(out, authority.DID, skew)
		if err != nil {
			t.Fatalf("the state as saved does not parse: %v\n%s", err, out)
		}
		again, _ := json.Marshal(fullState{Size: st2.Size, Range: rng2.Hashes(), Engine: eng2.State()})
		if !bytes.Equal(again, out) {
			t.Fatalf("saved %s\nparsed and saved again %s", out, again)
		}
	})
}
