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

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
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

With --full it also audits the content of every entry, resuming where the
last run stopped: it reads the entries through the tile API and uses them
only once their leaf hashes extend the audited tree to the verified
checkpoint's root. It then checks every signature and writer, that
registrations come before use, and for every action that its contract is
in the log at a lower index, names the signer as audience and the caller
as subject, is in force and unrevoked at its time, covers the action with
every constraint, and that its nonce is unique. The report counts entries
per kind and lists every violation with its index (--json for machines).

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
			var src auditSource = mirrorSource{dir: c.String("dir"), v: v}
			if c.String("dir") == "" {
				cl, err := newClient(c)
				if err != nil {
					return err
				}
				src = ledgerSource{cl: cl, v: v}
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
				cp, err := auditConsistency(ctx, talk, src, v, dir)
				if err != nil || !c.Bool("full") {
					return err
				}
				return auditFull(ctx, s, src.tiles(), cp, authority, dir, c.Duration("skew"), c.Bool("json"))
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

// auditConsistency checks the ledger's latest checkpoint against the one
// stored in dir, and stores it once it is proved consistent.
func auditConsistency(ctx context.Context, out io.Writer, src auditSource, v note.Verifier, dir string) (proofs.SignedCheckpoint, error) {
	latest, err := src.checkpoint(ctx)
	if err != nil {
		return proofs.SignedCheckpoint{}, err
	}
	path := filepath.Join(dir, auditCheckpointFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := fileio.WriteAtomic(path, latest.Note, 0o644); err != nil {
			return latest, err
		}
		fmt.Fprintf(out, "first audit: trusting checkpoint %d (root %s) of log %q; later audits prove the log only grew from it\n",
			latest.Size, latest.Root, latest.Origin)
		return latest, nil
	}
	if err != nil {
		return proofs.SignedCheckpoint{}, fmt.Errorf("audit state: %w", err)
	}
	stored, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return proofs.SignedCheckpoint{}, fmt.Errorf("the stored checkpoint %s does not verify under the log key: %w", path, err)
	}
	older, newer := stored, latest
	if latest.Size < stored.Size {
		older, newer = latest, stored // an older checkpoint must still be a prefix
	}
	var p proofs.ConsistencyProof
	if older.Size != newer.Size && older.Size > 0 {
		if p, err = src.consistency(ctx, older, newer); err != nil {
			return stored, fmt.Errorf("fetching the consistency proof %d -> %d: %w", older.Size, newer.Size, err)
		}
	}
	if err := proofs.VerifyConsistency(older, newer, p); err != nil {
		var inc *proofs.InconsistencyError
		if !errors.As(err, &inc) {
			return stored, err
		}
		evidence := filepath.Join(dir, fmt.Sprintf("evidence-%d-%d.txt", inc.Old.Size, inc.New.Size))
		if werr := fileio.WriteAtomic(evidence, inc.MarshalEvidence(), 0o644); werr != nil {
			return stored, errors.Join(err, werr)
		}
		printInconsistency(out, inc)
		return stored, &exitCodeError{code: exitInconsistent, err: withHint(
			fmt.Errorf("the log is not consistent with checkpoint %d seen before; evidence written to %s: %w", stored.Size, evidence, err),
			"re-check the evidence offline with: ledgerctl verify-consistency --evidence-in "+evidence+" --log-key LOG_KEY")}
	}
	if latest.Size < stored.Size {
		fmt.Fprintf(out, "consistent, but the ledger served checkpoint %d, older than %d seen before; keeping %d\n", latest.Size, stored.Size, stored.Size)
		return stored, nil
	}
	if err := fileio.WriteAtomic(path, latest.Note, 0o644); err != nil {
		return stored, err
	}
	fmt.Fprintf(out, "consistent: log %q grew from %d to %d entries (%d-hash proof verified)\n", latest.Origin, stored.Size, latest.Size, len(p))
	return latest, nil
}

// auditSource is what an audit reads: a ledger, or a mirror of one.
type auditSource interface {
	checkpoint(ctx context.Context) (proofs.SignedCheckpoint, error)
	consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error)
	tiles() verify.TileSource
}

type ledgerSource struct {
	cl *client.Client
	v  note.Verifier
}

func (l ledgerSource) checkpoint(ctx context.Context) (proofs.SignedCheckpoint, error) {
	return verified.Checkpoint(ctx, l.cl, l.v)
}

func (l ledgerSource) consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	return l.cl.ConsistencyProof(ctx, older.Size, newer.Size)
}

func (l ledgerSource) tiles() verify.TileSource { return l.cl }

// mirrorSource audits a mirror made by ledgerctl export, with no network:
// consistency proofs are computed from its tiles.
type mirrorSource struct {
	dir string
	v   note.Verifier
}

func (m mirrorSource) checkpoint(context.Context) (proofs.SignedCheckpoint, error) {
	raw, err := fileio.ReadLimit(filepath.Join(m.dir, "checkpoint"), proofs.MaxCheckpointSize, "mirror checkpoint")
	if err != nil {
		return proofs.SignedCheckpoint{}, withHint(err, "is --dir a mirror made by ledgerctl export?")
	}
	cp, err := proofs.OpenCheckpoint(raw, m.v.Name(), m.v)
	if err != nil {
		return proofs.SignedCheckpoint{}, fmt.Errorf("the mirror's checkpoint does not verify: %w", err)
	}
	return cp, nil
}

func (m mirrorSource) consistency(ctx context.Context, older, newer proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	cur, err := m.checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if newer.Size != cur.Size || newer.Root != cur.Root {
		return nil, fmt.Errorf("the mirror (tree size %d) is older than the last audit (%d); export it again", cur.Size, newer.Size)
	}
	return verify.MirrorConsistency(m.dir, older, cur)
}

func (m mirrorSource) tiles() verify.TileSource { return verify.DirTiles(m.dir) }
