// Package soak is the system's end-to-end promise check: the ledger and
// the four agents as separate processes of the ledgerctl binary on
// loopback, storefront clients placing orders, with --chaos a loop that
// kills, restarts and freezes them, and a verdict over what the stack
// kept: orders, charges, receipts, the audit, checkpoints and logs.
package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agentledger/agentledger/internal/secretscan"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/server"
	"github.com/agentledger/agentledger/ledger/verified"
)

// A Config is one soak run.
type Config struct {
	Dir         string        // where the stack lives; it must be empty, and is kept afterwards
	Duration    time.Duration // how long orders are placed
	Concurrency int           // storefront clients placing orders at once
	Chaos       bool          // kill, restart and freeze processes while placing
	ChaosMin    time.Duration // least time between two strikes
	ChaosMax    time.Duration // most time between two strikes
	Settle      time.Duration // how long one order may take to reach a final state
	Seed        uint64        // the chaos loop's random seed
	// Binary is the ledgerctl binary the processes run. Default: this
	// process's own executable.
	Binary           string
	Progress         io.Writer // where progress lines go; nil for none
	ProgressInterval time.Duration
}

// A Report is what a soak did and its verdict.
type Report struct {
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
	Checks          []Check           `json:"checks"`
	Pass            bool              `json:"pass"`
}

// Run brings the stack up in cfg.Dir, drives it, and judges it. An error
// means the soak could not be run or judged (an error of server.Init is
// wrapped); a failed verdict is a Report that does not Pass.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 10 * time.Second
	}
	binary := cfg.Binary
	if binary == "" {
		var err error
		if binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	rep := &Report{Dir: cfg.Dir, Concurrency: cfg.Concurrency, Chaos: cfg.Chaos, Seed: cfg.Seed,
		Cores: runtime.GOMAXPROCS(0), Kills: map[string]int{}, Pauses: map[string]int{}, PeakRSS: map[string]uint64{}}
	fmt.Fprintf(cfg.Progress, "soak: starting the ledger and four agents in %s (seed %d)\n", cfg.Dir, cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x50a4))
	s, err := startProcesses(ctx, binary, cfg.Dir, rng)
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

	placing, stopPlacing := context.WithTimeout(ctx, cfg.Duration)
	defer stopPlacing()
	chaosErr := make(chan error, 1)
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		if cfg.Chaos {
			s.chaos(placing, rng, cfg.ChaosMin, cfg.ChaosMax, seen, chaosErr)
		}
		if len(chaosErr) > 0 {
			stopPlacing() // a process that cannot come back ends the run
		}
	}()
	var placed atomic.Int64
	go reportProgress(placing, cfg, &placed)
	start := time.Now()
	orders := s.placeOrders(ctx, placing, cfg.Concurrency, cfg.Settle, &placed)
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
	fmt.Fprintf(cfg.Progress, "soak: %d orders placed in %v; judging\n", len(orders), rep.Duration.Round(time.Second))
	rep.Orders = len(orders)
	rep.OrdersPerSecond = float64(len(orders)) / rep.Duration.Seconds()
	rep.SettleP50, rep.SettleP99, rep.SettleMax = settlePercentiles(orders)
	judge(ctx, s, cfg, binary, orders, seen, rep)
	return rep, nil
}

// judge runs every check of the verdict into rep.
func judge(ctx context.Context, s *processes, cfg Config, binary string, orders []*placedOrder, seen *checkpointLog, rep *Report) {
	var c Check
	c, rep.Outcomes = checkOrders(orders)
	rep.Checks = append(rep.Checks, c)
	// The final checkpoint covers every receipt the orders hold.
	final, err := verified.CheckpointCovering(ctx, s.ledger, s.verifier, lastReceipt(orders)+1, 30*time.Second)
	if err != nil {
		rep.Checks = append(rep.Checks, Check{Name: "the ledger answers with a checkpoint covering every receipt", Detail: err.Error()})
		return
	}
	rep.Entries = final.Size
	if pay, err := s.reconcileReport(ctx, final.Size); err != nil {
		rep.Checks = append(rep.Checks, Check{Name: "payment reconcile is clean", Detail: "reconcile: " + err.Error()})
	} else {
		rep.Checks = append(rep.Checks, checkCharges(orders, pay)...)
	}
	rep.Checks = append(rep.Checks, s.checkReceipts(ctx, orders, final), s.checkStock(ctx, orders))
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
func (s *processes) auditFull(ctx context.Context, binary string) Check {
	logDir := filepath.Join(s.dir, "log")
	cmd := exec.CommandContext(ctx, binary, "audit", "--ledger", s.url("ledger"), "--log-key", filepath.Join(logDir, server.FileLogPub),
		"--state", filepath.Join(s.dir, "audit"), "--full", "--authority", filepath.Join(logDir, server.FileAuthorityDID))
	out, err := cmd.CombinedOutput()
	c := Check{Name: "ledgerctl audit --full is clean", OK: err == nil}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		c.Detail = fmt.Sprintf("%v: %s", err, firstFew(lines))
	} else {
		c.Detail = lines[len(lines)-1]
	}
	return c
}

