package verify_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// FuzzResumeFullAudit feeds the full audit's saved state, seeded with real
// ones. What ResumeFullAudit accepts is of the given authority, and its
// rule engine, its compact range and its size all stand at the same
// entry; written back as the audit writes it, it parses to the same
// state.
func FuzzResumeFullAudit(f *testing.F) {
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
		fa, err := verify.ResumeFullAudit(nil, authority.DID, skew)
		if err != nil {
			f.Fatal(err)
		}
		src, cp := memoryLog(f, entries[:n])
		if err := fa.Run(context.Background(), src, cp, nil); err != nil {
			f.Fatal(err)
		}
		b, err := fa.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fa, err := verify.ResumeFullAudit(raw, authority.DID, skew)
		if err != nil {
			return
		}
		st := fa.State()
		if st.Authority != authority.DID || st.Next != fa.Size() {
			t.Fatalf("accepted a state of size %d with the engine at %d", fa.Size(), st.Next)
		}
		out, err := fa.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		fa2, err := verify.ResumeFullAudit(out, authority.DID, skew)
		if err != nil {
			t.Fatalf("the state as saved does not parse: %v\n%s", err, out)
		}
		again, _ := fa2.Marshal()
		if !bytes.Equal(again, out) {
			t.Fatalf("saved %s\nparsed and saved again %s", out, again)
		}
	})
}

// memoryLog serves entries as the C2SP tlog-tiles of a log in memory, and
// returns its checkpoint (unsigned: the tests below trust it as verified).
func memoryLog(t testing.TB, entries [][]byte) (verify.TileSource, proofs.Checkpoint) {
	t.Helper()
	tree := proofs.NewRange()
	var nodes = map[proofs.NodeID]proofs.Hash{}
	for _, e := range entries {
		err := tree.Append(proofs.LeafHash(e), func(id proofs.NodeID, h proofs.Hash) error {
			nodes[id] = h
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	size := uint64(len(entries))
	src := verify.TileSourceFunc(func(_ context.Context, tile proofs.Tile) ([]byte, error) {
		start := tile.Index * proofs.TileWidth
		if tile.Entries {
			return proofs.MarshalEntryBundle(entries[start : start+uint64(tile.Width)])
		}
		var out []byte
		for i := uint64(0); i < uint64(tile.Width); i++ {
			h := nodes[proofs.NodeID{Level: 8 * uint(tile.Level), Index: start + i}]
			out = append(out, h[:]...)
		}
		return out, nil
	})
	return src, proofs.Checkpoint{Origin: "example.com/memory", Size: size, Root: tree.Root()}
}
