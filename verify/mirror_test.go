package verify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

// mirrorOf mirrors entries, as served by a memory log (through wrap, if
// given), into dir.
func mirrorOf(t *testing.T, entries [][]byte, dir string, wrap func(verify.TileSource) verify.TileSource) (verify.MirrorStats, proofs.SignedCheckpoint, verify.TileSource, error) {
	t.Helper()
	src, cp := memoryLog(t, entries)
	scp := proofs.SignedCheckpoint{Checkpoint: cp, Note: []byte("checkpoint of size " + strings.Repeat("x", len(entries)%7) + "\n")}
	served := src
	if wrap != nil {
		served = wrap(src)
	}
	stats, err := verify.Mirror(context.Background(), served, scp, dir, nil)
	return stats, scp, src, err
}

// TestMirrorHoldsTheLogsTiles mirrors logs of several sizes and compares
// every file with what the log serves; a second run over a grown log
// keeps the full tiles it has.
func TestMirrorHoldsTheLogsTiles(t *testing.T) {
	all := testEntries(70000)
	dir := t.TempDir()
	for _, size := range []int{0, 1, 300, 65536, 70000} {
		stats, cp, src, err := mirrorOf(t, all[:size], dir, nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if got := stats.Fetched + stats.Kept; got != verify.MirrorTiles(uint64(size)) && size > 0 {
			t.Errorf("size %d: %d tiles fetched and %d kept, want %d in all", size, stats.Fetched, stats.Kept, verify.MirrorTiles(uint64(size)))
		}
		if size == 70000 && stats.Kept == 0 {
			t.Errorf("size %d: no full tile kept from the last run", size)
		}
		compareMirror(t, dir, src, uint64(size))
		note, err := os.ReadFile(filepath.Join(dir, verify.MirrorCheckpointFile))
		if err != nil || !bytes.Equal(note, cp.Note) {
			t.Fatalf("size %d: checkpoint file %q, %v", size, note, err)
		}
		if size > 0 {
			p, err := verify.MirrorConsistency(dir, proofs.SignedCheckpoint{Checkpoint: proofs.Checkpoint{Size: 1}}, cp)
			if err != nil {
				t.Fatalf("size %d: consistency from the mirror: %v", size, err)
			}
			if err := proofs.CheckConsistency(p, 1, cp.Size, proofs.LeafHash(all[0]), cp.Root); err != nil {
				t.Fatalf("size %d: the mirror's consistency proof: %v", size, err)
			}
		}
	}
}

// compareMirror checks every tile of the mirror against the source.
func compareMirror(t *testing.T, dir string, src verify.TileSource, size uint64) {
	t.Helper()
	check := func(tile proofs.Tile) {
		want, err := src.Tile(context.Background(), tile)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tile.Path())))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: %s differs from the log's (%v)", size, tile.Path(), err)
		}
	}
	for level := uint8(0); size>>(8*uint(level)) > 0; level++ {
		nodes := size >> (8 * uint(level))
		for i := uint64(0); i*proofs.TileWidth < nodes; i++ {
			check(proofs.Tile{Level: level, Index: i, Width: uint16(min(nodes-i*proofs.TileWidth, proofs.TileWidth))})
		}
	}
	for i := uint64(0); i*proofs.TileWidth < size; i++ {
		check(proofs.Tile{Entries: true, Index: i, Width: uint16(min(size-i*proofs.TileWidth, proofs.TileWidth))})
	}
}

// TestMirrorWritesNothingUnproved serves a forged entry, then a forged
// hash tile: the mirror refuses, writes no checkpoint, and never writes
// the forged bytes.
func TestMirrorWritesNothingUnproved(t *testing.T) {
	entries := testEntries(600)
	for _, c := range []struct {
		name string
		wrap func(verify.TileSource) verify.TileSource
		file string // a file that must not hold forged bytes
	}{
		{"forged entry", func(s verify.TileSource) verify.TileSource { return tamper{src: s, entry: 300, all: entries} }, "tile/entries/001"},
		{"forged hash tile", func(s verify.TileSource) verify.TileSource {
			return verify.TileSourceFunc(func(ctx context.Context, tile proofs.Tile) ([]byte, error) {
				b, err := s.Tile(ctx, tile)
				if err == nil && !tile.Entries && tile.Level == 0 && tile.Index == 1 {
					b = bytes.Clone(b)
					b[5] ^= 1
				}
				return b, err
			})
		}, "tile/0/001"},
	} {
		dir := t.TempDir()
		_, _, src, err := mirrorOf(t, entries, dir, c.wrap)
		if err == nil {
			t.Fatalf("%s: mirrored", c.name)
		}
		if _, err := os.Stat(filepath.Join(dir, verify.MirrorCheckpointFile)); err == nil {
			t.Fatalf("%s: a checkpoint was written", c.name)
		}
		if got, err := os.ReadFile(filepath.Join(dir, c.file)); err == nil {
			tile, _ := proofs.ParseTilePath(c.file)
			want, _ := src.Tile(context.Background(), tile)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: forged bytes written to %s", c.name, c.file)
			}
		}
	}
}
