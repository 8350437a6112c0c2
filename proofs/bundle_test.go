package proofs

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	formats "github.com/transparency-dev/formats/proof"
)

// testBundle returns a bundle proving entry index of a tree of size leaves,
// with the entry in the extra line. It replaces that leaf with entry when
// entry is not nil.
func testBundle(t testing.TB, size, index int, entry []byte) Bundle {
	t.Helper()
	tree := newRefTree(size)
	if entry != nil {
		tree.leaves[index] = entry
	}
	signer, _ := testKey(t, testOrigin, 1)
	p, err := ProveInclusion(uint64(index), uint64(size), tree)
	if err != nil {
		t.Fatal(err)
	}
	return Bundle{
		Index:      uint64(index),
		Proof:      p,
		Extra:      tree.leaves[index],
		Checkpoint: signedTestCheckpoint(t, tree, size, signer),
	}
}

func equalBundles(a, b Bundle) bool {
	return a.Index == b.Index && slices.Equal(a.Proof, b.Proof) &&
		bytes.Equal(a.Extra, b.Extra) && (a.Extra == nil) == (b.Extra == nil) &&
		bytes.Equal(a.Checkpoint, b.Checkpoint)
}

func TestBundleRoundTrip(t *testing.T) {
	for _, b := range []Bundle{
		testBundle(t, 13, 6, nil),
		testBundle(t, 1, 0, nil),      // no proof hashes
		testBundle(t, 3, 2, []byte{}), // empty extra line
		func() Bundle { b := testBundle(t, 5, 1, nil); b.Extra = nil; return b }(),
	} {
		data := b.Marshal()
		got, err := ParseBundle(data)
		if err != nil {
			t.Fatalf("ParseBundle: %v\n%s", err, data)
		}
		if !equalBundles(got, b) {
			t.Fatalf("round trip: got %+v, want %+v", got, b)
		}
	}
	// The layout is the one in the spec.
	b := testBundle(t, 4, 1, []byte("hi"))
	want := "c2sp.org/tlog-proof@v1\nextra aGk=\nindex 1\n" + b.Proof[0].String() + "\n" + b.Proof[1].String() + "\n\n" + string(b.Checkpoint)
	if got := string(b.Marshal()); got != want {
		t.Fatalf("Marshal() =\n%s\nwant\n%s", got, want)
	}
}

func TestBundleFormatsInterop(t *testing.T) {
	b := testBundle(t, 21, 17, []byte(`{"payloadType":"x","payload":"","signatures":[]}`))
	var theirs formats.TLogProof
	if err := theirs.Unmarshal(b.Marshal()); err != nil {
		t.Fatalf("formats/proof cannot read our bundle: %v", err)
	}
	if theirs.Index != b.Index || !bytes.Equal(theirs.ExtraData, b.Extra) || !bytes.Equal(theirs.Checkpoint, b.Checkpoint) {
		t.Fatalf("formats/proof read %+v, want %+v", theirs, b)
	}
	if len(theirs.Hashes) != len(b.Proof) {
		t.Fatalf("formats/proof read %d hashes, want %d", len(theirs.Hashes), len(b.Proof))
	}
	for i := range b.Proof {
		if Hash(theirs.Hashes[i]) != b.Proof[i] {
			t.Fatalf("formats/proof hash %d differs", i)
		}
	}
	ours, err := ParseBundle(theirs.Marshal())
	if err != nil {
		t.Fatalf("cannot read formats/proof's bundle: %v", err)
	}
	if !equalBundles(ours, b) {
		t.Fatalf("read %+v from formats/proof's bundle, want %+v", ours, b)
	}
	if !bytes.Equal(theirs.Marshal(), b.Marshal()) {
		t.Error("formats/proof and Marshal encode the same bundle differently")
	}
}

func TestBundleLargeEntry(t *testing.T) {
	entry := bytes.Repeat([]byte{0xa5}, MaxEntrySize)
	b := testBundle(t, 300, 299, entry)
	data := b.Marshal()
	if len(data) < 87000 {
		t.Fatalf("bundle is only %d bytes", len(data))
	}
	got, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle of a %d-byte bundle: %v", len(data), err)
	}
	if !bytes.Equal(got.Extra, entry) {
		t.Fatal("large extra did not round-trip")
	}
	_, verifier := testKey(t, testOrigin, 1)
	if _, err := VerifyBundle(got, testOrigin, verifier); err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
}

