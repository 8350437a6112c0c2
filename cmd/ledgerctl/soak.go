package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/soak"
)

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
			cfg := soak.Config{Dir: c.String("data"), Duration: c.Duration("duration"), Concurrency: c.Int("concurrency"),
				Chaos: c.Bool("chaos"), ChaosMin: c.Duration("chaos-min"), ChaosMax: c.Duration("chaos-max"),
				Settle: c.Duration("settle"), Seed: c.Uint64("seed"), Progress: s.err, ProgressInterval: 10 * time.Second}
			switch {
			case cfg.Duration <= 0 || cfg.Concurrency < 1 || cfg.Settle <= 0:
				return usageErrorf(c, "--duration, --concurrency and --settle must be positive")
			case cfg.Concurrency > 4096:
				return usageErrorf(c, "--concurrency is at most 4096")
			case cfg.ChaosMin <= 0 || cfg.ChaosMax < cfg.ChaosMin:
				return usageErrorf(c, "want 0 < --chaos-min <= --chaos-max")
			}
			if !c.IsSet("seed") {
				cfg.Seed = uint64(time.Now().UnixNano())
			}
			temporary := cfg.Dir == ""
			if temporary {
				tmp, err := os.MkdirTemp("", "agentledger-soak-")
				if err != nil {
					return err
				}
				cfg.Dir = tmp
			} else if entries, err := os.ReadDir(cfg.Dir); err == nil && len(entries) > 0 {
				return usageErrorf(c, "--data %s is not empty", cfg.Dir)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := soak.Run(ctx, cfg)
			if err != nil {
				return withHint(initHint(err), "the stack and its logs are in "+cfg.Dir)
			}
			if temporary && rep.Pass {
				// A temporary stack that passed is of no further use.
				_ = os.RemoveAll(cfg.Dir)
				rep.Dir = ""
			}
			if c.Bool("json") {
				err = printJSON(c.App.Writer, rep)
			} else {
				rep.WriteText(c.App.Writer)
			}
			if err == nil && !rep.Pass {
				failed := 0
				for _, ch := range rep.Checks {
					if !ch.OK {
						failed++
					}
				}
				err = fmt.Errorf("soak verdict: %d of %d checks failed; the stack and its logs are in %s", failed, len(rep.Checks), cfg.Dir)
			}
			return err
		},
	}
}
