package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// What a hostile ledger replaces with the fuzzer's bytes.
const (
	forgeCheckpoint = iota
	forgeEntryBundle
	forgeConsistency
	forgeKinds
)

// hostile serves a real ledger's answers, but one kind of answer is the
// fuzzer's bytes instead.
type hostile struct {
	real verify.Source
	kind int
	data []byte
}

func (h hostile) Checkpoint(ctx context.Context) ([]byte, error) {
	if h.kind == forgeCheckpoint {
		return h.data, nil
	}
	return h.real.Checkpoint(ctx)
}

func (h hostile) Tile(ctx context.Context, t proofs.Tile) ([]byte, error) {
	if h.kind == forgeEntryBundle && t.Entries {
		return h.data, nil
	}
	return h.real.Tile(ctx, t)
}

func (h hostile) ConsistencyProof(ctx context.Context, oldSize, newSize uint64) (proofs.ConsistencyProof, error) {
	if h.kind == forgeConsistency {
		return hashes(h.data), nil
	}
	return h.real.ConsistencyProof(ctx, oldSize, newSize)
}

// hashes cuts b into whole hashes.
func hashes(b []byte) proofs.ConsistencyProof {
	p := proofs.ConsistencyProof{}
	for ; len(b) >= proofs.HashSize; b = b[proofs.HashSize:] {
		p = append(p, proofs.Hash(b[:proofs.HashSize]))
	}
	return p
}

// followWorld is a real ledger whose every byte is the same in each
// process (fixed keys, times and contract ids), and a follower's view of
// it as of an earlier checkpoint, kept as a state directory to start from.
type followWorld struct {
	l              *testledger.Ledger
	policy         verify.TrustPolicy
	view           string // the follower's state at the earlier checkpoint
	early, late    proofs.SignedCheckpoint
	earlyC, lateC  statement.ContractRef
	earlyCP, tile  []byte
	lateCP, proofB []byte
}

func newFollowWorld(f *testing.F) *followWorld {
	f.Helper()
	w := &followWorld{l: testledger.StartFixed(f, 5)}
	authority := w.l.Authority
	w.policy = w.l.Policy()
	t0 := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	a, b := fixture.Fixed("order-agent", 7), fixture.Fixed("payment-agent", 8)
	contract := func(id string) statement.ContractRef {
		res := w.l.Append(fixture.ContractWithID(authority.Key, id, a.DID, b.DID, []string{"payment:charge"}, t0, time.Hour))
		return statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
	}
	ctx := context.Background()
	w.l.Append(fixture.Registration(authority.Key, a, "low", t0))
	w.l.Append(fixture.Registration(authority.Key, b, "low", t0, "payment:charge"))
	w.earlyC = contract("00000000000000000000000000000001")
	w.view = filepath.Join(f.TempDir(), "view")
	fl, err := verify.NewFollower(verify.Options{Policy: w.policy, Source: w.l.Client, StateDir: w.view})
	if err != nil {
		f.Fatal(err)
	}
	if err := fl.Refresh(ctx); err != nil {
		f.Fatal(err)
	}
	w.early = fl.Checkpoint()
	w.lateC = contract("00000000000000000000000000000002")
	w.l.Append(fixture.Revocation(authority.Key, w.earlyC.LeafHash, "rotated", t0))
	if w.lateCP, err = w.l.Client.Checkpoint(ctx); err != nil {
		f.Fatal(err)
	}
	if w.late, err = proofs.OpenCheckpoint(w.lateCP, testledger.Origin, w.l.Verifier); err != nil {
		f.Fatal(err)
	}
	w.earlyCP = w.early.Note
	if w.tile, err = w.l.Client.Tile(ctx, proofs.Tile{Entries: true, Width: uint16(w.late.Size)}); err != nil {
		f.Fatal(err)
	}
	p, err := w.l.Client.ConsistencyProof(ctx, w.early.Size, w.late.Size)
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range p {
		w.proofB = append(w.proofB, h[:]...)
	}
	return w
}

// FuzzFollowerRefresh refreshes a follower, whose view is at an earlier
// checkpoint, from a ledger that forges one kind of answer: the
// checkpoint, the entry bundle, or the consistency proof. Refresh never
// panics. When it succeeds the view is the real log's, at a checkpoint
// the log signed, holding exactly the contracts and revocations the log
// holds; when it fails the view has not moved, and if the follower froze,
// it froze on signed checkpoints with the evidence on disk.
func FuzzFollowerRefresh(f *testing.F) {
	w := newFollowWorld(f)
	f.Add(uint8(forgeCheckpoint), w.lateCP)
	f.Add(uint8(forgeCheckpoint), w.earlyCP)
	f.Add(uint8(forgeCheckpoint), bytes.Replace(w.lateCP, fmt.Appendf(nil, "\n%d\n", w.late.Size), fmt.Appendf(nil, "\n%d\n", w.late.Size+1), 1))
	f.Add(uint8(forgeEntryBundle), w.tile)
	f.Add(uint8(forgeEntryBundle), w.tile[:len(w.tile)-1])
	f.Add(uint8(forgeEntryBundle), append(bytes.Clone(w.tile), 0, 1, 'x'))
	f.Add(uint8(forgeConsistency), w.proofB)
	f.Add(uint8(forgeConsistency), []byte(nil))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		dir := filepath.Join(t.TempDir(), "view")
		if err := os.CopyFS(dir, os.DirFS(w.view)); err != nil {
			t.Fatal(err)
		}
		src := hostile{real: w.l.Client, kind: int(kind) % forgeKinds, data: data}
		fl, err := verify.NewFollower(verify.Options{Policy: w.policy, Source: src, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		err = fl.Refresh(context.Background())
		got := fl.Checkpoint()
		if err != nil {
			if got.Size != w.early.Size || got.Root != w.early.Root {
				t.Fatalf("refresh failed (%v) but the view moved to %d", err, got.Size)
			}
			if verify.ReasonOf(fl.Fresh()) == verify.ReasonLogInconsistent {
				evidence, _ := filepath.Glob(filepath.Join(dir, "evidence-*"))
				if len(evidence) == 0 {
					t.Fatalf("frozen (%v) with no evidence", err)
				}
			}
			return
		}
		switch {
		case got.Size == w.early.Size && got.Root == w.early.Root:
			checkContracts(t, fl, w.earlyC)
		case got.Size == w.late.Size && got.Root == w.late.Root:
			checkContracts(t, fl, w.earlyC, w.lateC)
			c, _ := fl.ContractByRef(w.earlyC)
			if d := fl.Authorize(c, c.Statement.Subject, c.Statement.Audience, charge(1, "USD"), c.Statement.NotBefore.Add(time.Minute)); d.Reason != verify.ReasonRevoked {
				t.Fatalf("the view missed the revocation: %+v", d)
			}
		default:
			t.Fatalf("refresh accepted a checkpoint of size %d the log never signed", got.Size)
		}
	})
}

func checkContracts(t *testing.T, fl *verify.Follower, refs ...statement.ContractRef) {
	t.Helper()
	for _, ref := range refs {
		if _, err := fl.ContractByRef(ref); err != nil {
			t.Fatalf("the view lacks contract %d: %v", ref.Index, err)
		}
	}
}