func TestParseBundleRefusals(t *testing.T) {
	b := testBundle(t, 13, 6, []byte("entry"))
	cp := string(b.Checkpoint)
	h := b.Proof[0].String()
	proof := ""
	for _, x := range b.Proof {
		proof += x.String() + "\n"
	}
	good := "c2sp.org/tlog-proof@v1\nextra ZW50cnk=\nindex 6\n" + proof + "\n" + cp
	if _, err := ParseBundle([]byte(good)); err != nil {
		t.Fatalf("baseline refused: %v", err)
	}
	bad := map[string]string{
		"empty":              "",
		"v2 header":          strings.Replace(good, "@v1", "@v2", 1),
		"header with space":  strings.Replace(good, "@v1\n", "@v1 \n", 1),
		"CRLF header":        strings.Replace(good, "@v1\n", "@v1\r\n", 1),
		"leading blank line": "\n" + good,
		"leading zero index": strings.Replace(good, "index 6\n", "index 06\n", 1),
		"signed index":       strings.Replace(good, "index 6\n", "index +6\n", 1),
		"index two spaces":   strings.Replace(good, "index 6\n", "index  6\n", 1),
		"index overflow":     strings.Replace(good, "index 6\n", "index 18446744073709551616\n", 1),
		"no index":           strings.Replace(good, "index 6\n", "", 1),
		"index before extra": strings.Replace(good, "extra ZW50cnk=\nindex 6\n", "index 6\nextra ZW50cnk=\n", 1),
		"two extra lines":    strings.Replace(good, "extra ZW50cnk=\n", "extra ZW50cnk=\nextra ZW50cnk=\n", 1),
		"bad extra base64":   strings.Replace(good, "extra ZW50cnk=\n", "extra ZW50cnk\n", 1),
		"extra stray bits":   strings.Replace(good, "extra ZW50cnk=\n", "extra ZW50cnl=\n", 1),
		"extra no space":     strings.Replace(good, "extra ZW50cnk=\n", "extraZW50cnk=\n", 1),
		"31-byte hash":       strings.Replace(good, h, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", 1),
		"unpadded hash":      strings.Replace(good, h, h[:43], 1),
		"hash with space":    strings.Replace(good, h, h+" ", 1),
		"65 hashes":          strings.Replace(good, proof, strings.Repeat(h+"\n", 65), 1),
		"missing blank line": strings.Replace(good, proof+"\n", proof, 1),
		"two blank lines":    strings.Replace(good, proof+"\n", proof+"\n\n", 1),
		"no checkpoint":      strings.TrimSuffix(good, cp),
		"truncated note":     good[:len(good)-1],
		"trailing garbage":   good + "garbage",
		"trailing line":      good + "garbage\n",
		"trailing newline":   good + "\n",
		"unsigned body":      strings.TrimSuffix(good, cp) + string(Checkpoint{Origin: "o", Size: 13}.Body()),
		"malformed body":     strings.Replace(good, "\n13\n", "\n013\n", 1),
		"oversize":           good + strings.Repeat("x", MaxBundleSize),
	}
	for name, s := range bad {
		if got, err := ParseBundle([]byte(s)); err == nil {
			t.Errorf("%s: ParseBundle accepted it as %+v", name, got)
		}
	}
	// 64 hashes is the limit, and is accepted structurally.
	at64 := strings.Replace(good, proof, strings.Repeat(h+"\n", 64), 1)
	if got, err := ParseBundle([]byte(at64)); err != nil || len(got.Proof) != 64 {
		t.Errorf("64 hashes: %d, %v", len(got.Proof), err)
	}
}

func TestVerifyBundle(t *testing.T) {
	b := testBundle(t, 13, 6, []byte("the entry"))
	_, verifier := testKey(t, testOrigin, 1)
	cp, err := VerifyBundle(b, testOrigin, verifier)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	if cp.Size != 13 || !bytes.Equal(cp.Note, b.Checkpoint) {
		t.Errorf("VerifyBundle returned %+v", cp)
	}

	var ie *InclusionError
	for i := range b.Extra {
		mod := b
		mod.Extra = bytes.Clone(b.Extra)
		mod.Extra[i] ^= 1
		if _, err := VerifyBundle(mod, testOrigin, verifier); !errors.As(err, &ie) || !errors.Is(err, ErrProofFailed) {
			t.Fatalf("modified extra byte %d: %v, want *InclusionError", i, err)
		}
	}
	for i := range b.Proof {
		mod := b
		mod.Proof = slices.Clone(b.Proof)
		mod.Proof[i][i] ^= 0x10
		if _, err := VerifyBundle(mod, testOrigin, verifier); !errors.As(err, &ie) {
			t.Fatalf("modified proof hash %d: %v, want *InclusionError", i, err)
		}
	}
	mod := b
	mod.Index = 7
	if _, err := VerifyBundle(mod, testOrigin, verifier); !errors.As(err, &ie) {
		t.Errorf("wrong index: %v", err)
	}
	// No extra line, even where the leaf is the empty entry, whose hash is
	// that of nil.
	empty := testBundle(t, 3, 2, []byte{})
	if _, err := VerifyBundle(empty, testOrigin, verifier); err != nil {
		t.Fatalf("empty entry: %v", err)
	}
	empty.Extra = nil
	if _, err := VerifyBundle(empty, testOrigin, verifier); err == nil {
		t.Error("accepted a bundle without extra")
	}
	_, wrongKey := testKey(t, testOrigin, 9)
	if _, err := VerifyBundle(b, testOrigin, wrongKey); err == nil || errors.As(err, &ie) {
		t.Errorf("wrong checkpoint key: %v", err)
	}
	otherSigner, otherVerifier := testKey(t, "other.example/log", 1)
	mod = b
	mod.Checkpoint = signedTestCheckpoint(t, newRefTree(13), 13, otherSigner)
	if _, err := VerifyBundle(mod, testOrigin, verifier); err == nil {
		t.Error("accepted a checkpoint of another log")
	}
	if _, err := VerifyBundle(mod, "other.example/log", otherVerifier); err == nil {
		t.Error("accepted a proof against another log's checkpoint")
	}
}
