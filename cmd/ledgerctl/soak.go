package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/secretscan"
	"github.com/agentledger/agentledger/ledger/server"
	"github.com/agentledger/agentledger/ledger/verified"
)

// soakConfig is one soak run.
type soakConfig struct {
	dir              string // where the stack lives; kept afterwards
	duration         time.Duration
	concurrency      int
	chaos            bool
	chaosMin         time.Duration
	chaosMax         time.Duration
	settle           time.Duration
	seed             uint64
	progress         io.Writer
	progressInterval time.Duration
}

// soakReport is what a soak did and its verdict.
type soakReport struct {
	Dir             string            `json:"dir,omitempty"` // where the stack was kept`
	Duration        time.Duration     `json:"duration_ns"`
	Concurrency     int               `json:"concurrency"`
	Chaos           bool              `json:"chaos"`
	Seed            uint64            `json:"seed"`
	Cores           int               `json:"cores"`
	Orders          int               `json:"orders"`
	Outcomes        map[string]int    `json:"outcomes"`
	OrdersPerSecond float64           `json:"orders_per_second"`
	SettleP50       time.Duration     `json:"settle_p50_ns"`
	SettleP99       time.Duration     `json:"settle_p99_ns"`
	SettleMax       time.Duration     `json:"settle_max_ns"`
	Entries         uint64            `json:"ledger_entries"`
	Kills           map[string]int    `json:"kills"`
	Pauses          map[string]int    `json:"pauses"`
	PeakRSS         map[string]uint64 `json:"peak_rss_bytes"`
	Checks          []soakCheck       `json:"checks"`
	Pass            bool              `json:"pass"`
}

func soakCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "soak",
		Usage:     "run the five-process stack under load (and with --chaos, kills and freezes) and judge what it kept",
		UsageText: "ledgerctl soak [--duration D] [--concurrency C] [--chaos] [--data DIR] [--json]",
		Description: `Starts the ledger and the order, inventory, payment and fulfillment agents
as separate processes of this binary on loopback, each with its own key,
store and log file. Storefront clients then place orders for --duration,
--concurrency at a time; each client retries its order (same id, same
body) until the order agent gives it a final state. Every 20th order uses
a card the processor declines, so compensation runs too.

With --chaos, a loop strikes a random process (the ledger or an agent)
every --chaos-min to --chaos-max: three times in four it SIGKILLs it and
restarts it on its address after up to a second; otherwise it freezes it
(SIGSTOP, then SIGCONT) for up to three seconds.

When placing ends, in-flight orders settle, and the soak prints a verdict.
It exits 1 if any check fails:
  - every order completed with all its receipts, or was compensated
    (released, refunded) or flagged for a person;
  - no payment was charged twice (the payment agent's records and the
    orders agree);
  - payment reconcile is clean, but for approvals a crash left unacted on;
  - every receipt index verifies with an inclusion proof under the final
    checkpoint, and proves the approving agent's signed action;
  - ledgerctl audit --full over the whole log is clean;
  - every checkpoint any agent acted under (sampled every 200ms, and each
    killed agent's persisted view) is consistent with the final tree, no
    agent froze, and every agent's view is fresh again at the end;
  - no process exited unless the soak killed it;
  - no log line holds a private key, a card number or a customer address.

The stack lives in --data DIR, every process's log in DIR/logs. Without
--data it lives in a new temporary directory, removed after a pass and
kept (its path printed) after a failure.

Examples:
  ledgerctl soak --duration 60s --concurrency 16 --chaos
  ledgerctl soak --duration 10m --concurrency 64 --chaos --json > soak.json`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "duration", Value: time.Minute, Usage: "how long to place orders", EnvVars: []string{"LEDGER_SOAK_DURATION"}},
			&cli.IntFlag{Name: "concurrency", Value: 16, Usage: "storefront clients placing orders at once", EnvVars: []string{"LEDGER_SOAK_CONCURRENCY"}},
			&cli.BoolFlag{Name: "chaos", Usage: "SIGKILL and restart, or freeze, a random process at random moments", EnvVars: []string{"LEDGER_SOAK_CHAOS"}},
			&cli.DurationFlag{Name: "chaos-min", Value: time.Second, Usage: "least time between two strikes", EnvVars: []string{"LEDGER_SOAK_CHAOS_MIN"}},
			&cli.DurationFlag{Name: "chaos-max", Value: 5 * time.Second, Usage: "most time between two strikes", EnvVars: []string{"LEDGER_SOAK_CHAOS_MAX"}},
			&cli.DurationFlag{Name: "settle", Value: 2 * time.Minute, Usage: "how long one order may take to reach a final state", EnvVars: []string{"LEDGER_SOAK_SETTLE"}},
			&cli.Uint64Flag{Name: "seed", Usage: "the chaos loop's random seed, to replay a run's schedule (unset: from the clock; printed)", EnvVars: []string{"LEDGER_SOAK_SEED"}},
			&cli.StringFlag{Name: "data", Usage: "keep the stack in `DIR` (must not exist or be empty)", EnvVars: []string{"LEDGER_SOAK_DATA"}},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON", EnvVars: []string{"LEDGER_SOAK_JSON"}},
		},
		Action: func(c *cli.Context) error {
			cfg := soakConfig{dir: c.String("data"), duration: c.Duration("duration"), concurrency: c.Int("concurrency"),
				chaos: c.Bool("chaos"), chaosMin: c.Duration("chaos-min"), chaosMax: c.Duration("chaos-max"),
				settle: c.Duration("settle"), seed: c.Uint64("seed"), progress: s.err, progressInterval: 10 * time.Second}
			switch {
			case cfg.duration <= 0 || cfg.concurrency < 1 || cfg.settle <= 0:
				return usageErrorf(c, "--duration, --concurrency and --settle must be positive")
			case cfg.concurrency > 4096:
				return usageErrorf(c, "--concurrency is at most 4096")
			case cfg.chaosMin <= 0 || cfg.chaosMax < cfg.chaosMin:
				return usageErrorf(c, "want 0 < --chaos-min <= --chaos-max")
			}
			if !c.IsSet("seed") {
				cfg.seed = uint64(time.Now().UnixNano())
			}
			temporary := cfg.dir == ""
			if temporary {
				tmp, err := os.MkdirTemp("", "agentledger-soak-")
				if err != nil {
					return err
				}
				cfg.dir = tmp
			} else if entries, err := os.ReadDir(cfg.dir); err == nil && len(entries) > 0 {
				return usageErrorf(c, "--data %s is not empty", cfg.dir)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := runSoak(ctx, cfg)
			if err != nil {
				return withHint(err, "the stack and its logs are in "+cfg.dir)
			}
			if temporary && rep.Pass {
				// A temporary stack that passed is of no further use.
				_ = os.RemoveAll(cfg.dir)
				rep.Dir = ""
			}
			if c.Bool("json") {
				err = printJSON(c.App.Writer, rep)
			} else {
				printSoak(c.App.Writer, rep)
			}
			if err == nil && !rep.Pass {
				failed := 0
				for _, ch := range rep.Checks {
					if !ch.OK {
						failed++
					}
				}
				err = fmt.Errorf("soak verdict: %d of %d checks failed; the stack and its logs are in %s", failed, len(rep.Checks), cfg.dir)
			}
			return err
		},
	}
}

