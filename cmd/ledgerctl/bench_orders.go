package main

import (
	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/bench"
)

func benchOrdersCommand() *cli.Command {
	return &cli.Command{
		Name:  "orders",
		Usage: "orders per second through the whole stack, every check and receipt in place",
		Description: `Brings up the seed's stack in-process on loopback (the ledger and the
four agents, each with its own store and guard), then has storefront
clients place --orders orders with --concurrency in flight. Each order is
a signed call to the order agent, which makes four signed calls (reserve,
charge, label, notify); every call is verified by its callee and approved
in the ledger with a durable receipt before it acts. Prints orders/s and
p50/p99 order latency. With --cpuprofile FILE it writes a CPU profile of
the run (go tool pprof -top FILE shows where the time goes).

Example:
  ledgerctl bench orders --orders 2000 --concurrency 32`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "orders", Value: 1000, Usage: "orders to place", EnvVars: []string{"LEDGER_BENCH_ORDERS"}},
			&cli.IntFlag{Name: "concurrency", Value: 32, Usage: "orders in flight", EnvVars: []string{"LEDGER_BENCH_CONCURRENCY"}},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile to `FILE`", EnvVars: []string{"LEDGER_BENCH_CPUPROFILE"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			n, conc := c.Int("orders"), c.Int("concurrency")
			if n < 1 || conc < 1 {
				return usageErrorf(c, "--orders and --concurrency must be positive")
			}
			res, err := bench.Orders(c.Context, bench.OrdersOptions{Orders: n, Concurrency: conc, CPUProfile: c.String("cpuprofile")})
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}
