package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
)

// Audit exit codes, beyond 0 ok, 1 failed and 2 usage.
const (
	exitInconsistent = 3
	exitViolations   = 4
)

// The audit state directory's files.
const (
	auditCheckpointFile = "checkpoint"
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
offline, and exits 3.

Exit codes: 0 consistent, 1 the audit could not be done (the reason is on
stderr), 2 usage, 3 inconsistency (evidence written).

Example:
  ledgerctl audit --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --state ./audit
  ledgerctl audit --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --state ./audit --follow --interval 5s`,
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{Name: "state", Usage: "the auditor's state `DIR` (the last verified checkpoint, evidence)", EnvVars: []string{"LEDGER_AUDIT_STATE"}},
			&cli.BoolFlag{Name: "follow", Usage: "keep auditing every --interval until interrupted", EnvVars: []string{"LEDGER_AUDIT_FOLLOW"}},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between audits with --follow", EnvVars: []string{"LEDGER_AUDIT_INTERVAL"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key", "state"); err != nil {
				return err
			}
			if c.Duration("interval") <= 0 {
				return usageErrorf(c, "--interval must be positive")
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			dir := c.String("state")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("audit state: %w", err)
			}
			if !c.Bool("follow") {
				return auditConsistency(c.Context, s.out, cl, v, dir)
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			t := time.NewTicker(c.Duration("interval"))
			defer t.Stop()
			for {
				if err := auditConsistency(ctx, s.out, cl, v, dir); err != nil {
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

// auditConsistency checks the ledger's latest checkpoint against the one
// stored in dir, and stores it once it is proved consistent.
func auditConsistency(ctx context.Context, out io.Writer, cl *client.Client, v note.Verifier, dir string) error {
	latest, err := fetchCheckpoint(ctx, cl, v)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, auditCheckpointFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := writeFileAtomic(path, latest.Note, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "first audit: trusting checkpoint %d (root %s) of log %q; later audits prove the log only grew from it\n",
			latest.Size, latest.Root, latest.Origin)
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit state: %w", err)
	}
	stored, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return fmt.Errorf("the stored checkpoint %s does not verify under the log key: %w", path, err)
	}
	older, newer := stored, latest
	if latest.Size < stored.Size {
		older, newer = latest, stored // an older checkpoint must still be a prefix
	}
	var p proofs.ConsistencyProof
	if older.Size != newer.Size && older.Size > 0 {
		if p, err = cl.ConsistencyProof(ctx, older.Size, newer.Size); err != nil {
			return fmt.Errorf("fetching the consistency proof %d -> %d: %w", older.Size, newer.Size, err)
		}
	}
	if err := proofs.VerifyConsistency(older, newer, p); err != nil {
		var inc *proofs.InconsistencyError
		if !errors.As(err, &inc) {
			return err
		}
		evidence := filepath.Join(dir, fmt.Sprintf("evidence-%d-%d.txt", inc.Old.Size, inc.New.Size))
		if werr := writeFileAtomic(evidence, inc.MarshalEvidence(), 0o644); werr != nil {
			return errors.Join(err, werr)
		}
		printInconsistency(out, inc)
		return &exitCodeError{code: exitInconsistent, err: withHint(
			fmt.Errorf("the log is not consistent with checkpoint %d seen before; evidence written to %s: %w", stored.Size, evidence, err),
			"re-check the evidence offline with: ledgerctl verify-consistency --evidence-in "+evidence+" --log-key LOG_KEY")}
	}
	if latest.Size < stored.Size {
		fmt.Fprintf(out, "consistent, but the ledger served checkpoint %d, older than %d seen before; keeping %d\n", latest.Size, stored.Size, stored.Size)
		return nil
	}
	if err := writeFileAtomic(path, latest.Note, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "consistent: log %q grew from %d to %d entries (%d-hash proof verified)\n", latest.Origin, stored.Size, latest.Size, len(p))
	return nil
}
