package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
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
the partial ones at the edge, are fetched again. The checkpoint is written
last, after every tile it needs. A progress bar shows on a terminal.

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
			cp, err := fetchCheckpoint(c.Context, cl, v)
			if err != nil {
				return err
			}
			out := c.String("out")
			tiles := mirrorTiles(cp.Size)
			bar := progressbar.NewOptions(len(tiles), progressbar.OptionSetWriter(s.err),
				progressbar.OptionSetVisibility(isTerminal(s.err)), progressbar.OptionSetDescription("mirroring tiles"),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			fetched := 0
			for _, t := range tiles {
				path := filepath.Join(out, filepath.FromSlash(t.Path()))
				if t.Width == proofs.TileWidth {
					if _, err := os.Stat(path); err == nil {
						_ = bar.Add(1)
						continue // full tiles never change
					}
				}
				data, err := cl.Tile(c.Context, t)
				if err != nil {
					return fmt.Errorf("fetching %s: %w", t.Path(), err)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return err
				}
				if err := fileio.WriteAtomic(path, data, 0o644); err != nil {
					return err
				}
				fetched++
				_ = bar.Add(1)
			}
			_ = bar.Finish()
			// The mirror must hold a tree its checkpoint commits to: check the
			// root from the files before publishing the checkpoint there.
			if err := checkMirrorRoot(out, cp); err != nil {
				return err
			}
			if err := fileio.WriteAtomic(filepath.Join(out, "checkpoint"), cp.Note, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "mirrored log %q at tree size %d to %s (%d tiles fetched, %d already there)\n",
				cp.Origin, cp.Size, out, fetched, len(tiles)-fetched)
			return nil
		},
	}
}

// mirrorTiles lists every hash tile and entry bundle of a tree of size.
func mirrorTiles(size uint64) []proofs.Tile {
	var out []proofs.Tile
	for level := uint8(0); ; level++ {
		nodes := size >> (8 * uint(level))
		if nodes == 0 {
			break
		}
		out = append(out, tilesOf(nodes, func(i uint64, w uint16) proofs.Tile { return proofs.Tile{Level: level, Index: i, Width: w} })...)
		if level == 7 {
			break
		}
	}
	return append(out, tilesOf(size, func(i uint64, w uint16) proofs.Tile { return proofs.Tile{Entries: true, Index: i, Width: w} })...)
}

func tilesOf(n uint64, mk func(uint64, uint16) proofs.Tile) []proofs.Tile {
	var out []proofs.Tile
	for i := uint64(0); i < n/proofs.TileWidth; i++ {
		out = append(out, mk(i, proofs.TileWidth))
	}
	if r := n % proofs.TileWidth; r > 0 {
		out = append(out, mk(n/proofs.TileWidth, uint16(r)))
	}
	return out
}

// dirTiles reads a mirror's tiles (as ledger/client.Client reads a
// ledger's).
type dirTiles struct{ dir string }

func (d dirTiles) Tile(_ context.Context, t proofs.Tile) ([]byte, error) {
	b, err := fileio.ReadLimit(filepath.Join(d.dir, filepath.FromSlash(t.Path())), 16<<20, "mirror tile")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the mirror has no %s: %w", t.Path(), err)
	}
	return b, err
}

// tlogTiles adapts a mirror to golang.org/x/mod/sumdb/tlog, which computes
// proofs from tiles and checks every tile against the tree's root.
type tlogTiles struct{ dirTiles }

func (tlogTiles) Height() int { return 8 }

func (t tlogTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		b, err := t.Tile(context.Background(), proofs.Tile{Level: uint8(tile.L), Index: uint64(tile.N), Width: uint16(tile.W)})
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (tlogTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// checkMirrorRoot recomputes the root of the mirror's hash tiles and
// compares it with the checkpoint.
func checkMirrorRoot(dir string, cp proofs.SignedCheckpoint) error {
	if cp.Size == 0 {
		return nil
	}
	hr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Root)}, tlogTiles{dirTiles{dir}})
	root, err := tlog.TreeHash(int64(cp.Size), hr)
	if err != nil {
		return fmt.Errorf("the mirror's tiles do not make the checkpoint's tree: %w", err)
	}
	if proofs.Hash(root) != cp.Root {
		return fmt.Errorf("the mirror's tiles hash to %x, the checkpoint says %s", root, cp.Root)
	}
	return nil
}

// mirrorConsistency proves from a mirror's tiles that the tree of size
// old.Size is a prefix of the mirror's tree.
func mirrorConsistency(dir string, old, cur proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	hr := tlog.TileHashReader(tlog.Tree{N: int64(cur.Size), Hash: tlog.Hash(cur.Root)}, tlogTiles{dirTiles{dir}})
	p, err := tlog.ProveTree(int64(cur.Size), int64(old.Size), hr)
	if err != nil {
		return nil, fmt.Errorf("proving consistency from the mirror's tiles: %w", err)
	}
	out := make(proofs.ConsistencyProof, len(p))
	for i, h := range p {
		out[i] = proofs.Hash(h)
	}
	return out, nil
}
