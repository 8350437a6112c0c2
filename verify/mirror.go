package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
)

// A mirror is a copy of a log in the C2SP tlog-tiles layout on disk: its
// signed checkpoint in DIR/checkpoint, its hash tiles in DIR/tile/L/...,
// its entry bundles in DIR/tile/entries/... Any tlog-tiles client that
// reads files can verify it, and `ledgerctl audit --dir` audits it with no
// network.

// MirrorCheckpointFile is the mirror's checkpoint, written last.
const MirrorCheckpointFile = "checkpoint"

// maxMirrorTile bounds a tile file read from a mirror: an entry bundle of
// 256 entries of the largest size.
const maxMirrorTile = 16 << 20

// DirTiles is the [TileSource] of a mirror in dir.
func DirTiles(dir string) TileSource {
	return TileSourceFunc(func(_ context.Context, t proofs.Tile) ([]byte, error) {
		b, err := fileio.ReadLimit(filepath.Join(dir, filepath.FromSlash(t.Path())), maxMirrorTile, "mirror tile")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the mirror has no %s: %w", t.Path(), err)
		}
		return b, err
	})
}

// MirrorStats says what a [Mirror] run did.
type MirrorStats struct {
	Fetched int // tiles and bundles read from the source
	Kept    int // full tiles and bundles already in the mirror, proved again
}

// Mirror brings the mirror in dir up to cp, which MUST be a checkpoint the
// caller has verified, reading from src. Nothing is written that is not
// proved: entries are read through an [EntryReader] and each entry bundle
// is written from the proved entries; each hash tile is computed from
// them, and the source's tile must be the same bytes. The checkpoint is
// written last, so a mirror whose checkpoint verifies holds every tile
// that checkpoint needs. Full tiles never change, so those already in dir
// are read from it (and proved again) rather than fetched. progress, if
// not nil, is told of every tile written or kept.
func Mirror(ctx context.Context, src TileSource, cp proofs.SignedCheckpoint, dir string, progress func()) (MirrorStats, error) {
	m := &mirror{dir: dir, src: src, fetched: map[proofs.Tile]bool{}, progress: progress}
	rd, err := NewEntryReader(TileSourceFunc(m.tile), cp.Checkpoint, nil)
	if err != nil {
		return MirrorStats{}, err
	}
	tree := proofs.NewRange()
	levels := map[uint8]*[]byte{} // the hash tile being built at each tile level
	var bundle [][]byte
	for index, e := range rd.Entries(ctx) {
		err := tree.Append(proofs.LeafHash(e), func(id proofs.NodeID, h proofs.Hash) error {
			if id.Level%8 != 0 {
				return nil
			}
			level := uint8(id.Level / 8)
			b := levels[level]
			if b == nil {
				b = new([]byte)
				levels[level] = b
			}
			*b = append(*b, h[:]...)
			if id.Index%proofs.TileWidth == proofs.TileWidth-1 {
				t := proofs.Tile{Level: level, Index: id.Index / proofs.TileWidth, Width: proofs.TileWidth}
				if err := m.hashTile(ctx, t, *b); err != nil {
					return err
				}
				*b = (*b)[:0]
			}
			return nil
		})
		if err != nil {
			return m.stats, err
		}
		if bundle = append(bundle, e); index%proofs.TileWidth == proofs.TileWidth-1 || index == cp.Size-1 {
			t := proofs.Tile{Entries: true, Index: index / proofs.TileWidth, Width: uint16(len(bundle))}
			if err := m.entryBundle(t, bundle); err != nil {
				return m.stats, err
			}
			bundle = bundle[:0]
		}
	}
	if err := rd.Err(); err != nil {
		return m.stats, err
	}
	// The partial tile at the right edge of each level.
	for level, b := range levels {
		if n := len(*b) / proofs.HashSize; n > 0 {
			t := proofs.Tile{Level: level, Index: (cp.Size >> (8 * uint(level))) / proofs.TileWidth, Width: uint16(n)}
			if err := m.hashTile(ctx, t, *b); err != nil {
				return m.stats, err
			}
		}
	}
	if err := fileio.WriteAtomic(filepath.Join(dir, MirrorCheckpointFile), cp.Note, 0o644); err != nil {
		return m.stats, err
	}
	return m.stats, nil
}

type mirror struct {
	dir      string
	src      TileSource
	stats    MirrorStats
	fetched  map[proofs.Tile]bool
	progress func()
}

func (m *mirror) path(t proofs.Tile) string {
	return filepath.Join(m.dir, filepath.FromSlash(t.Path()))
}

// tile reads t from the mirror if it is a full tile already there, else
// from the source.
func (m *mirror) tile(ctx context.Context, t proofs.Tile) ([]byte, error) {
	if t.Width == proofs.TileWidth {
		if b, err := fileio.ReadLimit(m.path(t), maxMirrorTile, "mirror tile"); err == nil {
			return b, nil
		}
	}
	b, err := m.src.Tile(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", t.Path(), err)
	}
	if !m.fetched[t] {
		m.fetched[t] = true
		m.stats.Fetched++
	}
	return b, nil
}

// hashTile checks the source's (or the mirror's) tile t against want,
// computed from proved entries, and writes it.
func (m *mirror) hashTile(ctx context.Context, t proofs.Tile, want []byte) error {
	got, err := m.tile(ctx, t)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("the mirror's tiles do not make the checkpoint's tree: %s is not the hash tile of the proved entries", t.Path())
	}
	return m.write(t, want)
}

// entryBundle writes the bundle of proved entries at t.
func (m *mirror) entryBundle(t proofs.Tile, entries [][]byte) error {
	b, err := proofs.MarshalEntryBundle(entries)
	if err != nil {
		return err
	}
	return m.write(t, b)
}

// write writes a proved tile, unless it is a full one already there.
func (m *mirror) write(t proofs.Tile, data []byte) error {
	if m.progress != nil {
		defer m.progress()
	}
	path := m.path(t)
	if t.Width == proofs.TileWidth && !m.fetched[t] {
		if _, err := os.Stat(path); err == nil {
			m.stats.Kept++
			return nil // full tiles never change, and it was proved again
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fileio.WriteAtomic(path, data, 0o644)
}

// MirrorTiles is how many hash tiles and entry bundles the mirror of a
// tree of size holds.
func MirrorTiles(size uint64) int {
	n := 0
	for level := 0; level < 8; level++ {
		nodes := size >> (8 * uint(level))
		if nodes == 0 {
			break
		}
		n += int((nodes + proofs.TileWidth - 1) / proofs.TileWidth)
	}
	return n + int((size+proofs.TileWidth-1)/proofs.TileWidth)
}

// MirrorConsistency proves from a mirror's tiles that the tree of old.Size
// is a prefix of the mirror's tree cur (golang.org/x/mod's tlog computes
// the proof and checks every tile it reads against cur's root).
func MirrorConsistency(dir string, old, cur proofs.SignedCheckpoint) (proofs.ConsistencyProof, error) {
	p, err := newProvedTiles(DirTiles(dir), cur.Checkpoint).proveConsistency(context.Background(), old.Size)
	if err != nil {
		return nil, fmt.Errorf("proving consistency from the mirror's tiles: %w", err)
	}
	return p, nil
}
