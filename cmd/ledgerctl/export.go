package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/verify"
)

// proofExt is the file extension of C2SP tlog-proof files.
const proofExt = ".tlog-proof"

func exportProofCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "export-proof",
		Usage: "save verified, self-contained tlog-proof files for entries",
		UsageText: "ledgerctl export-proof --ledger URL --log-key VKEY --index N -o FILE.tlog-proof\n" +
			"ledgerctl export-proof --ledger URL --log-key VKEY --from A --to B --out DIR",
		Description: "Fetches the C2SP tlog-proof of an entry under the ledger's latest\n" +
			"checkpoint: the entry itself, its inclusion proof and the signed\n" +
			"checkpoint, in one file that verify-inclusion --bundle checks with no\n" +
			"network. Every proof is verified with the log key before it is written;\n" +
			"nothing unverified is ever saved.\n" +
			"\n" +
			"With --from A --to B it exports the entries A to B-1 as DIR/<index>.tlog-proof,\n" +
			"with a progress bar on a terminal.\n" +
			"\n" +
			"Examples:\n" +
			"  $ ledgerctl export-proof --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --index 0 -o 0.tlog-proof\n" +
			"  $ ledgerctl export-proof --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --from 0 --to 100 --out proofs/",
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.Uint64Flag{
				Name:    "index",
				Usage:   "export the proof of the entry at index `N`",
				EnvVars: []string{"LEDGER_INDEX"},
			},
			&cli.StringFlag{
				Name:    "output",
				Aliases: []string{"o"},
				Usage:   "write the proof of --index to `FILE`",
				EnvVars: []string{"LEDGER_OUTPUT"},
			},
			&cli.Uint64Flag{
				Name:    "from",
				Usage:   "export a range starting at index `A` (inclusive)",
				EnvVars: []string{"LEDGER_EXPORT_FROM"},
			},
			&cli.Uint64Flag{
				Name:    "to",
				Usage:   "export a range ending at index `B` (exclusive)",
				EnvVars: []string{"LEDGER_EXPORT_TO"},
			},
			&cli.StringFlag{
				Name:    "out",
				Usage:   "write the range's proofs to `DIR`, one <index>.tlog-proof each",
				EnvVars: []string{"LEDGER_EXPORT_DIR"},
			},
			waitFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			single := c.IsSet("index") || c.IsSet("output")
			ranged := c.IsSet("from") || c.IsSet("to") || c.IsSet("out")
			switch {
			case single && ranged:
				return usageErrorf(c, "give --index and -o, or --from, --to and --out, not both")
			case single:
				if err := requireFlags(c, "ledger", "log-key", "index", "output"); err != nil {
					return err
				}
			case ranged:
				if err := requireFlags(c, "ledger", "log-key", "from", "to", "out"); err != nil {
					return err
				}
				if c.Uint64("from") >= c.Uint64("to") {
					return usageErrorf(c, "--from %d must be less than --to %d", c.Uint64("from"), c.Uint64("to"))
				}
			default:
				return usageErrorf(c, "give --index N -o FILE, or --from A --to B --out DIR")
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			if single {
				return exportOne(c, s.out, cl, v)
			}
			return exportRange(c, s, cl, v)
		},
	}
}

func exportOne(c *cli.Context, out io.Writer, cl *client.Client, v note.Verifier) error {
	index, path := c.Uint64("index"), c.String("output")
	if _, err := verified.CheckpointCovering(c.Context, cl, v, index+1, c.Duration("wait")); err != nil {
		return err
	}
	e, raw, err := verified.Prove(c.Context, cl, v, index, 0, verify.Want{})
	if err != nil {
		return err
	}
	cp := e.Checkpoint
	if err := fileio.WriteAtomic(path, raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s: entry %d in log %q at tree size %d\n", path, index, cp.Origin, cp.Size)
	return nil
}

func exportRange(c *cli.Context, s streams, cl *client.Client, v note.Verifier) error {
	from, to, dir := c.Uint64("from"), c.Uint64("to"), c.String("out")
	// Every proof of the range is under this one checkpoint.
	cp, err := verified.CheckpointCovering(c.Context, cl, v, to, c.Duration("wait"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	bar := newProgress(s, int64(to-from), "exporting proofs")
	for i := from; i < to; i++ {
		_, raw, err := verified.Prove(c.Context, cl, v, i, cp.Size, verify.Want{})
		if err != nil {
			_ = bar.Exit()
			return err
		}
		path := filepath.Join(dir, strconv.FormatUint(i, 10)+proofExt)
		if err := fileio.WriteAtomic(path, raw, 0o644); err != nil {
			_ = bar.Exit()
			return err
		}
		_ = bar.Add(1)
	}
	_ = bar.Finish()
	fmt.Fprintf(s.out, "wrote %d proofs, entries %d to %d, to %s\n", to-from, from, to-1, dir)
	return nil
}