// runSoak brings the stack up in cfg.dir, drives it, and judges it.
func runSoak(ctx context.Context, cfg soakConfig) (*soakReport, error) {
	binary, err := os.Executable()
	if err != nil {
		return nil, err
	}
	rep := &soakReport{Dir: cfg.dir, Concurrency: cfg.concurrency, Chaos: cfg.chaos, Seed: cfg.seed,
		Cores: runtime.GOMAXPROCS(0), Kills: map[string]int{}, Pauses: map[string]int{}, PeakRSS: map[string]uint64{}}
	fmt.Fprintf(cfg.progress, "soak: starting the ledger and four agents in %s (seed %d)\n", cfg.dir, cfg.seed)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x50a4))
	s, err := startSoakStack(ctx, binary, cfg.dir, rng)
	if s != nil {
		defer s.stop()
	}
	if err != nil {
		return nil, err
	}
	seen := &checkpointLog{}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watched := make(chan struct{})
	go func() { s.watch(watchCtx, 200*time.Millisecond, seen); close(watched) }()

	placing, stopPlacing := context.WithTimeout(ctx, cfg.duration)
	defer stopPlacing()
	chaosErr := make(chan error, 1)
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		if cfg.chaos {
			s.chaos(placing, rng, cfg.chaosMin, cfg.chaosMax, seen, chaosErr)
		}
		if len(chaosErr) > 0 {
			stopPlacing() // a process that cannot come back ends the run
		}
	}()
	var placed atomic.Int64
	go reportProgress(placing, cfg, &placed)
	start := time.Now()
	orders := s.placeOrders(ctx, placing, cfg.concurrency, cfg.settle, &placed)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	rep.Duration = time.Since(start)
	<-chaosDone
	stopWatch()
	<-watched
	select {
	case err := <-chaosErr:
		return nil, fmt.Errorf("chaos: restarting: %w", err)
	default:
	}
	fmt.Fprintf(cfg.progress, "soak: %d orders placed in %v; judging\n", len(orders), rep.Duration.Round(time.Second))
	rep.Orders = len(orders)
	rep.OrdersPerSecond = float64(len(orders)) / rep.Duration.Seconds()
	rep.SettleP50, rep.SettleP99, rep.SettleMax = settlePercentiles(orders)
	judgeSoak(ctx, s, cfg, binary, orders, seen, rep)
	return rep, nil
}

