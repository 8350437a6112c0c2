package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/agentledger/agentledger/proofs"
)

// ProofOptions configures Proofs.
type ProofOptions struct {
	Entries int
	Proofs  int
	Dir     string
}

// ProofResult is the outcome of the inclusion proof benchmark.
type ProofResult struct {
	Size     uint64        `json:"size"`
	FillTime time.Duration `json:"fill_ns"`
	P50      time.Duration `json:"prove_p50_ns"`
	P99      time.Duration `json:"prove_p99_ns"`
	Mean     time.Duration `json:"prove_mean_ns"`
	// CheckMean is the mean time to check one proof, measured in the same
	// run: the baseline.
	CheckMean time.Duration `json:"check_mean_ns"`
	Cores     int           `json:"cores"`
}

// Proofs fills a fresh ledger with o.Entries raw entries and times
// inclusion proofs for random indexes at the final size.
func Proofs(ctx context.Context, o ProofOptions) (ProofResult, error) {
	if o.Entries < 1 || o.Proofs < 1 {
		return ProofResult{}, fmt.Errorf("entries and proofs must be positive")
	}
	l, cleanup, err := tempLedger(o.Dir, nil)
	if err != nil {
		return ProofResult{}, err
	}
	defer cleanup()
	res := ProofResult{Cores: runtime.GOMAXPROCS(0)}
	start := time.Now()
	const writers = 512
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			entry := make([]byte, 64)
			for i := w; i < o.Entries; i += writers {
				binary.BigEndian.PutUint64(entry, uint64(i))
				if _, err := l.Append(ctx, entry); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return ProofResult{}, fmt.Errorf("fill: %w", err)
	}
	res.FillTime = time.Since(start)
	head := l.Head()
	res.Size = head.Size

	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, o.Proofs)
	var total, check time.Duration
	for i := range lat {
		idx := rng.Uint64N(head.Size)
		t0 := time.Now()
		p, err := l.InclusionProof(idx, head.Size)
		lat[i] = time.Since(t0)
		if err != nil {
			return ProofResult{}, err
		}
		total += lat[i]
		e, err := l.Entry(idx)
		if err != nil {
			return ProofResult{}, err
		}
		leaf := proofs.LeafHash(e)
		t1 := time.Now()
		if err := proofs.CheckInclusion(p, idx, head.Size, leaf, head.Root); err != nil {
			return ProofResult{}, fmt.Errorf("proof %d does not verify: %w", idx, err)
		}
		check += time.Since(t1)
	}
	slices.Sort(lat)
	res.P50 = lat[len(lat)/2]
	res.P99 = lat[len(lat)*99/100]
	res.Mean = total / time.Duration(len(lat))
	res.CheckMean = check / time.Duration(len(lat))
	return res, nil
}

// WriteText prints r for a person.
func (res ProofResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "inclusion proofs at size %d (%d cores, %s/%s), filled in %v\n",
		res.Size, res.Cores, runtime.GOOS, runtime.GOARCH, res.FillTime.Round(time.Millisecond))
	fmt.Fprintf(w, "  prove          p50 %v  p99 %v  mean %v\n", res.P50, res.P99, res.Mean)
	fmt.Fprintf(w, "  check (same run)   mean %v  (ratio prove/check %.1f)\n", res.CheckMean, float64(res.Mean)/float64(res.CheckMean))
}
