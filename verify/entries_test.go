package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/verify"
)

func testEntries(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "entry %d", i)
	}
	return out
}

// startRange is the range of the first n entries.
func startRange(t *testing.T, entries [][]byte, n int) *proofs.Range {
	t.Helper()
	r := proofs.NewRange()
	for _, e := range entries[:n] {
		if err := r.Append(proofs.LeafHash(e), nil); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// read runs a reader to its end and returns what it yielded.
func read(t *testing.T, rd *verify.EntryReader) (first uint64, got [][]byte) {
	t.Helper()
	first = ^uint64(0)
	for i, e := range rd.Entries(context.Background()) {
		if first == ^uint64(0) {
			first = i
		}
		if want := first + uint64(len(got)); i != want {
			t.Fatalf("entry index %d, want %d", i, want)
		}
		got = append(got, e)
	}
	return first, got
}

// TestEntryReaderReadsEveryEntry reads logs of many sizes, from many
// starting points, including logs of several runs whose middle runs are
// proved with hashes from the tiles.
func TestEntryReaderReadsEveryEntry(t *testing.T) {
	for _, size := range []int{0, 1, 2, 255, 256, 257, 1000, 16*256 - 1, 16 * 256, 16*256 + 1, 9000} {
		entries := testEntries(size)
		src, cp := memoryLog(t, entries)
		for _, start := range []int{0, 1, 255, 256, 300, size / 2, size - 1, size} {
			if start < 0 || start > size {
				continue
			}
			rd, err := verify.NewEntryReader(src, cp, startRange(t, entries, start))
			if err != nil {
				t.Fatal(err)
			}
			_, got := read(t, rd)
			if err := rd.Err(); err != nil {
				t.Fatalf("size %d from %d: %v", size, start, err)
			}
			if len(got) != size-start {
				t.Fatalf("size %d from %d: %d entries, want %d", size, start, len(got), size-start)
			}
			for i, e := range got {
				if !bytes.Equal(e, entries[start+i]) {
					t.Fatalf("size %d from %d: entry %d is %q", size, start, start+i, e)
				}
			}
			if r := rd.Range(); r.Size() != uint64(size) || r.Root() != cp.Root {
				t.Fatalf("size %d from %d: range of size %d does not reach the checkpoint", size, start, r.Size())
			}
		}
	}
}

// tamper serves src, but changes one entry of the entry bundles, or one
// byte of one hash tile.
type tamper struct {
	src   verify.TileSource
	entry int  // entry to change in bundles, or -1
	tile  bool // change the level-1 hash tiles instead
	all   [][]byte
}

func (t tamper) Tile(ctx context.Context, tile proofs.Tile) ([]byte, error) {
	if tile.Entries && t.entry >= 0 {
		start := int(tile.Index) * proofs.TileWidth
		if t.entry >= start && t.entry < start+int(tile.Width) {
			es := append([][]byte(nil), t.all[start:start+int(tile.Width)]...)
			es[t.entry-start] = []byte("forged entry")
			return proofs.MarshalEntryBundle(es)
		}
	}
	b, err := t.src.Tile(ctx, tile)
	if err == nil && t.tile && !tile.Entries && tile.Level == 1 {
		b = bytes.Clone(b)
		b[0] ^= 1
	}
	return b, err
}

// TestEntryReaderNeverYieldsAForgedRun changes one entry in the middle of
// a log of several runs: nothing of its run is handed out, the error names
// the entry, and the range covers only what was handed out before.
func TestEntryReaderNeverYieldsAForgedRun(t *testing.T) {
	const size, forged = 9000, 5000 // runs [0,4096), [4096,8192), [8192,9000)
	entries := testEntries(size)
	src, cp := memoryLog(t, entries)
	for _, forgedAt := range []int{forged, 10, 8999} {
		rd, err := verify.NewEntryReader(tamper{src: src, entry: forgedAt, all: entries}, cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, got := read(t, rd)
		runStart := forgedAt / 4096 * 4096
		if len(got) != runStart {
			t.Fatalf("forged entry %d: %d entries handed out, want the %d before its run", forgedAt, len(got), runStart)
		}
		var mm *verify.EntriesMismatchError
		if err := rd.Err(); !errors.As(err, &mm) || !errors.Is(err, verify.ErrEntriesMismatch) {
			t.Fatalf("forged entry %d: error %v, want an EntriesMismatchError", forgedAt, err)
		}
		if !mm.Known || mm.Entry != uint64(forgedAt) {
			t.Fatalf("forged entry %d: error names entry %d (known %v): %v", forgedAt, mm.Entry, mm.Known, mm)
		}
		if rd.Range().Size() != uint64(runStart) {
			t.Fatalf("forged entry %d: range at %d, want %d", forgedAt, rd.Range().Size(), runStart)
		}
	}
}

// TestEntryReaderRefusesForgedTiles: a middle run whose right-hand hashes
// come from a forged hash tile is refused, and so is nothing yielded from
// it.
func TestEntryReaderRefusesForgedTiles(t *testing.T) {
	const size = 70000 // more than 256*256 entries: level-1 tiles are read
	entries := testEntries(size)
	src, cp := memoryLog(t, entries)
	rd, err := verify.NewEntryReader(tamper{src: src, entry: -1, tile: true}, cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, got := read(t, rd)
	if rd.Err() == nil {
		t.Fatal("a forged hash tile went unnoticed")
	}
	if len(got) != 0 && len(got)%4096 != 0 {
		t.Fatalf("%d entries handed out: not whole runs", len(got))
	}
	if rd.Range().Size() != uint64(len(got)) {
		t.Fatalf("range at %d after %d entries", rd.Range().Size(), len(got))
	}
}

// TestEntryReaderStopsWhereTheCallerStops: a caller that breaks out of
// the loop has read only what it took.
func TestEntryReaderStopsWhereTheCallerStops(t *testing.T) {
	entries := testEntries(600)
	src, cp := memoryLog(t, entries)
	rd, err := verify.NewEntryReader(src, cp, startRange(t, entries, 100))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range rd.Entries(context.Background()) {
		if i == 150 {
			break
		}
		n++
	}
	if n != 50 || rd.Err() != nil {
		t.Fatalf("took %d entries, err %v", n, rd.Err())
	}
	r := rd.Range()
	if r.Size() != 150 || r.Root() != startRange(t, entries, 150).Root() {
		t.Fatalf("range at %d after stopping at entry 150", r.Size())
	}
	// Resuming from that range reads the rest.
	rd2, err := verify.NewEntryReader(src, cp, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, got := read(t, rd2); len(got) != 450 || rd2.Err() != nil {
		t.Fatalf("resumed: %d entries, err %v", len(got), rd2.Err())
	}
}

func TestNewEntryReaderRefusesARangeBeyondTheCheckpoint(t *testing.T) {
	entries := testEntries(10)
	src, cp := memoryLog(t, entries[:5])
	if _, err := verify.NewEntryReader(src, cp, startRange(t, entries, 10)); err == nil {
		t.Fatal("a range of 10 entries accepted against a checkpoint of 5")
	}
}
