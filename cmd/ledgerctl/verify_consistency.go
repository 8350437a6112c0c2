package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/auditor"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
)

func verifyConsistencyCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "verify-consistency",
		Usage: "prove that the log only grew between two checkpoints, or re-check stored evidence",
		UsageText: "ledgerctl verify-consistency --ledger URL --log-key VKEY --from FILE [--to FILE] [--evidence OUT]\n" +
			"ledgerctl verify-consistency --log-key VKEY --evidence-in FILE",
		Description: "Checks that the tree of the --from checkpoint is a prefix of the tree of\n" +
			"the --to checkpoint (by default the ledger's latest): both must be signed\n" +
			"by the log key, and the ledger's consistency proof between them must\n" +
			"verify. A checkpoint file is a signed note as printed by 'ledgerctl\n" +
			"checkpoint'.\n" +
			"\n" +
			"If they are inconsistent, it prints both checkpoints and the proof and\n" +
			"exits 1; --evidence OUT also saves them, so the evidence can be checked\n" +
			"again later, offline, with --evidence-in.\n" +
			"\n" +
			"Examples:\n" +
			"  $ ledgerctl checkpoint --ledger http://127.0.0.1:7420 --log-key ./log/log.pub > old.txt\n" +
			"  ... later ...\n" +
			"  $ ledgerctl verify-consistency --ledger http://127.0.0.1:7420 --log-key ./log/log.pub \\\n" +
			"      --from old.txt --evidence fork.evidence\n" +
			"  $ ledgerctl verify-consistency --log-key ./log/log.pub --evidence-in fork.evidence",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{
				Name:    "from",
				Usage:   "the older signed checkpoint, read from `FILE`",
				EnvVars: []string{"LEDGER_FROM_CHECKPOINT"},
			},
			&cli.StringFlag{
				Name:    "to",
				Usage:   "the newer signed checkpoint, read from `FILE` (default: the ledger's latest)",
				EnvVars: []string{"LEDGER_TO_CHECKPOINT"},
			},
			&cli.StringFlag{
				Name:    "evidence",
				Usage:   "on an inconsistency, write the evidence to `FILE`",
				EnvVars: []string{"LEDGER_EVIDENCE"},
			},
			&cli.StringFlag{
				Name:    "evidence-in",
				Usage:   "re-check the evidence saved in `FILE`, offline",
				EnvVars: []string{"LEDGER_EVIDENCE_IN"},
			},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "log-key"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			if c.IsSet("evidence-in") {
				for _, f := range []string{"from", "to", "evidence"} {
					if err := conflicting(c, "evidence-in", f); err != nil {
						return err
					}
				}
				v, err := loadVerifier(c)
				if err != nil {
					return err
				}
				return recheckEvidence(s.out, c.String("evidence-in"), v)
			}
			if err := requireFlags(c, "from"); err != nil {
				return err
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			return verifyConsistency(c, s.out, v)
		},
	}
}

