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
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
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

// appender is what the benchmark drives: the registry's Submit in process,
// or Append over HTTP. It returns the entry's index.
type appender func(ctx context.Context, env []byte) (uint64, error)

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
	var authority ed25519.PrivateKey
	if o.URL != "" {
		if o.Key == nil {
			return AppendResult{}, fmt.Errorf("benchmarking over http needs the ledger's authority key")
		}
		c, err := client.New(o.URL, nil)
		if err != nil {
			return AppendResult{}, err
		}
		res.Mode = "http"
		do = func(ctx context.Context, env []byte) (uint64, error) {
			res, err := c.Append(ctx, env)
			return res.Index, err
		}
		authority = o.Key
	} else {
		l, cleanup, err := tempLedger(o.Dir, registry.Indexer{})
		if err != nil {
			return AppendResult{}, err
		}
		defer cleanup()
		a, err := identity.New("authority")
		if err != nil {
			return AppendResult{}, err
		}
		authority = a.Key
		reg := registry.New(l, authority.Public().(ed25519.PublicKey))
		res.Mode = "in-process"
		do = func(ctx context.Context, env []byte) (uint64, error) {
			res, err := reg.Submit(ctx, env)
			return res.Index, err
		}
	}
	// Either way the ledger holds writers to its write rules: register a
	// bench agent and a caller with a contract at it, then append the
	// actions the agent approves under that contract, as agents do.
	agent, caller, ref, err := registerAgent(ctx, do, authority)
	if err != nil {
		return AppendResult{}, err
	}
	sign := actionSigner(agent, caller, ref)
	envs, err := prepareEntries(sign, o.Entries)
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
				if _, err := do(ctx, envs[i]); err != nil {
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

// actionSigner signs valid action statements approved by agent for
// caller under the contract ref.
func actionSigner(agent identity.Identity, caller string, ref statement.ContractRef) func(int) ([]byte, error) {
	run := time.Now().UnixNano()
	return func(i int) ([]byte, error) {
		return agent.Approve(identity.Approval{Caller: caller, Contract: ref, Action: "payment:charge",
			Body: []byte(strconv.Itoa(i)), Amount: int64p(int64(i % 10000)), Currency: "USD",
			Nonce: fmt.Sprintf("bench-%d-%016x", run, i), Time: time.Now()})
	}
}

// registerAgent registers, with the authority key, a fresh bench agent
// that serves payment:charge and a caller, and issues the caller a
// contract at the agent. It returns the agent, the caller's did:key and
// the contract's reference.
func registerAgent(ctx context.Context, do appender, authority ed25519.PrivateKey) (identity.Identity, string, statement.ContractRef, error) {
	var ref statement.ContractRef
	run := time.Now().UnixNano()
	ids, err := identity.NewMany(fmt.Sprintf("bench-%d", run), fmt.Sprintf("bench-caller-%d", run))
	if err != nil {
		return identity.Identity{}, "", ref, err
	}
	agent, caller, auth := ids[0], ids[1], identity.FromKey("authority", authority)
	for _, p := range []struct {
		id     identity.Identity
		serves []string
	}{{agent, []string{"payment:charge"}}, {caller, nil}} {
		reg, err := auth.Register(p.id, "low", p.serves, time.Now())
		if err != nil {
			return identity.Identity{}, "", ref, err
		}
		if _, err := do(ctx, reg); err != nil {
			return identity.Identity{}, "", ref, fmt.Errorf("registering %s (is --key the ledger's authority key?): %w", p.id.Name, err)
		}
	}
	contract, _, err := auth.Contract(caller.DID, agent.DID, []string{"payment:charge:max_10000usd"}, time.Now().Add(-time.Minute), 24*time.Hour)
	if err != nil {
		return identity.Identity{}, "", ref, err
	}
	idx, err := do(ctx, contract)
	if err != nil {
		return identity.Identity{}, "", ref, fmt.Errorf("issuing the bench contract: %w", err)
	}
	return agent, caller.DID, statement.ContractRef{Index: idx, LeafHash: proofs.LeafHash(contract)}, nil
}

// prepareEntries signs n distinct entries on all cores before any clock
// starts.
func prepareEntries(sign func(int) ([]byte, error), n int) ([][]byte, error) {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	procs := runtime.GOMAXPROCS(0)
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p; i < n; i += procs {
				env, err := sign(i)
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

// tempLedger makes and opens a fresh ledger with a new log key, indexing
// its entries with indexer (nil for none).
func tempLedger(dir string, indexer ledger.Indexer) (*ledger.Log, func(), error) {
	remove := func() {}
	if dir == "" {
		d, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			return nil, nil, err
		}
		dir = d
		remove = func() { os.RemoveAll(d) }
	}
	const origin = "bench.agentledger.local/log"
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		remove()
		return nil, nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		remove()
		return nil, nil, err
	}
	db := filepath.Join(dir, "db")
	if err := ledger.Create(db, origin); err != nil {
		remove()
		return nil, nil, err
	}
	l, err := ledger.Open(ledger.Options{Dir: db, Signer: signer, Indexer: indexer})
	if err != nil {
		remove()
		return nil, nil, err
	}
	return l, func() { l.Close(); remove() }, nil
}

func int64p(v int64) *int64 { return &v }

// WriteText prints r for a person.
func (res AppendResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "append (%s): %d writers, %d entries of %d bytes, %d cores (%s/%s)\n",
		res.Mode, res.Writers, res.Entries, res.EntryBytes, res.Cores, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "  throughput     %9.0f entries/s\n", res.PerSecond)
	fmt.Fprintf(w, "  time-to-durable p50 %v  p99 %v\n", res.P50.Round(10*time.Microsecond), res.P99.Round(10*time.Microsecond))
	fmt.Fprintf(w, "  baseline       %9.0f Ed25519 verifications/s on all cores (same run)\n", res.VerifyPerSecond)
	fmt.Fprintf(w, "  ratio          %9.2f of the verification ceiling\n", res.Ratio())
}
