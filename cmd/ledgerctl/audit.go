package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/auditor"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// Audit exit codes, beyond 0 ok, 1 failed and 2 usage.
const (
	exitInconsistent = 3
	exitViolations   = 4
)

func auditCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "prove, without trusting the operator, that the log only grows",
		Description: `The first run trusts the checkpoint it sees and stores it in --state. Every
later run, and every tick with --follow, fetches the latest checkpoint,
checks its signature, and verifies a consistency proof from the stored
checkpoint to it; only then does it store the new one.

If the log is not consistent with what was seen before, it prints both
signed checkpoints and the failing proof, writes them to an evidence file in
--state that 'ledgerctl verify-consistency --evidence-in FILE' re-checks
offline, and exits 3. A checkpoint smaller than the stored one is proved a
prefix of it and then refused (exit 1, no evidence): it is no sign of a
fork, but the log must not shrink from what this auditor saw.

With --full it also audits the content of every entry, resuming where the
last run stopped: it reads the entries through the tile API and uses them
only once their leaf hashes extend the audited tree to the verified
checkpoint's root. It then checks every signature and writer, that
registrations come before use, and for every action that its contract is
in the log at a lower index, names the signer as audience and the caller
as subject, is in force and unrevoked at its time, covers the action with
every constraint, that its nonce keeps the nonce rule (no reuse by the
same caller at the same agent within 60 s of recorded time), and that
every refund is of a charge the same caller made, within its amount. The
report counts entries per kind and lists every violation with its index
(--json for machines).

With --dir it audits a mirror made by 'ledgerctl export' instead, with no
network at all: consistency proofs are computed from the mirror's tiles.

Exit codes: 0 consistent (and clean), 1 the audit could not be done (the
reason is on stderr), 2 usage, 3 inconsistency (evidence written) or
entries that do not match the signed tree, 4 violations found by --full.

Example:
  ledgerctl audit --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --state ./audit
  ledgerctl audit --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --state ./audit --follow --interval 5s
  ledgerctl audit --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --state ./audit --full --authority ./log/authority.did
  ledgerctl audit --dir ./mirror --log-key ./log/log.pub --state ./audit --full --authority ./log/authority.did`,
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{Name: "dir", Usage: "audit the mirror in `DIR` (made by ledgerctl export) instead of a ledger, with no network (--ledger is then ignored)", EnvVars: []string{"LEDGER_AUDIT_DIR"}},
			&cli.StringFlag{Name: "state", Usage: "the auditor's state `DIR` (the last verified checkpoint, evidence)", EnvVars: []string{"LEDGER_AUDIT_STATE"}},
			&cli.BoolFlag{Name: "follow", Usage: "keep auditing every --interval until interrupted", EnvVars: []string{"LEDGER_AUDIT_FOLLOW"}},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between audits with --follow", EnvVars: []string{"LEDGER_AUDIT_INTERVAL"}},
			&cli.BoolFlag{Name: "full", Usage: "also audit every entry's content (resumes where the last run stopped)", EnvVars: []string{"LEDGER_AUDIT_FULL"}},
			&cli.StringFlag{Name: "authority", Usage: "with --full: the authority's `DID` (or a file holding it)", EnvVars: []string{"LEDGER_AUTHORITY"}},
			&cli.DurationFlag{Name: "skew", Value: verify.DefaultSkew, Usage: "with --full: the clock-skew window for contract validity", EnvVars: []string{"LEDGER_AUDIT_SKEW"}},
			&cli.BoolFlag{Name: "json", Usage: "with --full: print the report as JSON", EnvVars: []string{"LEDGER_AUDIT_JSON"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "log-key", "state"); err != nil {
				return err
			}
			if c.String("ledger") == "" && c.String("dir") == "" {
				return usageErrorf(c, "give --ledger URL, or --dir of a mirror")
			}
			if c.Duration("interval") <= 0 {
				return usageErrorf(c, "--interval must be positive")
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			src := auditor.Mirror(c.String("dir"), v)
			if c.String("dir") == "" {
				cl, err := newClient(c)
				if err != nil {
					return err
				}
				src = auditor.Ledger(cl, v)
			}
			dir := c.String("state")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("audit state: %w", err)
			}
			authority := ""
			if c.Bool("full") {
				if authority, err = loadAuthority(c); err != nil {
					return err
				}
				if authority == "" {
					return usageErrorf(c, "--full needs --authority, the did:key whose contracts count")
				}
			}
			once := func(ctx context.Context) error {
				// With --json, stdout carries only the report.
				talk := s.out
				if c.Bool("json") {
					talk = s.err
				}
				g, err := auditor.CheckConsistency(ctx, src, v, dir)
				var inc *auditor.InconsistentError
				if errors.As(err, &inc) {
					printInconsistency(talk, inc.Proof)
					return &exitCodeError{code: exitInconsistent, err: withHint(err,
						"re-check the evidence offline with: ledgerctl verify-consistency --evidence-in "+inc.Evidence+" --log-key LOG_KEY")}
				}
				if err != nil {
					return err
				}
				fmt.Fprintln(talk, g)
				if !c.Bool("full") {
					return nil
				}
				return auditFull(ctx, s, src.Tiles(), g.Trusted, authority, dir, c.Duration("skew"), c.Bool("json"))
			}
			if !c.Bool("follow") {
				return once(c.Context)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			t := time.NewTicker(c.Duration("interval"))
			defer t.Stop()
			for {
				if err := once(ctx); err != nil {
					var coded *exitCodeError
					if errors.As(err, &coded) || ctx.Err() != nil {
						return err
					}
					fmt.Fprintf(s.err, "ledgerctl: audit: %v (will retry)\n", err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		},
	}
}

// auditFull runs the full audit up to cp and prints its report.
func auditFull(ctx context.Context, s streams, tiles verify.TileSource, cp proofs.SignedCheckpoint, authority, dir string, skew time.Duration, asJSON bool) error {
	progress := func(total uint64) (func(int), func()) {
		bar := newProgress(s, int64(total), "auditing entries")
		return func(n int) { _ = bar.Add(n) }, func() { _ = bar.Finish() }
	}
	rep, err := auditor.Full(ctx, tiles, cp, authority, dir, skew, progress)
	var mismatch *verify.EntriesMismatchError
	if errors.As(err, &mismatch) {
		// Nothing of this run is kept: the entries are not the signed tree.
		return &exitCodeError{code: exitInconsistent, err: fmt.Errorf("the entries the ledger served do not hash to the signed checkpoint's root: %w", err)}
	}
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(s.out, rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(s.out)
	}
	if len(rep.Violations) > 0 {
		return &exitCodeError{code: exitViolations, err: fmt.Errorf("%d violations in %d entries", len(rep.Violations), cp.Size)}
	}
	return nil
}
