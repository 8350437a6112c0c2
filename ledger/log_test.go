package ledger

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentledger/agentledger/proofs"
)

const testOrigin = "test.agentledger.example/log"

type testLog struct {
	*Log
	dir      string
	signer   note.Signer
	verifier note.Verifier
}

func newTestLog(t testing.TB, interval time.Duration) *testLog {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "db")
	if err := Create(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	tl := &testLog{dir: dir, signer: signer, verifier: verifier}
	tl.reopen(t, interval)
	return tl
}

func (tl *testLog) reopen(t testing.TB, interval time.Duration) {
	t.Helper()
	l, err := Open(Options{Dir: tl.dir, Signer: tl.signer, CheckpointInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	tl.Log = l
	t.Cleanup(func() { l.Close() })
}

func entryN(i int) []byte { return []byte(fmt.Sprintf("entry number %d", i)) }

// appendAll appends n distinct entries from w concurrent writers and returns
// the index of each.
func appendAll(t testing.TB, l *Log, n, w int) []uint64 {
	t.Helper()
	idx := make([]uint64, n)
	var wg sync.WaitGroup
	errs := make(chan error, w)
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += w {
				res, err := l.Append(context.Background(), entryN(i))
				if err != nil {
					errs <- err
					return
				}
				idx[i] = res.Index
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return idx
}

func TestAppendAssignsUniqueDenseIndexes(t *testing.T) {
	l := newTestLog(t, time.Hour)
	const n = 2000
	idx := appendAll(t, l.Log, n, 64)
	seen := make(map[uint64]int)
	for i, x := range idx {
		if prev, dup := seen[x]; dup {
			t.Fatalf("entries %d and %d both got index %d", prev, i, x)
		}
		seen[x] = i
		got, err := l.Entry(x)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(entryN(i)) {
			t.Fatalf("index %d holds %q, want %q", x, got, entryN(i))
		}
	}
	if l.Size() != n {
		t.Fatalf("size %d, want %d", l.Size(), n)
	}
	// The root agrees with an independent implementation.
	var leaves []tlog.Hash
	for x := uint64(0); x < n; x++ {
		e, _ := l.Entry(x)
		leaves = append(leaves, tlog.RecordHash(e))
	}
	if got, want := l.Head().Root, naiveRoot(leaves); got != proofs.Hash(want) {
		t.Fatalf("root %x, want %x", got, want)
	}
}

func naiveRoot(h []tlog.Hash) tlog.Hash {
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	return tlog.NodeHash(naiveRoot(h[:k]), naiveRoot(h[k:]))
}

func TestDuplicateReturnsExistingIndex(t *testing.T) {
	l := newTestLog(t, time.Hour)
	first, err := l.Append(context.Background(), []byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, l.Log, 10, 2)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := l.Append(context.Background(), []byte("same"))
			if err != nil || !res.Duplicate || res.Index != first.Index || res.LeafHash != first.LeafHash {
				t.Errorf("duplicate append = %+v, %v; want index %d duplicate", res, err, first.Index)
			}
		}()
	}
	wg.Wait()
	if l.Size() != 11 {
		t.Fatalf("size %d after duplicates, want 11", l.Size())
	}
	// Duplicates inside one batch also collapse.
	res := make([]AppendResult, 8)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i], _ = l.Append(context.Background(), []byte("fresh twin"))
		}(i)
	}
	wg.Wait()
	for _, r := range res {
		if r.Index != res[0].Index {
			t.Fatalf("twin entries got indexes %d and %d", r.Index, res[0].Index)
		}
	}
	if l.Size() != 12 {
		t.Fatalf("size %d, want 12", l.Size())
	}
}

func TestEntrySizeBounds(t *testing.T) {
	l := newTestLog(t, time.Hour)
	for _, n := range []int{0, proofs.MaxEntrySize + 1} {
		if _, err := l.Append(context.Background(), make([]byte, n)); !errors.Is(err, ErrEntrySize) {
			t.Errorf("append of %d bytes: %v, want ErrEntrySize", n, err)
		}
	}
	big := make([]byte, proofs.MaxEntrySize)
	big[0] = 1
	if _, err := l.Append(context.Background(), big); err != nil {
		t.Fatalf("append of %d bytes: %v", proofs.MaxEntrySize, err)
	}
}

func TestProofsVerifyAgainstPublishedCheckpoints(t *testing.T) {
	l := newTestLog(t, 10*time.Millisecond)
	for round := 0; round < 5; round++ {
		appendAllFrom(t, l.Log, int(l.Size()), 300+round*7)
		waitPublished(t, l.Log, l.Size())
	}
	published, err := l.PublishedSizes()
	if err != nil {
		t.Fatal(err)
	}
	var cps []proofs.SignedCheckpoint
	for _, size := range published {
		raw, err := l.CheckpointAt(size)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := proofs.OpenCheckpoint(raw, testOrigin, l.verifier)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size != size {
			t.Fatalf("checkpoint stored at %d claims size %d", size, cp.Size)
		}
		cps = append(cps, cp)
	}
	// One at open (size 0) and at least one per round.
	if len(cps) < 6 {
		t.Fatalf("only %d checkpoints published", len(cps))
	}
	for i := range cps {
		for j := i; j < len(cps); j++ {
			p, err := l.ConsistencyProof(cps[i].Size, cps[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proofs.VerifyConsistency(cps[i], cps[j], p); err != nil {
				t.Fatalf("consistency %d -> %d: %v", cps[i].Size, cps[j].Size, err)
			}
		}
	}
	last := cps[len(cps)-1]
	for idx := uint64(0); idx < last.Size; idx += 37 {
		e, _ := l.Entry(idx)
		p, err := l.InclusionProof(idx, last.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proofs.VerifyInclusion(last, idx, proofs.LeafHash(e), p); err != nil {
			t.Fatalf("inclusion %d: %v", idx, err)
		}
		got, err := l.IndexOf(proofs.LeafHash(e))
		if err != nil || got != idx {
			t.Fatalf("IndexOf = %d, %v; want %d", got, err, idx)
		}
	}
	if _, err := l.InclusionProof(last.Size, last.Size); !errors.Is(err, ErrBeyondTree) {
		t.Fatalf("proof beyond tree: %v", err)
	}
}

func waitPublished(t testing.TB, l *Log, size uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, got, _ := l.Checkpoint(); got >= size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d within 10s", size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReopenRecoversTreeAndTiles(t *testing.T) {
	l := newTestLog(t, time.Hour)
	for _, n := range []int{1, 255, 256, 257, 70000 - 1} {
		before := l.Size()
		appendAllFrom(t, l.Log, int(before), n-int(before))
		head := l.Head()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l.reopen(t, time.Hour)
		if got := l.Head(); got != head {
			t.Fatalf("after reopen head %+v, want %+v", got, head)
		}
		root, err := proofs.RootHash(head.Size, l.Log)
		if err != nil {
			t.Fatal(err)
		}
		if root != head.Root {
			t.Fatalf("root from tiles %x, state root %x", root, head.Root)
		}
		_, size, _ := l.Checkpoint()
		if size != head.Size {
			t.Fatalf("checkpoint at %d after close, tree at %d", size, head.Size)
		}
	}
}

func appendAllFrom(t testing.TB, l *Log, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	const w = 32
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += w {
				if _, err := l.Append(context.Background(), entryN(from+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestClosedLogRefusesAppends(t *testing.T) {
	l := newTestLog(t, time.Hour)
	l.Close()
	if _, err := l.Append(context.Background(), []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}
