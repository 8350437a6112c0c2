package proofs

import (
	"bytes"
	"slices"
	"testing"
)

// The fuzz targets check that the parsers never panic and that whatever they
// accept is canonical: encoding the result again gives back the input.

func FuzzParseCheckpointBody(f *testing.F) {
	root := EmptyRoot().String()
	f.Add([]byte("example.com/log\n0\n" + root + "\n"))
	f.Add([]byte("example.com/log\n18446744073709551615\n" + root + "\n"))
	f.Add([]byte("example.com/log\n7\n" + root + "\next\n"))
	f.Add([]byte("example.com/log\n007\n" + root + "\n"))
	f.Add([]byte("o\n1\n" + root))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCheckpointBody(body)
		if err != nil {
			return
		}
		again, err := ParseCheckpointBody(c.Body())
		if err != nil || again != c {
			t.Fatalf("Body() of %+v does not parse back: %+v, %v", c, again, err)
		}
		if !bytes.HasPrefix(body, c.Body()) {
			t.Fatalf("accepted %q, which does not start with its canonical body %q", body, c.Body())
		}
	})
}

func FuzzOpenCheckpoint(f *testing.F) {
	signer, verifier := testKey(f, testOrigin, 1)
	tree := newRefTree(10)
	for _, size := range []int{0, 1, 10} {
		f.Add(signedTestCheckpoint(f, tree, size, signer))
	}
	f.Add([]byte(testOrigin + "\n1\n" + EmptyRoot().String() + "\n\n— " + testOrigin + " AAAA\n"))
	f.Fuzz(func(t *testing.T, signed []byte) {
		sc, err := OpenCheckpoint(signed, testOrigin, verifier)
		if err != nil {
			return
		}
		if !bytes.Equal(sc.Note, signed) || sc.Origin != testOrigin {
			t.Fatalf("opened %q as %+v", signed, sc)
		}
		body, err := noteBody(signed)
		if err != nil {
			t.Fatalf("opened a note noteBody refuses: %v", err)
		}
		if c, err := ParseCheckpointBody(body); err != nil || c != sc.Checkpoint {
			t.Fatalf("body parses as %+v, %v; opened as %+v", c, err, sc.Checkpoint)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add(testBundle(f, 13, 6, []byte("entry")).Marshal())
	f.Add(testBundle(f, 1, 0, nil).Marshal())
	f.Add(testBundle(f, 2, 1, []byte{}).Marshal())
	nox := testBundle(f, 5, 4, nil)
	nox.Extra = nil
	f.Add(nox.Marshal())
	f.Add([]byte("c2sp.org/tlog-proof@v1\nindex 0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if len(b.Proof) > 64 || len(b.Checkpoint) > MaxCheckpointSize {
			t.Fatalf("accepted an oversize bundle: %d hashes, %d-byte checkpoint", len(b.Proof), len(b.Checkpoint))
		}
		if got := b.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("accepted %q, which re-encodes as %q", data, got)
		}
	})
}

func FuzzParseTilePath(f *testing.F) {
	for _, p := range []string{
		"tile/0/000", "tile/0/x001/x234/067", "tile/2/005.p/7", "tile/63/x018/x446/x744/x073/x709/x551/615",
		"tile/entries/000.p/3", "tile/entries/x001/000", "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255",
		"tile/01/000", "tile/0/x000/001", "tile/0/000.p/256",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tile, err := ParseTilePath(p)
		if err != nil {
			return
		}
		if got := tile.Path(); got != p {
			t.Fatalf("ParseTilePath(%q) = %+v, whose Path() is %q", p, tile, got)
		}
		if tile.Width < 1 || tile.Width > TileWidth || tile.Level > 63 || tile.Entries && tile.Level != 0 {
			t.Fatalf("ParseTilePath(%q) = invalid %+v", p, tile)
		}
	})
}

func FuzzParseEntryBundle(f *testing.F) {
	b, err := MarshalEntryBundle([][]byte{[]byte("one"), {}, []byte("three")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, 3)
	f.Add(b, 2)
	f.Add([]byte{0, 0}, 1)
	f.Add([]byte{0xff, 0xff, 1}, 1)
	f.Fuzz(func(t *testing.T, b []byte, want int) {
		entries, err := ParseEntryBundle(b, want)
		if err != nil {
			return
		}
		if len(entries) != want {
			t.Fatalf("got %d entries, want %d", len(entries), want)
		}
		again, err := MarshalEntryBundle(entries)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("entries re-encode as %x, %v; input %x", again, err, b)
		}
	})
}

func FuzzParseInconsistencyEvidence(f *testing.F) {
	ie := testInconsistency(f)
	f.Add(ie.MarshalEvidence())
	same := &InconsistencyError{Old: ie.New, New: ie.New}
	f.Add(same.MarshalEvidence())
	f.Add([]byte("agentledger/consistency-evidence@v1\nold 0\nnew 0\n\nold-note 0\nnew-note 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		old, new, p, err := ParseInconsistencyEvidence(b)
		if err != nil {
			return
		}
		var cps [2]SignedCheckpoint
		for i, n := range [][]byte{old, new} {
			body, err := noteBody(n)
			if err != nil {
				t.Fatalf("accepted a malformed note: %v", err)
			}
			c, err := ParseCheckpointBody(body)
			if err != nil {
				t.Fatalf("accepted a malformed checkpoint: %v", err)
			}
			cps[i] = SignedCheckpoint{Checkpoint: c, Note: n}
		}
		again := (&InconsistencyError{Old: cps[0], New: cps[1], Proof: slices.Clone(p)}).MarshalEvidence()
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted %q, which re-encodes as %q", b, again)
		}
	})
}
