package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/attack"
)

// HostileOptions sizes the hostile benchmark.
type HostileOptions struct {
	Phase      time.Duration `json:"phase_ns"`
	Attackers  int           `json:"attackers"`
	Idle       int           `json:"idle_per_server"`
	HonestRate int           `json:"honest_per_second"`
}

// Latency summarizes the honest requests of one phase.
type Latency struct {
	N      int           `json:"n"`
	Errors int           `json:"errors"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	// P50Ratio and P99Ratio are against the quiet phase.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
}

// HostilePhase is one phase: honest latencies while one attack runs.
type HostilePhase struct {
	Name   string         `json:"name"`
	Agent  Latency        `json:"agent_call"`
	Ledger Latency        `json:"ledger_append"`
	Attack map[string]int `json:"attack_outcomes"`
}

// HostileResult is the outcome of the hostile benchmark.
type HostileResult struct {
	Options HostileOptions `json:"options"`
	Cores   int            `json:"cores"`
	Phases  []HostilePhase `json:"phases"`
}

// WriteText prints res for a person.
func (res HostileResult) WriteText(w io.Writer) {
	o := res.Options
	fmt.Fprintf(w, "hostile: %v per phase, %d attackers, %d idle connections per server, %d honest requests/s per server, %d cores (%s/%s)\n",
		o.Phase, o.Attackers, o.Idle, o.HonestRate, res.Cores, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "%-15s %-38s %-38s %s\n", "phase", "agent call p50 / p99 (ratio)", "ledger append p50 / p99 (ratio)", "attack answered")
	for _, p := range res.Phases {
		fmt.Fprintf(w, "%-15s %-38s %-38s %s\n", p.Name, p.Agent, p.Ledger, outcomes(p.Attack))
	}
}

func (l Latency) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	s := fmt.Sprintf("%v / %v (x%.2f / x%.2f)", r(l.P50), r(l.P99), l.P50Ratio, l.P99Ratio)
	if l.Errors > 0 {
		s += fmt.Sprintf(" %d failed", l.Errors)
	}
	return s
}

// outcomes lists an attack's outcome counts, most frequent first.
func outcomes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[b] - m[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// Hostile brings up the stack with the default limits of the ledger and
// the agents, and measures honest agent calls and appends, first with no
// attack, then during each attack in turn (see phases).
func Hostile(ctx context.Context, o HostileOptions) (HostileResult, error) {
	if o.Phase <= 0 || o.Attackers < 2 || o.Idle < 1 || o.HonestRate < 1 {
		return HostileResult{}, errors.New("phase, idle and honest rate must be positive, attackers at least 2")
	}
	s, stop, err := startStack(ctx, "hostile")
	if err != nil {
		return HostileResult{}, err
	}
	defer stop()
	t, err := newHostileTargets(ctx, s)
	if err != nil {
		return HostileResult{}, err
	}
	res := HostileResult{Options: o, Cores: runtime.GOMAXPROCS(0)}
	for _, ph := range t.phases(o) {
		p, err := t.measure(ctx, o, ph.name, ph.attack)
		if err != nil {
			return HostileResult{}, err
		}
		if len(res.Phases) > 0 {
			p.Agent.ratios(res.Phases[0].Agent)
			p.Ledger.ratios(res.Phases[0].Ledger)
		} else {
			p.Agent.ratios(p.Agent)
			p.Ledger.ratios(p.Ledger)
		}
		res.Phases = append(res.Phases, p)
		// Let the servers drop what the attack left behind.
		time.Sleep(200 * time.Millisecond)
	}
	return res, nil
}

func (l *Latency) ratios(quiet Latency) {
	if quiet.P50 > 0 && quiet.P99 > 0 {
		l.P50Ratio, l.P99Ratio = float64(l.P50)/float64(quiet.P50), float64(l.P99)/float64(quiet.P99)
	}
}

// measure runs the honest workloads for o.Phase while attack runs, and
// returns their latencies with the attack's outcomes.
func (t *hostileTargets) measure(ctx context.Context, o HostileOptions, name string, run func(ctx context.Context, tally *attack.Tally)) (HostilePhase, error) {
	phaseCtx, cancel := context.WithTimeout(ctx, o.Phase)
	defer cancel()
	var tally attack.Tally
	var wg sync.WaitGroup
	if run != nil {
		wg.Go(func() { run(phaseCtx, &tally) })
	}
	var agent, ledger Latency
	wg.Go(func() { agent = honest(phaseCtx, o, t.honestCall) })
	wg.Go(func() { ledger = honest(phaseCtx, o, t.honestAppend) })
	wg.Wait()
	if ctx.Err() != nil {
		return HostilePhase{}, ctx.Err()
	}
	if agent.N == 0 || ledger.N == 0 {
		return HostilePhase{}, fmt.Errorf("phase %s: no honest request completed", name)
	}
	return HostilePhase{Name: name, Agent: agent, Ledger: ledger, Attack: tally.Counts()}, nil
}

// honest calls f at o.HonestRate until ctx ends, each call on its own
// goroutine so that a stalled call does not slow the rate, and waits for
// the calls in flight: a call stalled by an attack counts with its whole
// Latency. Calls get the phase plus 30 seconds to finish.
func honest(ctx context.Context, o HostileOptions, f func(ctx context.Context) error) Latency {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Phase+30*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int
		wg     sync.WaitGroup
		ticker = time.NewTicker(time.Second / time.Duration(o.HonestRate))
	)
	defer ticker.Stop()
	for ctx.Err() == nil {
		wg.Go(func() {
			t0 := time.Now()
			err := f(callCtx)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			lat = append(lat, d)
		})
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
	wg.Wait()
	slices.Sort(lat)
	l := Latency{N: len(lat), Errors: errs}
	if len(lat) > 0 {
		l.P50, l.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return l
}

// errNotServed is an honest request that was answered but not served.
var errNotServed = errors.New("honest request not served")
