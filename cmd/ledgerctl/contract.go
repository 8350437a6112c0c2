package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/authority"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

func contractCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "contract",
		Usage:     "issue and revoke contracts, and list and show them with verified proofs",
		UsageText: "ledgerctl contract issue|revoke|list|show ...",
		Description: "A contract grants a caller agent narrow scopes at one callee agent for\n" +
			"a limited time. The authority signs it into the log; an agent acts on\n" +
			"a call only under a contract it can prove is in the log and not\n" +
			"revoked. Every command here verifies the inclusion proofs it relies on.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl contract issue --ledger http://127.0.0.1:7420 --log-key ./log/log.pub \\\n" +
			"      --authority-key ./log/authority.pem --caller order-agent --callee payment-agent \\\n" +
			"      --scope payment:charge:max_10000usd --ttl 1h -o pay.tlog-proof\n" +
			"  $ ledgerctl contract list --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --caller order-agent",
		Action: groupAction,
		Subcommands: []*cli.Command{
			contractIssueCommand(s),
			contractRevokeCommand(s),
			contractListCommand(s),
			contractShowCommand(s),
		},
	}
}

func contractIssueCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "issue",
		Usage: "grant a caller scopes at a callee for a time, and prove it is in the log",
		UsageText: "ledgerctl contract issue --ledger URL --log-key VKEY --authority-key FILE --caller NAME|DID --callee NAME|DID\n" +
			"    --scope S [--scope S ...] --ttl DURATION [-o FILE.tlog-proof] [--wait 10s]",
		Description: "Looks up the caller and callee and verifies their registrations (signed\n" +
			"by the authority key's did:key), checks the scopes, then signs a\n" +
			"contract valid from now for --ttl (at most 366 days) with the authority\n" +
			"key and appends it. It waits for a checkpoint that covers the contract,\n" +
			"verifies its inclusion proof, and prints it; -o also saves that proof\n" +
			"as a self-contained C2SP tlog-proof, which a callee or verify-inclusion\n" +
			"--bundle checks offline.\n" +
			"\n" +
			"A scope is resource:action[:constraint], lower case; constraints are\n" +
			"max_<amount><currency> (e.g. max_10000usd) and max_qty<n>. A scope\n" +
			"grants exactly its action: payment:charge never grants payment:refund.\n" +
			"Each scope's action must be one the callee serves, as its registration\n" +
			"says ('ledgerctl agent show CALLEE'); the ledger refuses any other\n" +
			"contract (scope_not_served), so a mistyped scope is never recorded.\n" +
			"\n" +
			"--standing issues a standing grant: the same agent as --caller and\n" +
			"--callee, allowed the scopes' actions on its own initiative (the\n" +
			"inventory agent's low-stock restock needs inventory:restock:max_qty<n>).\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl contract issue --ledger http://127.0.0.1:7420 --log-key ./log/log.pub \\\n" +
			"      --authority-key ./log/authority.pem --caller order-agent --callee payment-agent \\\n" +
			"      --scope payment:charge:max_10000usd --ttl 1h -o pay.tlog-proof\n" +
			"  contract 5f0c...\n" +
			"  index 6",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			authorityKeyFlag(),
			&cli.StringFlag{
				Name:    "caller",
				Usage:   "the agent granted the scopes (the contract's subject), by `NAME` or did:key",
				EnvVars: []string{"LEDGER_CALLER"},
			},
			&cli.StringFlag{
				Name:    "callee",
				Usage:   "the agent the scopes are granted at (the contract's audience), by `NAME` or did:key",
				EnvVars: []string{"LEDGER_CALLEE"},
			},
			&cli.StringSliceFlag{
				Name:    "scope",
				Usage:   "grant `SCOPE` (repeat for more), e.g. payment:charge:max_10000usd",
				EnvVars: []string{"LEDGER_SCOPES"},
			},
			&cli.DurationFlag{
				Name:    "ttl",
				Usage:   "the contract is valid for `DURATION` from now, e.g. 1h (at most 8784h, 366 days)",
				EnvVars: []string{"LEDGER_TTL"},
			},
			&cli.BoolFlag{
				Name:    "standing",
				Usage:   "a standing grant: --caller and --callee are one agent, allowed actions of its own",
				EnvVars: []string{"LEDGER_STANDING"},
			},
			&cli.StringFlag{
				Name:    "output",
				Aliases: []string{"o"},
				Usage:   "save the contract's verified tlog-proof to `FILE`",
				EnvVars: []string{"LEDGER_CONTRACT_OUT"},
			},
			waitFlag(),
		},
		Action: func(c *cli.Context) error { return contractIssue(c, s.out) },
	}
}

