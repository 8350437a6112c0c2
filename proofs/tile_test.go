package proofs

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
)

func TestTilePathExamples(t *testing.T) {
	for _, c := range []struct {
		tile Tile
		path string
	}{
		{Tile{Level: 0, Index: 1234067, Width: 256}, "tile/0/x001/x234/067"},
		{Tile{Level: 2, Index: 5, Width: 7}, "tile/2/005.p/7"},
		{Tile{Index: 0, Width: 3, Entries: true}, "tile/entries/000.p/3"},
		{Tile{Index: 999, Width: 256, Entries: true}, "tile/entries/999"},
		{Tile{Index: 1000, Width: 255}, "tile/0/x001/000.p/255"},
		{Tile{Level: 63, Index: 1<<64 - 1, Width: 256}, "tile/63/x018/x446/x744/x073/x709/x551/615"},
		{Tile{Index: 1<<64 - 1, Width: 255, Entries: true}, "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255"},
	} {
		if got := c.tile.Path(); got != c.path {
			t.Errorf("%+v.Path() = %q, want %q", c.tile, got, c.path)
		}
		got, err := ParseTilePath(c.path)
		if err != nil || got != c.tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v; want %+v", c.path, got, err, c.tile)
		}
	}
	// Width 0 is written as a full tile.
	if got := (Tile{Index: 5}).Path(); got != "tile/0/005" {
		t.Errorf("width 0: %q", got)
	}
	if len("tile/entries/x018/x446/x744/x073/x709/x551/615.p/255") > maxTilePathLen {
		t.Error("maxTilePathLen is below the longest valid path")
	}
}

// TestTilePathTessera compares Path with tessera's layout package, and
// ParseTilePath with the indexes it encodes, over many tiles.
func TestTilePathTessera(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	indexes := []uint64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 999999, 1000000, 1234067, 1<<32 - 1, 1 << 32, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for i := 0; i < 2000; i++ {
		indexes = append(indexes, rng.Uint64()>>rng.IntN(64))
	}
	for _, index := range indexes {
		for _, w := range []uint16{1, 2, 100, 255, 256} {
			p := uint8(w % 256) // tessera: 0 means full
			level := uint8(index % 64)
			tile := Tile{Level: level, Index: index, Width: w}
			if got, want := tile.Path(), layout.TilePath(uint64(level), index, p); got != want {
				t.Fatalf("%+v.Path() = %q, tessera says %q", tile, got, want)
			}
			entries := Tile{Index: index, Width: w, Entries: true}
			if got, want := entries.Path(), layout.EntriesPath(index, p); got != want {
				t.Fatalf("%+v.Path() = %q, tessera says %q", entries, got, want)
			}
			for _, tl := range []Tile{tile, entries} {
				back, err := ParseTilePath(tl.Path())
				if err != nil || back != tl {
					t.Fatalf("ParseTilePath(%q) = %+v, %v; want %+v", tl.Path(), back, err, tl)
				}
			}
			// tessera's parser reads our paths the same way.
			l, n, pw, err := layout.ParseTileLevelIndexPartial(
				strings.SplitN(tile.Path(), "/", 3)[1], strings.SplitN(tile.Path(), "/", 3)[2])
			if err != nil || l != uint64(level) || n != index || pw != p {
				t.Fatalf("tessera parsed %q as %d/%d/%d, %v", tile.Path(), l, n, pw, err)
			}
		}
	}
}

