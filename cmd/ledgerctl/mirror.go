package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/verify"
)

// mirrorCommand is `ledgerctl export`: an offline copy of the log.
func mirrorCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "mirror the log (checkpoint, tiles, entry bundles) for an air-gapped audit",
		Description: `Copies the ledger's verified checkpoint, hash tiles and entry bundles into
--out in the C2SP tlog-tiles layout, so that 'ledgerctl audit --dir' (or
any tlog-tiles client reading files) can audit it with no network. It is
incremental: full tiles and bundles never change, so only new ones, and
the partial ones at the edge, are fetched again. Nothing is written before
it is proved against the verified checkpoint: entry bundles are written
from proved entries, and every hash tile must be the one those entries
make. The checkpoint is written last, after every tile it needs. A
progress bar shows on a terminal.

Example:
  ledgerctl export --ledger http://127.0.0.1:7420 --log-key ./log/log.pub --out ./mirror
  ledgerctl audit --dir ./mirror --log-key ./log/log.pub --state ./audit --full --authority ./log/authority.did`,
		Flags: []cli.Flag{
			ledgerFlag(),
			logKeyFlag(),
			&cli.StringFlag{Name: "out", Usage: "the mirror `DIR`", EnvVars: []string{"LEDGER_MIRROR_OUT"}},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "log-key", "out"); err != nil {
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
			cp, err := verified.Checkpoint(c.Context, cl, v)
			if err != nil {
				return err
			}
			out := c.String("out")
			bar := newProgress(s, int64(verify.MirrorTiles(cp.Size)), "mirroring tiles")
			stats, err := verify.Mirror(c.Context, cl, cp, out, func() { _ = bar.Add(1) })
			_ = bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(s.out, "mirrored log %q at tree size %d to %s (%d tiles fetched, %d already there)\n",
				cp.Origin, cp.Size, out, stats.Fetched, stats.Kept)
			return nil
		},
	}
}
