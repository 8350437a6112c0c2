package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/stack"
)

// upCommand is `ledgerctl up`.
func upCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "run the ledger and the four agents on this machine until interrupted",
		Description: `Creates a log, registers the four agents and a storefront, issues the
seed's contracts, and runs the ledger and the order, inventory, payment and
fulfillment agents on loopback, each with its own key, store and guard,
until interrupted (Ctrl-C). It prints the URLs, the DIDs, the log key, and
where the keys and contract proofs are (each agent's address is also in
DIR/agents/ROLE.addr), so you can place orders with
'ledgerctl call' as the storefront and check every receipt with
'ledgerctl verify-inclusion'.

With no flags it uses a temporary directory, removed on exit. With --data
DIR (which must not hold a log yet) everything is kept there, and
'ledgerctl serve --data DIR' serves the log afterwards.

Example:
  ledgerctl up --data ./stack`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Usage: "keep the stack in `DIR` (must not hold a log)", EnvVars: []string{"LEDGER_UP_DATA"}},
		},
		Action: func(c *cli.Context) error {
			dir := c.String("data")
			if dir == "" {
				tmp, err := os.MkdirTemp("", "agentledger-up-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = filepath.Join(tmp, "log")
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return up(ctx, s.out, dir)
		},
	}
}

// up brings the stack up, prints how to reach it, and waits for ctx.
func up(ctx context.Context, out io.Writer, dir string) error {
	s, err := stack.Start(ctx, stack.Config{Dir: dir, KeepKeys: true, Logs: filepath.Join(dir, "logs")})
	if err != nil {
		return serveHint(initHint(err), dir)
	}
	defer s.Stop()
	paths, err := s.WriteFiles()
	if err != nil {
		return err
	}
	var proofs []string
	for _, g := range stack.Grants() {
		proofs = append(proofs, fmt.Sprintf("  %-34s %s  (%s)", g.What(), paths[g.What()], strings.Join(g.Scopes, " ")))
	}
	storefrontKey := filepath.Join(dir, "agents", "storefront.pem")
	fmt.Fprintf(out, "ledger       %s\n", s.Ledger.Client.URL())
	fmt.Fprintf(out, "log key      %s\n", s.Ledger.VKey)
	fmt.Fprintf(out, "authority    %s\n", s.Ledger.Authority.DID)
	fmt.Fprintf(out, "data         %s\n", dir)
	for _, role := range []string{"order", "inventory", "payment", "fulfillment"} {
		fmt.Fprintf(out, "%-12s %s  %s\n", role, s.Agents.URLs[role], s.Agents.Nodes[role].DID)
	}
	fmt.Fprintf(out, "storefront   %s  key %s\n", s.World.IDs["storefront"].DID, storefrontKey)
	fmt.Fprintf(out, "contracts\n%s\n", strings.Join(proofs, "\n"))
	fmt.Fprintf(out, "\nPlace an order as the storefront:\n  ledgerctl call --key %s --contract %s \\\n    --url %s/v1/orders --action order:create --body order.json\n",
		storefrontKey, paths["storefront -> order-agent"], s.Agents.URLs["order"])
	fmt.Fprintf(out, "Running; press Ctrl-C to stop.\n")
	<-ctx.Done()
	return nil
}