// judgeSoak runs every check of the verdict into rep.
func judgeSoak(ctx context.Context, s *soakStack, cfg soakConfig, binary string, orders []*soakOrder, seen *checkpointLog, rep *soakReport) {
	var c soakCheck
	c, rep.Outcomes = checkOrders(orders)
	rep.Checks = append(rep.Checks, c)
	// The final checkpoint covers every receipt the orders hold.
	final, err := verified.CheckpointCovering(ctx, s.ledger, s.verifier, lastReceipt(orders)+1, 30*time.Second)
	if err != nil {
		rep.Checks = append(rep.Checks, soakCheck{Name: "the ledger answers with a checkpoint covering every receipt", Detail: err.Error()})
		return
	}
	rep.Entries = final.Size
	if pay, err := s.reconcileReport(ctx, final.Size); err != nil {
		rep.Checks = append(rep.Checks, soakCheck{Name: "payment reconcile is clean", Detail: "reconcile: " + err.Error()})
	} else {
		rep.Checks = append(rep.Checks, checkCharges(orders, pay)...)
	}
	rep.Checks = append(rep.Checks, s.checkReceipts(ctx, orders, final))
	rep.Checks = append(rep.Checks, s.auditFull(ctx, binary))
	seen.add("ledger (final)", final.Note)
	rep.Checks = append(rep.Checks, s.checkCheckpoints(ctx, seen.all(), final), s.checkFrozen(), s.checkReady(ctx, 15*time.Second), s.checkExits(rep))
	rep.Checks = append(rep.Checks, s.checkSecrets())
	rep.Pass = true
	for _, ch := range rep.Checks {
		rep.Pass = rep.Pass && ch.OK
	}
}

// auditFull runs `ledgerctl audit --full` over the whole log.
func (s *soakStack) auditFull(ctx context.Context, binary string) soakCheck {
	logDir := filepath.Join(s.dir, "log")
	cmd := exec.CommandContext(ctx, binary, "audit", "--ledger", s.url("ledger"), "--log-key", filepath.Join(logDir, server.FileLogPub),
		"--state", filepath.Join(s.dir, "audit"), "--full", "--authority", filepath.Join(logDir, server.FileAuthorityDID))
	out, err := cmd.CombinedOutput()
	c := soakCheck{Name: "ledgerctl audit --full is clean", OK: err == nil}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		c.Detail = fmt.Sprintf("%v: %s", err, firstFew(lines))
	} else {
		c.Detail = lines[len(lines)-1]
	}
	return c
}

// checkFrozen fails if any agent froze its view on a fork.
func (s *soakStack) checkFrozen() soakCheck {
	var frozen []string
	for _, role := range soakRoles {
		if _, err := os.Stat(filepath.Join(s.dir, "agents", role, "view", "FROZEN")); err == nil {
			frozen = append(frozen, role)
		}
	}
	c := soakCheck{Name: "no agent saw a fork", OK: len(frozen) == 0, Detail: "no agent froze its view"}
	if len(frozen) > 0 {
		c.Detail = "frozen: " + strings.Join(frozen, ", ")
	}
	return c
}

// checkReady fails if any agent is not ready (its view fresh, not
// frozen) within wait: an agent that cannot get back to
// a fresh view after faults refuses everything, for good.
func (s *soakStack) checkReady(ctx context.Context, wait time.Duration) soakCheck {
	hc := &http.Client{Timeout: 2 * time.Second}
	var stuck []string
	for _, role := range soakRoles {
		var last string
		for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
			resp, err := hc.Get(s.url(role) + "/readyz")
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					last = ""
					break
				}
				last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
		}
		if last != "" {
			stuck = append(stuck, role+": "+last)
		}
	}
	return tally("every agent is ready again at the end", stuck, len(soakRoles), "all four agents' views are fresh")
}

// checkExits fails if a process exited without being killed, and fills in
// the kills and memory of rep.
func (s *soakStack) checkExits(rep *soakReport) soakCheck {
	var all []string
	restarts := 0
	for name, p := range s.procs {
		f := p.facts()
		rep.Kills[name], rep.Pauses[name], rep.PeakRSS[name] = f.kills, f.pauses, f.peakRSS
		restarts += f.starts - 1
		all = append(all, f.unexpected...)
	}
	c := soakCheck{Name: "no process exited unless killed", OK: len(all) == 0, Detail: fmt.Sprintf("%d restarts after kills", restarts)}
	if len(all) > 0 {
		c.Detail = firstFew(all)
	}
	return c
}