// checkFrozen fails if any agent froze its view on a fork.
func (s *processes) checkFrozen() Check {
	var frozen []string
	for _, role := range roles() {
		if _, err := os.Stat(filepath.Join(s.dir, "agents", role, "view", "FROZEN")); err == nil {
			frozen = append(frozen, role)
		}
	}
	c := Check{Name: "no agent saw a fork", OK: len(frozen) == 0, Detail: "no agent froze its view"}
	if len(frozen) > 0 {
		c.Detail = "frozen: " + strings.Join(frozen, ", ")
	}
	return c
}

// checkReady fails if any agent is not ready (its view fresh, not
// frozen) within wait: an agent that cannot get back to
// a fresh view after faults refuses everything, for good.
func (s *processes) checkReady(ctx context.Context, wait time.Duration) Check {
	hc := &http.Client{Timeout: 2 * time.Second}
	var stuck []string
	for _, role := range roles() {
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
	return tally("every agent is ready again at the end", stuck, len(roles()), "all four agents' views are fresh")
}

// checkExits fails if a process exited without being killed, and fills in
// the kills and memory of rep.
func (s *processes) checkExits(rep *Report) Check {
	var all []string
	restarts := 0
	for name, p := range s.procs {
		f := p.facts()
		rep.Kills[name], rep.Pauses[name], rep.PeakRSS[name] = f.kills, f.pauses, f.peakRSS
		restarts += f.starts - 1
		all = append(all, f.unexpected...)
	}
	c := Check{Name: "no process exited unless killed", OK: len(all) == 0, Detail: fmt.Sprintf("%d restarts after kills", restarts)}
	if len(all) > 0 {
		c.Detail = firstFew(all)
	}
	return c
}

// checkSecrets scans every process's logs for any private key (its PEM
// body, its seed in base64 or hex), the log's signing key, the card
// numbers and the customer's address and email.
func (s *processes) checkSecrets() Check {
	pems, _ := filepath.Glob(filepath.Join(s.dir, "keys", "*.pem"))
	pems = append(pems, filepath.Join(s.dir, "log", server.FileAuthorityKey))
	secrets, err := secretscan.Secrets(pems, filepath.Join(s.dir, "log", server.FileLogKey), stack.CustomerData()...)
	if err != nil {
		return Check{Name: "no secret in any log", Detail: err.Error()}
	}
	var logs []string
	for _, p := range s.procs {
		logs = append(logs, p.facts().logs...)
	}
	lines, found := secretscan.Files(logs, secrets)
	c := Check{Name: "no secret in any log", OK: len(found) == 0 && lines > 0,
		Detail: fmt.Sprintf("%d lines in %d log files scanned for %d keys and the customer's card, address and email", lines, len(logs), len(pems)+1)}
	if len(found) > 0 {
		c.Detail = firstFew(found)
	}
	return c
}

// settlePercentiles are the p50, p99 and max time to a final state.
func settlePercentiles(orders []*placedOrder) (p50, p99, most time.Duration) {
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
func reportProgress(ctx context.Context, cfg Config, placed *atomic.Int64) {
	t := time.NewTicker(cfg.ProgressInterval)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintf(cfg.Progress, "soak: %v of %v, %d orders settled\n", time.Since(start).Round(time.Second), cfg.Duration, placed.Load())
		}
	}
}

// WriteText prints the report and its verdict for a person.
func (r *Report) WriteText(w io.Writer) {
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
	for _, name := range append([]string{"ledger"}, roles()...) {
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
