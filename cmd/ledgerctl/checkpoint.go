package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
)

func checkpointCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "checkpoint",
		Usage:     "fetch the ledger's latest checkpoint, verify its signature and print it",
		UsageText: "ledgerctl checkpoint --ledger URL --log-key VKEY",
		Description: "Fetches the latest C2SP checkpoint, checks that it is signed by the log\n" +
			"key and names the key's origin, and prints the signed note as served.\n" +
			"Keep the output: it is what verify-consistency --from takes later to\n" +
			"check that the log only ever grew.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl checkpoint --ledger http://127.0.0.1:7420 --log-key ./log/log.pub > cp.txt",
		Flags: []cli.Flag{ledgerFlag(), logKeyFlag()},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			v, err := loadVerifier(c)
			if err != nil {
				return err
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			cp, err := verified.Checkpoint(c.Context, cl, v)
			if err != nil {
				return err
			}
			_, err = s.out.Write(cp.Note)
			return err
		},
	}
}

// readCheckpointFile reads and verifies a signed checkpoint note saved in a
// file, such as the output of the checkpoint command.
func readCheckpointFile(path string, v note.Verifier, flag string) (proofs.SignedCheckpoint, error) {
	raw, err := fileio.ReadLimit(path, maxInputFile, "checkpoint file")
	if err != nil {
		return proofs.SignedCheckpoint{}, err
	}
	cp, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return proofs.SignedCheckpoint{}, withHint(fmt.Errorf("%s %s: %w", flag, path, err),
			"a checkpoint file holds a signed note as printed by 'ledgerctl checkpoint', signed by --log-key")
	}
	return cp, nil
}

// waitFlag is --wait, how long to wait for a checkpoint covering an entry.
func waitFlag() cli.Flag {
	return &cli.DurationFlag{
		Name:    "wait",
		Value:   10 * time.Second,
		Usage:   "how long to wait for a checkpoint that covers the entry",
		EnvVars: []string{"LEDGER_WAIT"},
	}
}
