package ledger

import (
	"encoding/binary"
	"fmt"

	"github.com/agentledger/agentledger/proofs"
)

// tileHeight is the number of tree levels one hash tile spans (C2SP
// tlog-tiles fixes it at 8, so a full tile holds 256 hashes).
const tileHeight = 8

// storedTile is the ledger's own form of a hash tile: the 256 (or fewer)
// hashes that C2SP tlog-tiles serves at tree level 8*L, followed by every
// complete node above them inside the tile (levels 8L+1 .. 8L+7). Keeping the
// inner levels makes any node hash of the tree a single tile read, so proofs
// need no rehashing.
//
// Encoding: a 2-byte big-endian width w (1..256), then for each inner level
// j = 0..7 the floor(w / 2^j) hashes of that level, in index order. The
// first w*32 bytes after the width are therefore the tlog-tiles tile.
type storedTile struct {
	levels [tileHeight][]proofs.Hash
}

// width is the number of base hashes in the tile.
func (t *storedTile) width() int { return len(t.levels[0]) }

// tileAddress locates tree node (level, index) inside the hash tiles: tile
// level, tile index, inner level and position within that inner level.
func tileAddress(level uint, index uint64) (tileLevel uint8, tileIndex uint64, inner uint, pos int) {
	tileLevel = uint8(level / tileHeight)
	inner = level % tileHeight
	perTile := uint64(proofs.TileWidth >> inner)
	return tileLevel, index / perTile, inner, int(index % perTile)
}

// add records the hash of node (inner, pos). Nodes of one inner level must
// arrive in order, which compact-range integration guarantees.
func (t *storedTile) add(inner uint, pos int, h proofs.Hash) error {
	if pos != len(t.levels[inner]) {
		return fmt.Errorf("tile integration out of order: inner level %d position %d after %d hashes", inner, pos, len(t.levels[inner]))
	}
	t.levels[inner] = append(t.levels[inner], h)
	return nil
}

func (t *storedTile) marshal() []byte {
	n := 0
	for _, l := range t.levels {
		n += len(l)
	}
	out := make([]byte, 2, 2+n*proofs.HashSize)
	binary.BigEndian.PutUint16(out, uint16(t.width()))
	for _, l := range t.levels {
		for _, h := range l {
			out = append(out, h[:]...)
		}
	}
	return out
}

// tileView reads hashes out of an encoded storedTile without copying it.
type tileView []byte

func (v tileView) width() int {
	if len(v) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(v))
}

// check validates the encoding's length against its width.
func (v tileView) check() error {
	w := v.width()
	if w < 1 || w > proofs.TileWidth {
		return fmt.Errorf("stored tile has width %d", w)
	}
	n := 0
	for j := 0; j < tileHeight; j++ {
		n += w >> j
	}
	if len(v) != 2+n*proofs.HashSize {
		return fmt.Errorf("stored tile of width %d has %d bytes, want %d", w, len(v), 2+n*proofs.HashSize)
	}
	return nil
}

// base returns the first w base hashes: the C2SP tlog-tiles tile of width w.
func (v tileView) base(w int) []byte {
	return v[2 : 2+w*proofs.HashSize]
}

// hash returns node (inner, pos) of the tile, or false if the tile does not
// hold it (yet).
func (v tileView) hash(inner uint, pos int) (proofs.Hash, bool) {
	w := v.width()
	off := 2
	for j := uint(0); j < inner; j++ {
		off += (w >> j) * proofs.HashSize
	}
	if pos < 0 || pos >= w>>inner {
		return proofs.Hash{}, false
	}
	off += pos * proofs.HashSize
	return proofs.Hash(v[off : off+proofs.HashSize]), true
}

// unmarshal decodes the view into a mutable storedTile.
func (v tileView) unmarshal() (*storedTile, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	w := v.width()
	t := &storedTile{}
	off := 2
	for j := 0; j < tileHeight; j++ {
		n := w >> j
		t.levels[j] = make([]proofs.Hash, n, proofs.TileWidth>>j)
		for i := 0; i < n; i++ {
			t.levels[j][i] = proofs.Hash(v[off : off+proofs.HashSize])
			off += proofs.HashSize
		}
	}
	return t, nil
}
