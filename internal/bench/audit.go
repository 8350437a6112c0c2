package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// AuditResult is the outcome of the full-audit benchmark.
type AuditResult struct {
	Entries   int           `json:"entries"`
	FillTime  time.Duration `json:"fill_ns"`
	Elapsed   time.Duration `json:"audit_ns"`
	PerSecond float64       `json:"entries_per_second"`
	// VerifyPerSecond is parse plus Ed25519 verification of the same
	// entries on all cores, measured in the same run: the baseline.
	VerifyPerSecond float64 `json:"baseline_verify_per_second"`
	Violations      int     `json:"violations"`
	Cores           int     `json:"cores"`
}

// Audit builds a log of n valid entries (registrations, a contract, and
// actions under it) in a fresh ledger, then runs the full audit over its
// entry bundles with verify.FullAudit: reading, proving every entry
// against the log's root, and every rule of verify/audit.
func Audit(ctx context.Context, n int) (AuditResult, error) {
	if n < 10 {
		return AuditResult{}, fmt.Errorf("need at least 10 entries")
	}
	l, cleanup, err := tempLedger("", nil)
	if err != nil {
		return AuditResult{}, err
	}
	defer cleanup()
	ids, err := identity.NewMany("authority", "order-agent", "payment-agent")
	if err != nil {
		return AuditResult{}, err
	}
	authority, caller, agent := ids[0], ids[1], ids[2]
	res := AuditResult{Entries: n, Cores: runtime.GOMAXPROCS(0)}
	start := time.Now()
	var head [][]byte
	for _, p := range []struct {
		id     identity.Identity
		serves []string
	}{{caller, nil}, {agent, []string{"payment:charge"}}} {
		r, err := authority.Register(p.id, "low", p.serves, time.Now())
		if err != nil {
			return res, err
		}
		head = append(head, r)
	}
	contract, _, err := authority.Contract(caller.DID, agent.DID, []string{"payment:charge:max_10000usd"}, time.Now().Add(-time.Minute), 24*time.Hour)
	if err != nil {
		return res, err
	}
	head = append(head, contract)
	for _, e := range head {
		if _, err := l.Append(ctx, e); err != nil {
			return res, err
		}
	}
	ref := statement.ContractRef{Index: 2, LeafHash: proofs.LeafHash(contract)}
	envs, err := prepareEntries(func(i int) ([]byte, error) {
		return agent.Approve(identity.Approval{Caller: caller.DID, Contract: ref, Action: "payment:charge",
			Body: []byte(fmt.Sprint(i)), Amount: int64p(int64(i % 10000)), Currency: "USD",
			Nonce: fmt.Sprintf("audit-bench-%012d", i), Time: time.Now()})
	}, n-len(head))
	if err != nil {
		return res, err
	}
	if err := appendAll(ctx, l.Append, envs); err != nil {
		return res, err
	}
	res.FillTime = time.Since(start)
	size := l.Size()
	res.VerifyPerSecond = VerifyRate(envs, 500*time.Millisecond)

	// The real full audit (verify.FullAudit): entries read through the
	// verified-entries iterator, every rule of verify/audit.
	src := verify.TileSourceFunc(func(_ context.Context, t proofs.Tile) ([]byte, error) {
		if t.Entries {
			return l.EntryBundle(t.Index, int(t.Width))
		}
		return l.HashTile(t.Level, t.Index, int(t.Width))
	})
	fa, err := verify.ResumeFullAudit(nil, authority.DID, 30*time.Second)
	if err != nil {
		return res, err
	}
	start = time.Now()
	if err := fa.Run(ctx, src, proofs.Checkpoint{Size: size, Root: l.Head().Root}, nil); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	res.PerSecond = float64(size) / res.Elapsed.Seconds()
	res.Violations = len(fa.State().Violations)
	return res, nil
}

// appendAll appends entries with many writers, as fast as the ledger
// commits them.
func appendAll(ctx context.Context, appendFn func(context.Context, []byte) (ledger.AppendResult, error), envs [][]byte) error {
	const writers = 256
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(envs); i += writers {
				if _, err := appendFn(ctx, envs[i]); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// WriteText prints r for a person.
func (res AuditResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "audit: %d entries (%d cores, %s/%s), filled in %v, %d violations\n", res.Entries, res.Cores, runtime.GOOS, runtime.GOARCH, res.FillTime.Round(time.Millisecond), res.Violations)
	fmt.Fprintf(w, "  full audit     %9.0f entries/s\n", res.PerSecond)
	fmt.Fprintf(w, "  baseline       %9.0f parse+verify/s on all cores (same run)\n", res.VerifyPerSecond)
	fmt.Fprintf(w, "  ratio          %9.2f\n", res.PerSecond/res.VerifyPerSecond)
}
