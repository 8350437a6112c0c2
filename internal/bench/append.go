// Package bench measures the ledger the way its users load it: signed DSSE
// entries, every signature verified by the ledger, every writer waiting for
// its durable index. Results come with a baseline measured in the same run,
// so numbers from noisy machines can be compared as ratios.
package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/envelope"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
)

// AppendResult is the outcome of one append benchmark.
type AppendResult struct {
	Mode       string        `json:"mode"` // "in-process" or "http"
	Writers    int           `json:"writers"`
	Entries    int           `json:"entries"`
	EntryBytes int           `json:"entry_bytes"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerSecond  float64       `json:"entries_per_second"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	// VerifyPerSecond is the raw Ed25519 verification rate on all cores,
	// measured in the same run: the ceiling for verified appends.
	VerifyPerSecond float64 `json:"baseline_verify_per_second"`
	Cores           int     `json:"cores"`
}

// Ratio is PerSecond over the baseline verification rate.
func (r AppendResult) Ratio() float64 { return r.PerSecond / r.VerifyPerSecond }

// appender is what the benchmark drives: in-process Submit or HTTP Append.
type appender func(ctx context.Context, env []byte) error

// AppendOptions configures Append.
type AppendOptions struct {
	Writers int
	Entries int
	// URL, when set, sends entries to a running ledger over HTTP; Key must
	// then be that ledger's authority key. Otherwise a fresh ledger is made
	// in a temporary directory.
	URL string
	Key ed25519.PrivateKey
	// Dir is where the in-process ledger lives (default: a temp dir,
	// removed afterwards).
	Dir string
}

// Append runs the append benchmark.
func Append(ctx context.Context, o AppendOptions) (AppendResult, error) {
	if o.Writers < 1 || o.Entries < 1 {
		return AppendResult{}, fmt.Errorf("writers and entries must be positive")
	}
	res := AppendResult{Writers: o.Writers, Entries: o.Entries, Cores: runtime.GOMAXPROCS(0)}
	var do appender
	key := o.Key
	if o.URL != "" {
		if key == nil {
			return AppendResult{}, fmt.Errorf("benchmarking over http needs the ledger's authority key")
		}
		c, err := client.New(o.URL, nil)
		if err != nil {
			return AppendResult{}, err
		}
		res.Mode = "http"
		do = func(ctx context.Context, env []byte) error { _, err := c.Append(ctx, env); return err }
	} else {
		l, cleanup, pub, priv, err := tempLedger(o.Dir)
		if err != nil {
			return AppendResult{}, err
		}
		defer cleanup()
		key = priv
		policy := ledger.AuthorityOnly{Authority: pub}
		res.Mode = "in-process"
		do = func(ctx context.Context, env []byte) error { _, err := l.Submit(ctx, env, policy); return err }
	}
	envs, err := prepareEntries(key, o.Entries)
	if err != nil {
		return AppendResult{}, err
	}
	res.EntryBytes = len(envs[0])
	res.VerifyPerSecond = VerifyRate(envs, 300*time.Millisecond)

	lat := make([]time.Duration, len(envs))
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(envs) {
					return
				}
				t0 := time.Now()
				if err := do(ctx, envs[i]); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if e := firstErr.Load(); e != nil {
		return AppendResult{}, fmt.Errorf("append failed during the benchmark: %w", *e)
	}
	res.PerSecond = float64(len(envs)) / res.Elapsed.Seconds()
	slices.Sort(lat)
	res.P50 = lat[len(lat)/2]
	res.P99 = lat[len(lat)*99/100]
	return res, nil
}

// prepareEntries signs n distinct action-like statements of about 400 bytes
// in total envelope size, before any clock starts.
func prepareEntries(key ed25519.PrivateKey, n int) ([][]byte, error) {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	procs := runtime.GOMAXPROCS(0)
	run := time.Now().UnixNano()
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < n; i += procs {
				payload := fmt.Sprintf(`{"v":1,"action":"payment:charge","amount":%d,"currency":"USD","nonce":"%d-%016x"}`, i%10000, run, i)
				env, err := envelope.Sign(envelope.KindAction, []byte(payload), key)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				out[i] = env
			}
		}(p)
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return nil, *e
	}
	return out, nil
}

// VerifyRate measures parsed-envelope Ed25519 verifications per second on
// all cores for about d: the baseline every append figure is set against.
func VerifyRate(envs [][]byte, d time.Duration) float64 {
	procs := runtime.GOMAXPROCS(0)
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			n := int64(0)
			for i := p; time.Since(start) < d; i += procs {
				e, err := envelope.Parse(envs[i%len(envs)])
				if err == nil {
					_, _ = e.Verify()
				}
				n++
			}
			total.Add(n)
		}(p)
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// tempLedger makes and opens a fresh ledger with new keys.
func tempLedger(dir string) (*ledger.Log, func(), ed25519.PublicKey, ed25519.PrivateKey, error) {
	remove := func() {}
	if dir == "" {
		d, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		dir = d
		remove = func() { os.RemoveAll(d) }
	}
	const origin = "bench.agentledger.local/log"
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		remove()
		return nil, nil, nil, nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		remove()
		return nil, nil, nil, nil, err
	}
	db := filepath.Join(dir, "db")
	if err := ledger.Create(db, origin); err != nil {
		remove()
		return nil, nil, nil, nil, err
	}
	l, err := ledger.Open(ledger.Options{Dir: db, Signer: signer})
	if err != nil {
		remove()
		return nil, nil, nil, nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		l.Close()
		remove()
		return nil, nil, nil, nil, err
	}
	return l, func() { l.Close(); remove() }, pub, priv, nil
}
