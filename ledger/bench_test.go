package ledger

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentledger/agentledger/proofs"
)

// BenchmarkAppendParallel measures durable appends (no signatures) with
// b.RunParallel's writers; the group commit batches them.
func BenchmarkAppendParallel(b *testing.B) {
	l := newTestLog(b, time.Hour)
	var n atomic.Uint64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		e := make([]byte, 400)
		for pb.Next() {
			binary.BigEndian.PutUint64(e, n.Add(1))
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkInclusionProof measures proofs at a 100,000-entry tree. `ledgerctl
// bench proof` does the same at a million.
func BenchmarkInclusionProof(b *testing.B) {
	l := newTestLog(b, time.Hour)
	const size = 100000
	appendAll(b, l.Log, size, 256)
	rng := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.InclusionProof(rng.Uint64N(size), size); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckInclusion is the baseline for BenchmarkInclusionProof: one
// proof check (about 17 SHA-256 compressions at this size).
func BenchmarkCheckInclusion(b *testing.B) {
	l := newTestLog(b, time.Hour)
	const size = 100000
	appendAll(b, l.Log, size, 256)
	head := l.Head()
	p, _ := l.InclusionProof(777, size)
	e, err := l.Entry(777)
	if err != nil {
		b.Fatal(err)
	}
	leaf := proofs.LeafHash(e)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := proofs.CheckInclusion(p, 777, size, leaf, head.Root); err != nil {
			b.Fatal(err)
		}
	}
}
