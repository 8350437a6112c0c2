package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/auditor"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
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
			"A checkpoint carries no time, so if --to is the smaller tree the two were\n" +
			"given in reverse order: it says so and proves --to a prefix of --from.\n" +
			"If the ledger's latest is smaller than --from, it proves the same and\n" +
			"exits 1 without evidence: the log is not showing all it signed.\n" +
			"\n" +
			"If they are inconsistent (one size with two roots, or a proof from the\n" +
			"smaller tree to the larger that fails), it prints both checkpoints and the\n" +
			"proof and exits 1; --evidence OUT also saves them, so the evidence can be\n" +
			"checked again later, offline, with --evidence-in.\n" +
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
				Usage:   "a signed checkpoint seen before, read from `FILE`",
				EnvVars: []string{"LEDGER_FROM_CHECKPOINT"},
			},
			&cli.StringFlag{
				Name:    "to",
				Usage:   "another signed checkpoint, read from `FILE` (default: the ledger's latest)",
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
// checkpoint. A checkpoint carries no time, so whichever of the two is
// smaller is proved a prefix of the larger: two honest checkpoints given
// in either order are never called inconsistent.
func verifyConsistency(c *cli.Context, out io.Writer, v note.Verifier) error {
	from, err := readCheckpointFile(c.String("from"), v, "--from")
	if err != nil {
		return err
	}
	// The ledger is asked only for what the files do not hold.
	var cl *client.Client
	ledger := func() (*client.Client, error) {
		if cl == nil {
			cl, err = newClient(c)
		}
		return cl, err
	}
	latest := !c.IsSet("to")
	var to proofs.SignedCheckpoint
	if latest {
		l, err := ledger()
		if err != nil {
			return err
		}
		if to, err = verified.Checkpoint(c.Context, l, v); err != nil {
			return err
		}
	} else if to, err = readCheckpointFile(c.String("to"), v, "--to"); err != nil {
		return err
	}
	older, newer := from, to
	reversed := to.Size < from.Size
	if reversed {
		older, newer = to, from
		if !latest {
			fmt.Fprintf(out, "--from (tree size %d) is larger than --to (%d): they were given in reverse order; checking %d -> %d\n",
				from.Size, to.Size, older.Size, newer.Size)
		}
	}
	// behind is the refusal when the ledger's latest is smaller than
	// --from: no evidence, but the log is not showing all it signed.
	behind := func(err error) error {
		msg := fmt.Errorf("the ledger's latest checkpoint (tree size %d) is smaller than --from (%d)", to.Size, from.Size)
		if err != nil {
			msg = fmt.Errorf("%w, and no consistency proof between them: %w", msg, err)
		}
		return withHint(msg, "is --ledger the log that signed --from, or a replica lagging behind it?",
			"a smaller checkpoint is no evidence of a fork: checkpoints carry no time")
	}
	var proof proofs.ConsistencyProof
	if older.Size > 0 && older.Size < newer.Size {
		l, err := ledger()
		if err == nil {
			proof, err = l.ConsistencyProof(c.Context, older.Size, newer.Size)
		}
		if err != nil {
			err = fmt.Errorf("fetching the consistency proof from tree size %d to %d: %w", older.Size, newer.Size, err)
			if reversed && latest {
				return behind(err)
			}
			return err
		}
	}
	err = proofs.VerifyConsistency(older, newer, proof)
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
		case older.Size == newer.Size:
			hints = append(hints, "two different trees of one size, both signed by the log key, are a fork: no proof is needed to show it")
		case reversed && latest:
			hints = append(hints, "the ledger's latest checkpoint is smaller than --from and not a prefix of it: is --ledger the log that signed --from?")
		default:
			hints = append(hints, "re-run later to rule out a transient bad proof from the ledger")
		}
		return withHint(err, hints...)
	}
	if err != nil {
		return err
	}
	if reversed && latest {
		return behind(nil)
	}
	fmt.Fprintf(out, "consistent: log %q grew from tree size %d to %d\n", older.Origin, older.Size, newer.Size)
	fmt.Fprintf(out, "old root %s\nnew root %s\n", older.Root, newer.Root)
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
// checkpoints are signed by the log key and they have one size and two
// roots, or the stored proof fails to connect the smaller to the larger. It
// returns nil when the proof connects them after all, and for a pair whose
// old tree is the larger, which proves nothing.
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
	case e.Verdict == auditor.OutOfOrder:
		fmt.Fprintf(out, "not evidence of an inconsistency: the old checkpoint (tree size %d) is larger than the new one (%d), "+
			"and checkpoints carry no time\n", e.Old.Size, e.New.Size)
		fmt.Fprintf(out, "only a consistency proof from tree size %d to %d can show whether they are one log: "+
			"save the two checkpoints and run 'ledgerctl verify-consistency --from SMALLER --to LARGER' against the ledger\n",
			e.New.Size, e.Old.Size)
		return nil
	}
	printInconsistency(out, e.Inconsistency)
	hint := "the stored proof fails to connect the two checkpoints: the log forked, or it served a bad proof; " +
		"a fresh consistency proof between the two sizes tells which"
	switch e.Verdict {
	case auditor.Fork:
		fmt.Fprintf(out, "GENUINE EVIDENCE: the log key signed two different trees of size %d\n", e.Old.Size)
		hint = "two signed trees of one size are a fork of the log; this needs no proof to show"
	default:
		fmt.Fprintf(out, "GENUINE EVIDENCE: both checkpoints are signed by the log key and the stored proof does not connect them\n")
	}
	return withHint(fmt.Errorf("the evidence in %s shows an inconsistency: %w", path, e.Inconsistency), hint)
}
