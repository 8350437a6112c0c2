package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/statement"
)

func contractListCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list contracts with their revocation status, each verified by its proofs",
		UsageText: "ledgerctl contract list --ledger URL --log-key VKEY [--authority DID] [--caller NAME|DID] [--callee NAME|DID]",
		Description: "Lists the contracts under the ledger's latest checkpoint, of one caller\n" +
			"and/or callee when given (names are looked up, and their registrations\n" +
			"verified). Every contract's inclusion proof, and that of each revocation\n" +
			"of it, is verified with the log key, and the signed entries must say\n" +
			"what the ledger claims; any mismatch fails the command (exit 1).\n" +
			"\n" +
			"A revocation is proved by its own inclusion proof. That a contract has\n" +
			"no revocation is what the ledger reports up to the checkpoint's tree\n" +
			"size; an auditor confirms it by reading the whole log.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl contract list --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --caller order-agent\n" +
			"  contract 5f0c...\n" +
			"    ...\n" +
			"    status: active (the ledger reports no revocation up to tree size 8)",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			authorityFlag(),
			&cli.StringFlag{
				Name:    "caller",
				Usage:   "only contracts granted to the caller `AGENT` (name or did:key)",
				EnvVars: []string{"LEDGER_CALLER"},
			},
			&cli.StringFlag{
				Name:    "callee",
				Usage:   "only contracts granted at the callee `AGENT` (name or did:key)",
				EnvVars: []string{"LEDGER_CALLEE"},
			},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			for _, f := range []string{"caller", "callee"} {
				if x := c.String(f); x != "" {
					if err := checkAgentArg(c, "--"+f, x); err != nil {
						return err
					}
				}
			}
			authority, v, cl, err := openVerified(c)
			if err != nil {
				return err
			}
			names := verified.NewNames(cl, v, authority)
			var subject, audience string
			if x := c.String("caller"); x != "" {
				a, err := verified.ResolveAgent(c.Context, cl, v, x, authority, 0)
				if err != nil {
					return fmt.Errorf("--caller: %w", err)
				}
				subject = a.DID
				names.Know(a)
			}
			if x := c.String("callee"); x != "" {
				a, err := verified.ResolveAgent(c.Context, cl, v, x, authority, 0)
				if err != nil {
					return fmt.Errorf("--callee: %w", err)
				}
				audience = a.DID
				names.Know(a)
			}
			vcs, size, err := verified.ListContracts(c.Context, cl, v, authority, subject, audience)
			if err != nil {
				return err
			}
			for _, vc := range vcs {
				if err := printContract(c.Context, s.out, vc, names); err != nil {
					return err
				}
			}
			fmt.Fprintf(s.out, "%d contracts, each proved in log %q at tree size %d; %s\n",
				len(vcs), v.Name(), size, signersChecked(authority))
			return nil
		},
	}
}

func contractShowCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one contract and its revocation status, verified by its proofs",
		UsageText: "ledgerctl contract show --ledger URL --log-key VKEY [--authority DID] ID",
		Description: "Fetches the contract with ID and verifies it and its revocations as\n" +
			"contract list does, then prints it.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl contract show --ledger http://127.0.0.1:7420 --log-key ./log/log.pub 5f0c...\n" +
			"  contract 5f0c...\n" +
			"    ...\n" +
			"    status: REVOKED at index 9: order-agent key compromised",
		Flags: []cli.Flag{ledgerFlag(), logKeyFlag(), authorityFlag()},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key"); err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErrorf(c, "want exactly one contract ID argument, got %d", c.NArg())
			}
			id := c.Args().First()
			if err := checkContractID(c, id); err != nil {
				return err
			}
			authority, v, cl, err := openVerified(c)
			if err != nil {
				return err
			}
			vc, err := verified.FetchContract(c.Context, cl, v, id, authority, 0)
			if err != nil {
				return err
			}
			names := verified.NewNames(cl, v, authority)
			if err := printContract(c.Context, s.out, vc, names); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s\n", signersChecked(authority))
			return nil
		},
	}
}

// printContract prints a verified contract and its status.
func printContract(ctx context.Context, out io.Writer, vc verified.Contract, names *verified.Names) error {
	caller, err := names.Name(ctx, vc.Subject)
	if err != nil {
		return err
	}
	callee, err := names.Name(ctx, vc.Audience)
	if err != nil {
		return err
	}
	size := vc.Checkpoint.Size
	var b bytes.Buffer
	fmt.Fprintf(&b, "contract %s\n", vc.ID)
	line := func(k, format string, args ...any) { fmt.Fprintf(&b, "  %-11s %s\n", k, fmt.Sprintf(format, args...)) }
	line("index", "%d", vc.Index)
	line("leaf hash", "%s", vc.LeafHash)
	line("issuer", "%s", vc.Issuer)
	line("caller", "%s %s", caller, vc.Subject)
	line("callee", "%s %s", callee, vc.Audience)
	line("scopes", "%s", strings.Join(vc.Scopes, " "))
	line("not before", "%s", rfc3339(vc.NotBefore))
	line("expires", "%s", rfc3339(vc.Expires))
	line("proof", "verified: entry %d is in log %q at tree size %d", vc.Index, vc.Checkpoint.Origin, size)
	for _, r := range vc.Revocations {
		line("revocation", "index %d by %s at %s, proof verified at tree size %d", r.Index, r.Signer, rfc3339(r.Time), size)
	}
	validity := vc.ValidAt(time.Now(), 0)
	switch {
	case len(vc.Revocations) > 0:
		r := vc.Revocations[0]
		fmt.Fprintf(&b, "  status: REVOKED at index %d: %s\n", r.Index, r.Reason)
	case errors.Is(validity, statement.ErrExpired):
		fmt.Fprintf(&b, "  status: expired at %s (the ledger reports no revocation up to tree size %d)\n", rfc3339(vc.Expires), size)
	case validity != nil:
		fmt.Fprintf(&b, "  status: not yet valid, from %s (the ledger reports no revocation up to tree size %d)\n", rfc3339(vc.NotBefore), size)
	default:
		fmt.Fprintf(&b, "  status: active (the ledger reports no revocation up to tree size %d)\n", size)
	}
	_, err = out.Write(b.Bytes())
	return err
}
