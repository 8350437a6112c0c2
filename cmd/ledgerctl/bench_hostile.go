package main

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

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/testkit/attack"
)

// hostileOptions sizes `ledgerctl bench hostile`.
type hostileOptions struct {
	Phase      time.Duration `json:"phase_ns"`
	Attackers  int           `json:"attackers"`
	Idle       int           `json:"idle_per_server"`
	HonestRate int           `json:"honest_per_second"`
}

// latency summarizes the honest requests of one phase.
type latency struct {
	N      int           `json:"n"`
	Errors int           `json:"errors"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	// P50Ratio and P99Ratio are against the quiet phase.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
}

// hostilePhase is one phase: honest latencies while one attack runs.
type hostilePhase struct {
	Name   string         `json:"name"`
	Agent  latency        `json:"agent_call"`
	Ledger latency        `json:"ledger_append"`
	Attack map[string]int `json:"attack_outcomes"`
}

// hostileResult is the outcome of `ledgerctl bench hostile`.
type hostileResult struct {
	Options hostileOptions `json:"options"`
	Cores   int            `json:"cores"`
	Phases  []hostilePhase `json:"phases"`
}

func benchHostileCommand() *cli.Command {
	return &cli.Command{
		Name:  "hostile",
		Usage: "honest latency while hostile clients attack the ledger and an agent",
		Description: `Brings up the demo's stack in-process on loopback, with the default
limits of 'ledgerctl serve' and 'ledgerctl agent run', and measures two
honest workloads at --honest-rate each: signed inventory:check calls to the
inventory agent (guard, receipt in the ledger), and action entries appended
by a registered agent. It measures them first with no attack, then during
each attack in turn, every attack aimed at the ledger and the agent at once:

  slow-headers    --attackers connections trickling their headers
  slow-body       --attackers connections trickling a POST body
  oversized       headers and bodies over the limits, as fast as they go
  idle            --idle idle connections to each server, reopened when cut
  bad-signatures  malformed, unknown-key and forged signatures, as fast as they go
  append-spam     a registered agent appending as fast as it can

For each it prints honest p50/p99, their ratio to the quiet phase, and
how the servers answered the attack (by status; "cut" is a connection the
server ended, "held" one still open when the phase ended). The attackers
run in the same process, on the same cores, as the servers. Slow headers
are cut after 5s (ReadHeaderTimeout), slow bodies after 15s (ReadTimeout),
so a phase shorter than that shows them held.

Example:
  ledgerctl bench hostile --phase 6s --attackers 64 --idle 2000`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "phase", Value: 6 * time.Second, Usage: "how long each phase lasts", EnvVars: []string{"LEDGER_BENCH_PHASE"}},
			&cli.IntFlag{Name: "attackers", Value: 64, Usage: "concurrent attack clients, split between the ledger and the agent", EnvVars: []string{"LEDGER_BENCH_ATTACKERS"}},
			&cli.IntFlag{Name: "idle", Value: 2000, Usage: "idle connections to each server in the idle phase", EnvVars: []string{"LEDGER_BENCH_IDLE"}},
			&cli.IntFlag{Name: "honest-rate", Value: 100, Usage: "honest requests per second to each server", EnvVars: []string{"LEDGER_BENCH_HONEST_RATE"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			o := hostileOptions{Phase: c.Duration("phase"), Attackers: c.Int("attackers"), Idle: c.Int("idle"), HonestRate: c.Int("honest-rate")}
			if o.Phase <= 0 || o.Attackers < 2 || o.Idle < 1 || o.HonestRate < 1 {
				return usageErrorf(c, "--phase, --idle and --honest-rate must be positive, --attackers at least 2")
			}
			res, err := benchHostile(c.Context, o)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			printHostile(c.App.Writer, res)
			return nil
		},
	}
}

func printHostile(w io.Writer, res hostileResult) {
	o := res.Options
	fmt.Fprintf(w, "hostile: %v per phase, %d attackers, %d idle connections per server, %d honest requests/s per server, %d cores (%s/%s)\n",
		o.Phase, o.Attackers, o.Idle, o.HonestRate, res.Cores, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "%-15s %-38s %-38s %s\n", "phase", "agent call p50 / p99 (ratio)", "ledger append p50 / p99 (ratio)", "attack answered")
	for _, p := range res.Phases {
		fmt.Fprintf(w, "%-15s %-38s %-38s %s\n", p.Name, p.Agent, p.Ledger, outcomes(p.Attack))
	}
}

func (l latency) String() string {
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

func benchHostile(ctx context.Context, o hostileOptions) (hostileResult, error) {
	env, stack, stop, err := benchStack(ctx, "hostile")
	if err != nil {
		return hostileResult{}, err
	}
	defer stop()
	t, err := newHostileTargets(ctx, env, stack)
	if err != nil {
		return hostileResult{}, err
	}
	res := hostileResult{Options: o, Cores: runtime.GOMAXPROCS(0)}
	for _, ph := range t.phases(o) {
		p, err := t.measure(ctx, o, ph.name, ph.attack)
		if err != nil {
			return hostileResult{}, err
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

func (l *latency) ratios(quiet latency) {
	if quiet.P50 > 0 && quiet.P99 > 0 {
		l.P50Ratio, l.P99Ratio = float64(l.P50)/float64(quiet.P50), float64(l.P99)/float64(quiet.P99)
	}
}

// measure runs the honest workloads for o.Phase while attack runs, and
// returns their latencies with the attack's outcomes.
func (t *hostileTargets) measure(ctx context.Context, o hostileOptions, name string, run func(ctx context.Context, tally *attack.Tally)) (hostilePhase, error) {
	phaseCtx, cancel := context.WithTimeout(ctx, o.Phase)
	defer cancel()
	var tally attack.Tally
	var wg sync.WaitGroup
	if run != nil {
		wg.Go(func() { run(phaseCtx, &tally) })
	}
	var agent, ledger latency
	wg.Go(func() { agent = honest(phaseCtx, o, t.honestCall) })
	wg.Go(func() { ledger = honest(phaseCtx, o, t.honestAppend) })
	wg.Wait()
	if ctx.Err() != nil {
		return hostilePhase{}, ctx.Err()
	}
	if agent.N == 0 || ledger.N == 0 {
		return hostilePhase{}, fmt.Errorf("phase %s: no honest request completed", name)
	}
	return hostilePhase{Name: name, Agent: agent, Ledger: ledger, Attack: tally.Counts()}, nil
}

// honest calls f at o.HonestRate until ctx ends, each call on its own
// goroutine so that a stalled call does not slow the rate, and waits for
// the calls in flight: a call stalled by an attack counts with its whole
// latency. Calls get the phase plus 30 seconds to finish.
func honest(ctx context.Context, o hostileOptions, f func(ctx context.Context) error) latency {
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
	l := latency{N: len(lat), Errors: errs}
	if len(lat) > 0 {
		l.P50, l.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return l
}

// errNotServed is an honest request that was answered but not served.
var errNotServed = errors.New("honest request not served")