// checkSecrets scans every process's logs for any private key (its PEM
// body, its seed in base64 or hex), the log's signing key, the card
// numbers and the customer's address and email.
func (s *soakStack) checkSecrets() soakCheck {
	pems, _ := filepath.Glob(filepath.Join(s.dir, "keys", "*.pem"))
	pems = append(pems, filepath.Join(s.dir, "log", server.FileAuthorityKey))
	secrets, err := secretscan.Secrets(pems, filepath.Join(s.dir, "log", server.FileLogKey), demoCustomerData...)
	if err != nil {
		return soakCheck{Name: "no secret in any log", Detail: err.Error()}
	}
	var logs []string
	for _, p := range s.procs {
		logs = append(logs, p.facts().logs...)
	}
	lines, found := secretscan.Files(logs, secrets)
	c := soakCheck{Name: "no secret in any log", OK: len(found) == 0 && lines > 0,
		Detail: fmt.Sprintf("%d lines in %d log files scanned for %d keys and the customer's card, address and email", lines, len(logs), len(pems)+1)}
	if len(found) > 0 {
		c.Detail = firstFew(found)
	}
	return c
}

// demoCustomerData is what the demo's and the soak's orders hold that no
// log may: the card numbers, the street address and the email.
var demoCustomerData = []string{"4242424242424242", "4000000000000002", "12 Analytical Row", "ada@example.com"}

// settlePercentiles are the p50, p99 and max time to a final state.
func settlePercentiles(orders []*soakOrder) (p50, p99, most time.Duration) {
	var d []time.Duration
	for _, o := range orders {
		if o.View != nil {
			d = append(d, o.Settle)
		}
	}
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100], d[len(d)-1]
}

// reportProgress prints how many orders settled, every interval.
func reportProgress(ctx context.Context, cfg soakConfig, placed *atomic.Int64) {
	t := time.NewTicker(cfg.progressInterval)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintf(cfg.progress, "soak: %v of %v, %d orders settled\n", time.Since(start).Round(time.Second), cfg.duration, placed.Load())
		}
	}
}

// printSoak prints the report for a person.
func printSoak(w io.Writer, r *soakReport) {
	chaos := "off"
	if r.Chaos {
		chaos = fmt.Sprintf("on (seed %d)", r.Seed)
	}
	fmt.Fprintf(w, "soak: %v, %d clients, chaos %s, %d cores (%s/%s)\n", r.Duration.Round(time.Second), r.Concurrency, chaos, r.Cores, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "  orders       %d (%.1f/s): %d completed, %d compensated, %d not reserved, %d flagged\n", r.Orders, r.OrdersPerSecond,
		r.Outcomes[outcomeCompleted], r.Outcomes[outcomeCompensated], r.Outcomes[outcomeNotReserved], r.Outcomes[outcomeFlagged])
	var flags []string
	for k, n := range r.Outcomes {
		if strings.Contains(k, ":") {
			flags = append(flags, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(flags) > 0 {
		slices.Sort(flags)
		fmt.Fprintf(w, "  flagged      %s\n", strings.Join(flags, ", "))
	}
	fmt.Fprintf(w, "  settle       p50 %v  p99 %v  max %v\n", r.SettleP50.Round(time.Millisecond), r.SettleP99.Round(time.Millisecond), r.SettleMax.Round(time.Millisecond))
	fmt.Fprintf(w, "  ledger       %d entries\n", r.Entries)
	var kills, rss []string
	for _, name := range append([]string{"ledger"}, soakRoles...) {
		kills = append(kills, fmt.Sprintf("%s %d/%d", name, r.Kills[name], r.Pauses[name]))
		rss = append(rss, fmt.Sprintf("%s %d MiB", name, r.PeakRSS[name]>>20))
	}
	fmt.Fprintf(w, "  kills/pauses %s\n", strings.Join(kills, ", "))
	fmt.Fprintf(w, "  peak RSS     %s\n", strings.Join(rss, ", "))
	fmt.Fprintf(w, "verdict\n")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n       %s\n", mark, c.Name, c.Detail)
	}
	switch {
	case r.Pass && r.Dir == "":
		fmt.Fprintf(w, "PASS\n")
	case r.Pass:
		fmt.Fprintf(w, "PASS (stack kept in %s)\n", r.Dir)
	default:
		fmt.Fprintf(w, "FAIL (stack and logs kept in %s)\n", r.Dir)
	}
}
