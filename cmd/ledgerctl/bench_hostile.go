package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/bench"
)

func benchHostileCommand() *cli.Command {
	return &cli.Command{
		Name:  "hostile",
		Usage: "honest latency while hostile clients attack the ledger and an agent",
		Description: `Brings up the seed's stack in-process on loopback, with the default
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
			o := bench.HostileOptions{Phase: c.Duration("phase"), Attackers: c.Int("attackers"), Idle: c.Int("idle"), HonestRate: c.Int("honest-rate")}
			if o.Phase <= 0 || o.Attackers < 2 || o.Idle < 1 || o.HonestRate < 1 {
				return usageErrorf(c, "--phase, --idle and --honest-rate must be positive, --attackers at least 2")
			}
			res, err := bench.Hostile(c.Context, o)
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}