// verifyConsistency checks --from against --to or the ledger's latest
// checkpoint.
func verifyConsistency(c *cli.Context, out io.Writer, v note.Verifier) error {
	old, err := readCheckpointFile(c.String("from"), v, "--from")
	if err != nil {
		return err
	}
	var newCP proofs.SignedCheckpoint
	// The ledger is asked only for what the files do not hold.
	needLedger := !c.IsSet("to")
	if c.IsSet("to") {
		if newCP, err = readCheckpointFile(c.String("to"), v, "--to"); err != nil {
			return err
		}
		needLedger = old.Size > 0 && old.Size < newCP.Size
	}
	var proof proofs.ConsistencyProof
	if needLedger {
		cl, err := newClient(c)
		if err != nil {
			return err
		}
		if !c.IsSet("to") {
			if newCP, err = verified.Checkpoint(c.Context, cl, v); err != nil {
				return err
			}
		}
		if old.Size > 0 && old.Size < newCP.Size {
			proof, err = cl.ConsistencyProof(c.Context, old.Size, newCP.Size)
			if err != nil {
				return fmt.Errorf("fetching the consistency proof from tree size %d to %d: %w", old.Size, newCP.Size, err)
			}
		}
	}
	err = proofs.VerifyConsistency(old, newCP, proof)
	var inc *proofs.InconsistencyError
	if errors.As(err, &inc) {
		printInconsistency(out, inc)
		err = fmt.Errorf("consistency check failed: %w", err)
		if path := c.String("evidence"); path != "" {
			if werr := fileio.WriteAtomic(path, inc.MarshalEvidence(), 0o644); werr != nil {
				return errors.Join(err, werr)
			}
			fmt.Fprintf(out, "evidence written to %s\n", path)
		}
		hints := []string{"keep both checkpoints and the proof above: they are evidence against the log"}
		switch {
		case old.Size == newCP.Size:
			hints = append(hints, "two different trees of one size, both signed by the log key, are a fork: no proof is needed to show it")
		case newCP.Size < old.Size && c.IsSet("to"):
			hints = append(hints, "the --to checkpoint is smaller than --from: check that they are not swapped")
		case newCP.Size < old.Size:
			hints = append(hints, "the ledger's latest checkpoint is smaller than --from: is --ledger the log that signed --from?")
		default:
			hints = append(hints, "re-run later to rule out a transient bad proof from the ledger")
		}
		return withHint(err, hints...)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "consistent: log %q grew from tree size %d to %d\n", old.Origin, old.Size, newCP.Size)
	fmt.Fprintf(out, "old root %s\nnew root %s\n", old.Root, newCP.Root)
	return nil
}

// printInconsistency prints both checkpoints and the proof of an
// inconsistency.
func printInconsistency(out io.Writer, e *proofs.InconsistencyError) {
	fmt.Fprintf(out, "INCONSISTENT: log %q signed checkpoints that do not extend each other\n", e.Old.Origin)
	fmt.Fprintf(out, "\nold checkpoint (tree size %d):\n%s", e.Old.Size, e.Old.Note)
	fmt.Fprintf(out, "\nnew checkpoint (tree size %d):\n%s", e.New.Size, e.New.Note)
	fmt.Fprintf(out, "\nconsistency proof (%d hashes):\n", len(e.Proof))
	for _, h := range e.Proof {
		fmt.Fprintf(out, "%s\n", h)
	}
	fmt.Fprintln(out)
}

// recheckEvidence re-checks stored inconsistency evidence offline. It
// returns an error (exit 1) when the evidence is genuine, that is, both
// checkpoints are signed by the log key and the stored proof fails to
// connect them, and nil when the proof connects them after all.
func recheckEvidence(out io.Writer, path string, v note.Verifier) error {
	data, err := fileio.ReadLimit(path, proofs.MaxEvidenceSize, "evidence file")
	if err != nil {
		return err
	}
	e, err := auditor.RecheckEvidence(data, v)
	switch {
	case errors.Is(err, auditor.ErrNotGenuine):
		return fmt.Errorf("%s %w", path, err)
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case e.Verdict == auditor.NotEvidence:
		fmt.Fprintf(out, "not evidence of an inconsistency: the stored proof shows log %q grew from tree size %d to %d\n",
			e.Old.Origin, e.Old.Size, e.New.Size)
		return nil
	}
	printInconsistency(out, e.Inconsistency)
	hint := "the stored proof fails to connect the two checkpoints: the log forked, or it served a bad proof; " +
		"a fresh consistency proof between the two sizes tells which"
	switch e.Verdict {
	case auditor.Fork:
		fmt.Fprintf(out, "GENUINE EVIDENCE: the log key signed two different trees of size %d\n", e.Old.Size)
		hint = "two signed trees of one size are a fork of the log; this needs no proof to show"
	case auditor.Shrunk:
		fmt.Fprintf(out, "GENUINE EVIDENCE: both checkpoints are signed by the log key and the newer one is smaller\n")
		hint = fmt.Sprintf("a shrinking tree is a fork only if the size-%d checkpoint was signed after the size-%d one; "+
			"a consistency proof from %d to %d settles it", e.New.Size, e.Old.Size, e.New.Size, e.Old.Size)
	default:
		fmt.Fprintf(out, "GENUINE EVIDENCE: both checkpoints are signed by the log key and the stored proof does not connect them\n")
	}
	return withHint(fmt.Errorf("the evidence in %s shows an inconsistency: %w", path, e.Inconsistency), hint)
}
