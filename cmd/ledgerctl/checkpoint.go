package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
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
			cp, err := fetchCheckpoint(c.Context, cl, v)
			if err != nil {
				return err
			}
			_, err = s.out.Write(cp.Note)
			return err
		},
	}
}

// fetchCheckpoint fetches the ledger's latest checkpoint and verifies it
// with v, for the origin that is v's key name.
func fetchCheckpoint(ctx context.Context, cl *client.Client, v note.Verifier) (proofs.SignedCheckpoint, error) {
	raw, err := cl.Checkpoint(ctx)
	if err != nil {
		return proofs.SignedCheckpoint{}, withHint(fmt.Errorf("fetching the checkpoint: %w", err),
			"is the ledger running at --ledger?")
	}
	cp, err := proofs.OpenCheckpoint(raw, v.Name(), v)
	if err != nil {
		return proofs.SignedCheckpoint{}, withHint(fmt.Errorf("the ledger's checkpoint does not verify: %w", err),
			"is --log-key the verifier key of this ledger (its DIR/log.pub)?")
	}
	return cp, nil
}

// checkpointCovering returns the ledger's latest verified checkpoint once
// its tree holds at least size entries, polling for at most wait. Errors
// other than a too small tree end the wait at once.
func checkpointCovering(ctx context.Context, cl *client.Client, v note.Verifier, size uint64, wait time.Duration) (proofs.SignedCheckpoint, error) {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Millisecond
	for {
		cp, err := fetchCheckpoint(ctx, cl, v)
		if err != nil {
			return proofs.SignedCheckpoint{}, err
		}
		if cp.Size >= size {
			return cp, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return proofs.SignedCheckpoint{}, withHint(
				fmt.Errorf("the ledger's checkpoint (tree size %d) does not cover index %d yet", cp.Size, size-1),
				"checkpoints follow appends within the server's --checkpoint-interval; retry, or raise --wait")
		}
		select {
		case <-ctx.Done():
			return proofs.SignedCheckpoint{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
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

// notFound reports whether err is the ledger's 404 answer.
func notFound(err error) bool {
	var api *client.APIError
	return errors.As(err, &api) && api.Status == 404
}