func contractIssue(c *cli.Context, out io.Writer) error {
	if err := requireFlags(c, "ledger", "log-key", "authority-key", "caller", "callee", "scope", "ttl"); err != nil {
		return err
	}
	if c.Args().Present() {
		return usageErrorf(c, "unexpected argument %q", c.Args().First())
	}
	scopes := c.StringSlice("scope")
	if err := scope.ValidateAll(scopes); err != nil {
		if errors.Is(err, scope.ErrMalformed) {
			return withHint(usageErrorf(c, "--scope: %w", err),
				"a scope is resource:action[:constraint] in lower case, e.g. inventory:reserve or payment:charge:max_10000usd; constraints are max_<amount><currency> and max_qty<n>")
		}
		return usageErrorf(c, "--scope: %w", err)
	}
	ttl := c.Duration("ttl")
	if ttl <= 0 || ttl > statement.MaxTTL {
		return usageErrorf(c, "--ttl %v: want more than 0 and at most %v (366 days)", ttl, statement.MaxTTL)
	}
	callerArg, calleeArg := c.String("caller"), c.String("callee")
	if err := checkAgentArg(c, "--caller", callerArg); err != nil {
		return err
	}
	if err := checkAgentArg(c, "--callee", calleeArg); err != nil {
		return err
	}
	v, err := loadVerifier(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	key, err := readKey(c.String("authority-key"))
	if err != nil {
		return err
	}
	res, err := authority.Issue(c.Context, cl, v, key, authority.Grant{Caller: callerArg, Callee: calleeArg, Scopes: scopes, TTL: ttl, Standing: c.Bool("standing")}, c.Duration("wait"))
	switch {
	case errors.Is(err, authority.ErrSameAgent):
		return withHint(usageErrorf(c, "--caller and --callee are the same agent, %s", res.Caller.Name),
			"to allow an agent actions of its own (a standing grant), add --standing")
	case errors.Is(err, authority.ErrNotSameAgent):
		return usageErrorf(c, "--standing: --caller %s and --callee %s are different agents", res.Caller.Name, res.Callee.Name)
	}
	if err != nil {
		return err
	}
	st, e, caller, callee, raw := res.Contract, res.Entry, res.Caller, res.Callee, res.Proof
	if path := c.String("output"); path != "" {
		if err := fileio.WriteAtomic(path, raw, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "contract %s\nindex %d\nleaf hash %s\n", st.ID, e.Index, e.LeafHash)
	fmt.Fprintf(out, "caller %s %s\ncallee %s %s\n", caller.Name, caller.DID, callee.Name, callee.DID)
	fmt.Fprintf(out, "scopes %s\nnot before %s\nexpires %s\n", strings.Join(scopes, " "), rfc3339(st.NotBefore), rfc3339(st.Expires))
	fmt.Fprintf(out, "verified: entry %d is in log %q at tree size %d\n", e.Index, e.Checkpoint.Origin, e.Checkpoint.Size)
	if path := c.String("output"); path != "" {
		fmt.Fprintf(out, "wrote %s\n", path)
	}
	return nil
}

func contractRevokeCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke a contract, and prove the revocation is in the log",
		UsageText: "ledgerctl contract revoke --ledger URL --log-key VKEY --key FILE --id ID --reason TEXT [--wait 10s]",
		Description: "Fetches the contract and verifies its inclusion proof, then signs a\n" +
			"revocation of it (naming the contract's leaf hash) with --key, the\n" +
			"authority's or the contract issuer's key, and appends it. It waits for\n" +
			"a checkpoint that covers the revocation, verifies its proof and prints\n" +
			"its index. From then on, agents that check the log refuse the contract.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl contract revoke --ledger http://127.0.0.1:7420 --log-key ./log/log.pub \\\n" +
			"      --key ./log/authority.pem --id 5f0c... --reason \"order-agent key compromised\"\n" +
			"  revoked contract 5f0c...\n" +
			"  index 9",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{
				Name:    "key",
				Usage:   "sign with the key in `FILE`: the authority's (DIR/authority.pem) or the contract issuer's",
				EnvVars: []string{"LEDGER_KEY"},
			},
			&cli.StringFlag{
				Name:    "id",
				Usage:   "revoke the contract with this `ID` (32 hex digits)",
				EnvVars: []string{"LEDGER_CONTRACT_ID"},
			},
			&cli.StringFlag{
				Name:    "reason",
				Usage:   "why, in `TEXT` of one line (at most 512 bytes)",
				EnvVars: []string{"LEDGER_REASON"},
			},
			waitFlag(),
		},
		Action: func(c *cli.Context) error { return contractRevoke(c, s.out) },
	}
}

func contractRevoke(c *cli.Context, out io.Writer) error {
	if err := requireFlags(c, "ledger", "log-key", "key", "id", "reason"); err != nil {
		return err
	}
	if c.Args().Present() {
		return usageErrorf(c, "unexpected argument %q", c.Args().First())
	}
	id := c.String("id")
	if err := checkContractID(c, id); err != nil {
		return err
	}
	// Check the reason by the statement's own rules before anything is
	// fetched (the hash here is a stand-in for the contract's).
	if _, err := (&statement.Revocation{Contract: proofs.Hash{1}, Reason: c.String("reason"), Time: time.Now()}).Marshal(); err != nil {
		return usageErrorf(c, "--reason: %w", err)
	}
	v, err := loadVerifier(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	key, err := readKey(c.String("key"))
	if err != nil {
		return err
	}
	e, rev, err := authority.Revoke(c.Context, cl, v, key, id, c.String("reason"), c.Duration("wait"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "revoked contract %s\nindex %d\nleaf hash %s\nreason %s\n", id, e.Index, e.LeafHash, rev.Reason)
	fmt.Fprintf(out, "verified: entry %d is in log %q at tree size %d\n", e.Index, e.Checkpoint.Origin, e.Checkpoint.Size)
	return nil
}

// checkContractID refuses, as a usage error, an id that is not 32
// lower-case hex digits.
func checkContractID(c *cli.Context, id string) error {
	ok := len(id) == 32
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] >= '0' && id[i] <= '9' || id[i] >= 'a' && id[i] <= 'f'
	}
	if !ok {
		return usageErrorf(c, "contract id %s: want 32 lower-case hex digits", quoteShort(id))
	}
	return nil
}

// rfc3339 writes t in UTC, RFC 3339.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
