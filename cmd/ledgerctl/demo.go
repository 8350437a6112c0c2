package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/demo"
)

// demoCommand is `ledgerctl demo`.
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the system on this machine and check every expectation",
		Description: `Creates a log, serves it on loopback, and walks through the seed's story
and what the system promises. The authority registers the four agents and
the storefront and issues their scoped contracts; writes that break the
rules are refused with a reason; a contract's tlog-proof verifies offline.
Then the four agents run, each with its own key, store, view of the log
and guard: the storefront places orders that are reserved, charged,
labelled and notified, every step approved in the log before it happens;
a declined card is compensated and a blocked destination refused. The
payment agent refuses a replay, a charge over its limit, a refund and a
stolen contract; a revoked contract shows as revoked, with proof, and the
next charge under it is refused; and the log only grew (a consistency
proof between two checkpoints). It exits 0 only if every expectation held.

With no flags it uses a fresh temporary directory and removes it after.
With --data DIR the log is kept: 'ledgerctl serve --data DIR' serves it
afterwards, so any tlog-tiles client can check it. The ledger's and each
agent's JSON logs are kept in DIR/logs.

Example:
  ledgerctl demo
  ledgerctl demo --data ./demo-log --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Usage: "keep the demo's log in `DIR` (must not hold a log)", EnvVars: []string{"LEDGER_DEMO_DATA"}},
			&cli.BoolFlag{Name: "json", Usage: "print a machine-readable report instead of the story", EnvVars: []string{"LEDGER_DEMO_JSON"}},
			&cli.IntFlag{Name: "orders", Value: 3, Usage: "how many orders the storefront places (1 to 1000)", EnvVars: []string{"LEDGER_DEMO_ORDERS"}},
		},
		Action: func(c *cli.Context) error {
			dir, keep := c.String("data"), true
			if dir == "" {
				tmp, err := os.MkdirTemp("", "agentledger-demo-")
				if err != nil {
					return err
				}
				dir, keep = filepath.Join(tmp, "log"), false
				defer os.RemoveAll(tmp)
			}
			if n := c.Int("orders"); n < 1 || n > 1000 {
				return usageErrorf(c, "--orders %d: want 1 to 1000", n)
			}
			cfg := demo.Config{Dir: dir, Kept: keep, Orders: c.Int("orders"), Out: c.App.Writer, Color: isTerminal(c.App.Writer)}
			if c.Bool("json") {
				cfg.Out = nil
			}
			report, err := demo.Run(c.Context, cfg)
			if c.Bool("json") {
				if perr := printJSON(c.App.Writer, report); perr != nil && err == nil {
					err = perr
				}
			}
			if err != nil {
				return serveHint(initHint(err), dir)
			}
			if !report.OK {
				return errors.New("some demo expectations did not hold")
			}
			return nil
		},
	}
}
