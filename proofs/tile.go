package proofs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// TileWidth is the number of hashes in a full tile, and of entries in a full
// entry bundle (C2SP tlog-tiles).
const TileWidth = 256

// MaxEntrySize is the largest log entry an entry bundle can hold: its length
// prefix is a big-endian uint16.
const MaxEntrySize = 1<<16 - 1

// maxTileLevel is the highest tile level tlog-tiles allows.
const maxTileLevel = 63

// maxTilePathLen bounds the tile paths ParseTilePath reads. The longest valid
// path, "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255", is 52 bytes.
const maxTilePathLen = 64

// A Tile names a resource of the C2SP tlog-tiles API: a hash tile at Level
// (Entries false), or an entry bundle (Entries true, Level unused and 0).
// Index is the tile's index within its level. Width is the number of hashes
// or entries, 1 to [TileWidth]; TileWidth means a full tile.
type Tile struct {
	Level   uint8
	Index   uint64
	Width   uint16
	Entries bool
}

// Path returns the tile's path relative to the log's prefix, with no leading
// slash: "tile/0/x001/x234/067", "tile/2/005.p/7", "tile/entries/000.p/3".
// A Width of 0 or of at least TileWidth is written as a full tile; Path does
// not otherwise validate t.
func (t Tile) Path() string {
	b := make([]byte, 0, maxTilePathLen)
	b = append(b, "tile/"...)
	if t.Entries {
		b = append(b, "entries"...)
	} else {
		b = strconv.AppendUint(b, uint64(t.Level), 10)
	}
	b = append(b, '/')
	b = appendTileIndex(b, t.Index)
	if t.Width > 0 && t.Width < TileWidth {
		b = append(b, ".p/"...)
		b = strconv.AppendUint(b, uint64(t.Width), 10)
	}
	return string(b)
}

// appendTileIndex appends n as 3-digit groups, most significant first, with
// an "x" before every group but the last: 1234067 is "x001/x234/067".
func appendTileIndex(b []byte, n uint64) []byte {
	var groups [7]uint16 // 2^64 has 20 digits: 7 groups.
	k := 0
	for {
		groups[k] = uint16(n % 1000)
		k++
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := k - 1; i >= 0; i-- {
		if i > 0 {
			b = append(b, 'x')
		}
		g := groups[i]
		b = append(b, byte('0'+g/100), byte('0'+g/10%10), byte('0'+g%10))
		if i > 0 {
			b = append(b, '/')
		}
	}
	return b
}

// ParseTilePath parses a tile path as written by [Tile.Path], strictly, so
// that Path of the result is the input:
//
//   - "tile/<L>/<N>[.p/<W>]" for a hash tile, with L in 0..63 in decimal
//     with no leading zeros; or "tile/entries/<N>[.p/<W>]" for an entry
//     bundle;
//   - N in groups of exactly three digits, "x" before all but the last group,
//     no all-zero leading group, and no overflow of uint64;
//   - W in 1..255 in decimal with no leading zeros; without ".p/<W>" the
//     tile is full (Width TileWidth).
//
// There is no leading slash. Paths longer than any valid path are refused.
func ParseTilePath(p string) (Tile, error) {
	if len(p) > maxTilePathLen {
		return Tile{}, fmt.Errorf("malformed tile path: %d bytes, limit %d", len(p), maxTilePathLen)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Tile{}, fmt.Errorf("malformed tile path %q: no tile/ prefix", p)
	}
	var t Tile
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Tile{}, fmt.Errorf("malformed tile path %q: no index", p)
	}
	if level == "entries" {
		t.Entries = true
	} else {
		l, err := parseDecimal(level)
		if err != nil || l > maxTileLevel {
			return Tile{}, fmt.Errorf("malformed tile path %q: level must be 0 to %d", p, maxTileLevel)
		}
		t.Level = uint8(l)
	}
	index, width, partial := strings.Cut(rest, ".p/")
	t.Width = TileWidth
	if partial {
		w, err := parseDecimal(width)
		if err != nil || w < 1 || w >= TileWidth {
			return Tile{}, fmt.Errorf("malformed tile path %q: partial width must be 1 to %d", p, TileWidth-1)
		}
		t.Width = uint16(w)
	}
	n, err := parseTileIndex(index)
	if err != nil {
		return Tile{}, fmt.Errorf("malformed tile path %q: %w", p, err)
	}
	t.Index = n
	return t, nil
}

// parseTileIndex parses the <N> part of a tile path.
func parseTileIndex(s string) (uint64, error) {
	groups := strings.Split(s, "/")
	if len(groups) > 7 {
		return 0, errors.New("index has too many groups")
	}
	var n uint64
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			var ok bool
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return 0, errors.New("index group without x prefix")
			}
		}
		if len(g) != 3 || !isDigits(g) {
			return 0, errors.New("index group is not three digits")
		}
		v := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if i == 0 && !last && v == 0 {
			return 0, errors.New("index has a leading zero group")
		}
		hi, lo := bits.Mul64(n, 1000)
		lo, carry := bits.Add64(lo, v, 0)
		if hi != 0 || carry != 0 {
			return 0, errors.New("index overflows")
		}
		n = lo
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MarshalEntryBundle encodes 1 to [TileWidth] entries as a tlog-tiles entry
// bundle: each entry is its length as a big-endian uint16, then its bytes.
// An entry longer than [MaxEntrySize] is an error.
func MarshalEntryBundle(entries [][]byte) ([]byte, error) {
	if len(entries) == 0 || len(entries) > TileWidth {
		return nil, fmt.Errorf("entry bundle: %d entries, want 1 to %d", len(entries), TileWidth)
	}
	size := 0
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return nil, fmt.Errorf("entry bundle: entry %d is %d bytes, limit %d", i, len(e), MaxEntrySize)
		}
		size += 2 + len(e)
	}
	b := make([]byte, 0, size)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	return b, nil
}

// ParseEntryBundle decodes an entry bundle that must hold exactly wantCount
// entries (1 to [TileWidth]) and nothing after them. The returned entries
// alias b; they are capped so appending to one does not overwrite the next.
func ParseEntryBundle(b []byte, wantCount int) ([][]byte, error) {
	if wantCount < 1 || wantCount > TileWidth {
		return nil, fmt.Errorf("entry bundle: want count %d, must be 1 to %d", wantCount, TileWidth)
	}
	entries := make([][]byte, 0, wantCount)
	for len(entries) < wantCount {
		if len(b) < 2 {
			return nil, fmt.Errorf("entry bundle: truncated at entry %d of %d", len(entries), wantCount)
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if len(b) < n {
			return nil, fmt.Errorf("entry bundle: entry %d needs %d bytes, %d left", len(entries), n, len(b))
		}
		entries = append(entries, b[:n:n])
		b = b[n:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("entry bundle: %d trailing bytes after %d entries", len(b), wantCount)
	}
	return entries, nil
}