func TestParseTilePathRefusals(t *testing.T) {
	for _, p := range []string{
		"",
		"tile",
		"tile/",
		"tile/0",
		"tile/0/",
		"/tile/0/000",           // leading slash
		"tile/0/000/",           // trailing slash
		"tile/01/000",           // leading zero in level
		"tile/+1/000",           // sign
		"tile/64/000",           // level too high
		"tile/256/000",          // level beyond uint8
		"tile/-1/000",           // negative level
		"tile/x/000",            // not a level
		"tile/0/1",              // short group
		"tile/0/01",             // short group
		"tile/0/0001",           // long group
		"tile/0/x1/000",         // short x group
		"tile/0/x000/000",       // leading zero group
		"tile/0/x000/x001/000",  // leading zero group
		"tile/0/001/000",        // missing x
		"tile/0/x001",           // x on the last group
		"tile/0/xx01/000",       // double x
		"tile/0/x001/x234/067/", // trailing slash
		"tile/0/x018/x446/x744/x073/x709/x551/616",      // 2^64
		"tile/0/x999/x999/x999/x999/x999/x999/999",      // overflow
		"tile/0/x001/x018/x446/x744/x073/x709/x551/615", // eight groups
		"tile/0/000.p/0",
		"tile/0/000.p/256",
		"tile/0/000.p/07",
		"tile/0/000.p/+7",
		"tile/0/000.p/",
		"tile/0/000.p",
		"tile/0/000.p/7/",
		"tile/0/000.p/7.p/7",
		"tile/0/000.P/7",
		"tile/0/000/p/7",
		"tile/entries/x000",
		"tile/entries/x000/000",
		"tile/entries/1",
		"tile/entries/000.p/0",
		"tile/entries/000.p/256",
		"tile/entries",
		"tile/entries/",
		"tile/Entries/000",
		"tile/0/a00",
		"tile/0/0 0",
		"tile/0/000\n",
		"checkpoint",
		"tile/0/" + strings.Repeat("x001/", 20) + "000",
	} {
		if got, err := ParseTilePath(p); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want error", p, got)
		}
	}
}

func TestEntryBundle(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{7}, MaxEntrySize), []byte("last")}
	b, err := MarshalEntryBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0, 1, 'a', 0, 0, 0xff, 0xff, 7}) {
		t.Fatalf("unexpected encoding % x...", b[:8])
	}
	got, err := ParseEntryBundle(b, len(entries))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("got %d entries", len(got))
	}
	for i := range entries {
		if !bytes.Equal(got[i], entries[i]) {
			t.Fatalf("entry %d differs", i)
		}
	}
	// Appending to one entry does not overwrite the next.
	_ = append(got[0], 'X')
	if b[3] != 0 {
		t.Error("appending to an entry overwrote the bundle")
	}
	// tessera reads the same entries.
	var eb api.EntryBundle
	if err := eb.UnmarshalText(b); err != nil || len(eb.Entries) != len(entries) {
		t.Fatalf("tessera: %d entries, %v", len(eb.Entries), err)
	}
	for i := range entries {
		if !bytes.Equal(eb.Entries[i], entries[i]) {
			t.Fatalf("tessera entry %d differs", i)
		}
	}

	full := make([][]byte, TileWidth)
	for i := range full {
		full[i] = []byte{byte(i)}
	}
	if b, err := MarshalEntryBundle(full); err != nil {
		t.Errorf("full bundle: %v", err)
	} else if got, err := ParseEntryBundle(b, TileWidth); err != nil || len(got) != TileWidth {
		t.Errorf("full bundle: %d, %v", len(got), err)
	}

	if _, err := MarshalEntryBundle(append(full, []byte{1})); err == nil {
		t.Error("marshalled 257 entries")
	}
	if _, err := MarshalEntryBundle(nil); err == nil {
		t.Error("marshalled no entries")
	}
	if _, err := MarshalEntryBundle([][]byte{make([]byte, MaxEntrySize+1)}); err == nil {
		t.Error("marshalled a 65,536-byte entry")
	}
}

func TestParseEntryBundleRefusals(t *testing.T) {
	b, err := MarshalEntryBundle([][]byte{[]byte("one"), []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		b    []byte
		want int
	}{
		"too few":        {b, 3},
		"too many":       {b, 1},
		"trailing byte":  {append(bytes.Clone(b), 0), 2},
		"trailing entry": {append(bytes.Clone(b), 0, 0), 2},
		"truncated":      {b[:len(b)-1], 2},
		"half a length":  {b[:6], 2},
		"empty":          {nil, 1},
		"want 0":         {nil, 0},
		"want 257":       {b, 257},
		"want negative":  {b, -1},
		"long length":    {[]byte{0xff, 0xff, 1, 2, 3}, 1},
	} {
		if got, err := ParseEntryBundle(c.b, c.want); err == nil {
			t.Errorf("%s: accepted as %q", name, got)
		}
	}
}
