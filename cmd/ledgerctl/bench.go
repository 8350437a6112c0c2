package main

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/bench"
	"github.com/agentledger/agentledger/internal/keyfile"
)

// benchCommand is `ledgerctl bench`.
func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure the ledger, with a baseline from the same run",
		Description: `Benchmarks report ratios against a baseline measured in the same run,
because absolute numbers on shared machines are noisy.

Examples:
  ledgerctl bench append --writers 64 --entries 100000
  ledgerctl bench append --writers 64 --entries 50000 --http http://127.0.0.1:7420 --key DIR/authority.pem
  ledgerctl bench proof --entries 1000000
  ledgerctl bench guard --requests 5000
  ledgerctl bench orders --orders 2000 --concurrency 32
  ledgerctl bench audit --entries 1000000
  ledgerctl bench hostile --phase 6s --attackers 64 --idle 2000`,
		Subcommands: []*cli.Command{benchAppendCommand(), benchProofCommand(), benchGuardCommand(), benchOrdersCommand(), benchAuditCommand(), benchHostileCommand()},
	}
}

func benchAppendCommand() *cli.Command {
	return &cli.Command{
		Name:  "append",
		Usage: "signed, verified, durably sequenced appends per second",
		Description: `Registers a bench agent, then prepares its signed action entries (about
870 bytes each) before the clock starts. Every entry goes through the
ledger's one admission path, in process or over HTTP: the write rules,
the signature, and each writer waits for its durable index. Prints
entries/s, p50/p99 time-to-durable, and the raw Ed25519 verification
rate on all cores (the ceiling) from the same run.

Example:
  ledgerctl bench append --writers 1024 --entries 200000`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "writers", Value: 64, Usage: "concurrent writers", EnvVars: []string{"LEDGER_BENCH_WRITERS"}},
			&cli.IntFlag{Name: "entries", Value: 50000, Usage: "entries to append", EnvVars: []string{"LEDGER_BENCH_ENTRIES"}},
			&cli.StringFlag{Name: "http", Usage: "benchmark a running ledger at this URL instead of an in-process one", EnvVars: []string{"LEDGER_BENCH_HTTP"}},
			&cli.StringFlag{Name: "key", Usage: "the authority key file of the --http ledger", EnvVars: []string{"LEDGER_BENCH_KEY"}},
			&cli.StringFlag{Name: "dir", Usage: "directory for the in-process ledger (default: a temporary one)", EnvVars: []string{"LEDGER_BENCH_DIR"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			o := bench.AppendOptions{Writers: c.Int("writers"), Entries: c.Int("entries"), URL: c.String("http"), Dir: c.String("dir")}
			if o.URL != "" {
				if c.String("key") == "" {
					return usageError("--http needs --key, the ledger's authority key")
				}
				k, err := keyfile.Read(c.String("key"))
				if err != nil {
					return err
				}
				o.Key = k
			}
			res, err := bench.Append(c.Context, o)
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}

func benchProofCommand() *cli.Command {
	return &cli.Command{
		Name:  "proof",
		Usage: "inclusion proof latency on a large in-process log",
		Description: `Fills an in-process ledger with --entries entries (raw appends, no
signatures: this measures proofs, not appends), then times inclusion proofs
for random indexes against one SHA-256 leaf hash and one proof check in the
same run.

Example:
  ledgerctl bench proof --entries 1000000`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "entries", Value: 1000000, Usage: "log size", EnvVars: []string{"LEDGER_BENCH_ENTRIES"}},
			&cli.IntFlag{Name: "proofs", Value: 20000, Usage: "proofs to time", EnvVars: []string{"LEDGER_BENCH_PROOFS"}},
			&cli.StringFlag{Name: "dir", Usage: "directory for the ledger (default: a temporary one)", EnvVars: []string{"LEDGER_BENCH_DIR"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			res, err := bench.Proofs(c.Context, bench.ProofOptions{Entries: c.Int("entries"), Proofs: c.Int("proofs"), Dir: c.String("dir")})
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}

func benchGuardCommand() *cli.Command {
	return &cli.Command{
		Name:  "guard",
		Usage: "what enforcement costs an agent, against one Ed25519 verification",
		Description: `Runs a ledger in-process on loopback and a payment agent's guard, then
times, in one run: a charge behind the guard (signature, replay store,
cached contract, authorization, receipt signed with its append stubbed), the
same checks with no receipt, the handler with no guard, and one Ed25519
verification. It also reports the receipt append against the real ledger
(p50/p99) and the first contact with a contract the agent has never seen,
fetched and verified cold (p50/p99).

Example:
  ledgerctl bench guard --requests 5000
  ledgerctl bench orders --orders 2000 --concurrency 32`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "requests", Value: 5000, Usage: "requests per measurement", EnvVars: []string{"LEDGER_BENCH_REQUESTS"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			res, err := bench.Guard(c.Context, c.Int("requests"))
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}

func benchAuditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "full-audit rate on a large log, against the raw verification rate",
		Description: `Fills a fresh in-process ledger with --entries valid entries (two
registrations, a contract, and actions under it), then audits them the way
'ledgerctl audit --full' does: entry bundles read in order, leaf hashes
extended to the root, and every rule of verify/audit, including each
signature. It prints entries/s next to parse plus Ed25519 verification of
the same entries on all cores, measured in the same run.

Example:
  ledgerctl bench audit --entries 1000000
  ledgerctl bench hostile --phase 6s --attackers 64 --idle 2000`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "entries", Value: 100000, Usage: "log size", EnvVars: []string{"LEDGER_BENCH_ENTRIES"}},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON", EnvVars: []string{"LEDGER_BENCH_JSON"}},
		},
		Action: func(c *cli.Context) error {
			res, err := bench.Audit(c.Context, c.Int("entries"))
			if err != nil {
				return err
			}
			return printResult(c, res)
		},
	}
}

// printResult prints a benchmark's result, as JSON with --json.
func printResult(c *cli.Context, res interface{ WriteText(io.Writer) }) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	res.WriteText(c.App.Writer)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
