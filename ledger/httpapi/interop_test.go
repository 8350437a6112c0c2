package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	tclient "github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/proofs"
)

const testOrigin = "interop.agentledger.example/log"

type testServer struct {
	url      string
	log      *ledger.Log
	auth     ed25519.PrivateKey
	verifier note.Verifier
	vkey     string
}

// openTestLog creates and opens a real log under a fresh log key in a
// temporary directory, closed when the test ends, with the given
// checkpoint interval and indexer (which may be nil). It returns the
// log's note verifier key too.
func openTestLog(t testing.TB, interval time.Duration, indexer ledger.Indexer) (*ledger.Log, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	dir := filepath.Join(t.TempDir(), "db")
	if err := ledger.Create(dir, testOrigin); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer, CheckpointInterval: interval, Indexer: indexer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, verifier, vkey
}

// newTestServer runs a real ledger, admitting writes through the
// registry, behind a real HTTP server on loopback. auth is its authority's
// key.
func newTestServer(t testing.TB) *testServer {
	t.Helper()
	l, verifier, vkey := openTestLog(t, 20*time.Millisecond, registry.Indexer{})
	authority := fixture.NewIdentity("authority")
	srv := httptest.NewServer(New(l, registry.New(l, authority.Key.Public().(ed25519.PublicKey)), zerolog.Nop(), nil))
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, log: l, auth: authority.Key, verifier: verifier, vkey: vkey}
}

func (s *testServer) post(t testing.TB, body []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(s.url+"/v1/entries", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *testServer) appendN(t testing.TB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		env, err := fixture.Registration(s.auth, fixture.NewIdentity(fmt.Sprintf("agent-%d", i)), "low", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := s.post(t, env); resp.StatusCode != http.StatusCreated {
			t.Fatalf("append %d: %d %s", i, resp.StatusCode, body)
		}
	}
}

func (s *testServer) waitCheckpoint(t testing.TB, size uint64) proofs.SignedCheckpoint {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cp, err := proofs.OpenCheckpoint(b, testOrigin, s.verifier)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size >= size {
			return cp
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of size %d", size)
	return proofs.SignedCheckpoint{}
}

// httpTileReader lets golang.org/x/mod/sumdb/tlog read our C2SP tiles.
type httpTileReader struct {
	t    testing.TB
	base string
}

func (r httpTileReader) Height() int { return 8 }

func (r httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		p := proofs.Tile{Level: uint8(tile.L), Index: uint64(tile.N), Width: uint16(tile.W)}.Path()
		resp, err := http.Get(r.base + "/" + p)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		out[i] = b
	}
	return out, nil
}

func (r httpTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// TestSumDBTlogVerifiesTiles has an independent implementation,
// golang.org/x/mod/sumdb/tlog, read the hash tiles over HTTP and check every
// entry, the root, and consistency from earlier sizes.
func TestSumDBTlogVerifiesTiles(t *testing.T) {
	s := newTestServer(t)
	var cps []proofs.SignedCheckpoint
	total := 0
	for _, n := range []int{1, 6, 250, 300} { // crosses the first full tile
		s.appendN(t, total, n)
		total += n
		cps = append(cps, s.waitCheckpoint(t, uint64(total)))
	}
	last := cps[len(cps)-1]
	size := int64(last.Size)
	hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: tlog.Hash(last.Root)}, httpTileReader{t: t, base: s.url})
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		t.Fatal(err)
	}
	if proofs.Hash(root) != last.Root {
		t.Fatalf("tlog root %x, checkpoint root %x", root, last.Root)
	}
	// Entry bundles, read with the independent parser, give each record.
	var records [][]byte
	for b := int64(0); b*256 < size; b++ {
		w := min(size-b*256, 256)
		path := proofs.Tile{Entries: true, Index: uint64(b), Width: uint16(w)}.Path()
		bundle := fetch(t, s.url+"/"+path)
		records = append(records, splitBundle(t, bundle)...)
	}
	if int64(len(records)) != size {
		t.Fatalf("bundles hold %d records, tree has %d", len(records), size)
	}
	for i := int64(0); i < size; i++ {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			t.Fatalf("ProveRecord(%d): %v", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash(records[i])); err != nil {
			t.Fatalf("CheckRecord(%d): %v", i, err)
		}
	}
	for _, old := range cps[:len(cps)-1] {
		p, err := tlog.ProveTree(size, int64(old.Size), hr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, size, root, int64(old.Size), tlog.Hash(old.Root)); err != nil {
			t.Fatalf("CheckTree %d -> %d: %v", old.Size, size, err)
		}
	}
}

// splitBundle parses a C2SP entry bundle (uint16 big-endian length, bytes)
// without using package proofs.
func splitBundle(t testing.TB, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("truncated bundle")
		}
		n := int(b[0])<<8 | int(b[1])
		if len(b) < 2+n {
			t.Fatalf("truncated bundle entry")
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

func fetch(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// TestTesseraClientProofsVerify has the Tessera client fetch the
// checkpoint, tiles and entry bundles over HTTP and build proofs, and checks
// them against our checkpoints.
func TestTesseraClientProofsVerify(t *testing.T) {
	s := newTestServer(t)
	s.appendN(t, 0, 40)
	old := s.waitCheckpoint(t, 40)
	s.appendN(t, 40, 290)
	cp := s.waitCheckpoint(t, 330)

	u, _ := url.Parse(s.url + "/")
	f, err := tclient.NewHTTPFetcher(u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tcp, _, _, err := tclient.FetchCheckpoint(ctx, f.ReadCheckpoint, s.verifier, testOrigin)
	if err != nil {
		t.Fatalf("tessera client refused our checkpoint: %v", err)
	}
	if tcp.Size < cp.Size {
		t.Fatalf("tessera client saw size %d", tcp.Size)
	}
	cp = s.waitCheckpoint(t, tcp.Size)
	pb, err := tclient.NewProofBuilder(ctx, cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < cp.Size; i++ {
		bundle, err := tclient.GetEntryBundle(ctx, f.ReadEntryBundle, i/256, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		entry := bundle.Entries[i%256]
		p, err := pb.InclusionProof(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, cp.Size, rfc6962.DefaultHasher.HashLeaf(entry), p, cp.Root[:]); err != nil {
			t.Fatalf("tessera-built proof for %d: %v", i, err)
		}
		var ours proofs.InclusionProof
		for _, h := range p {
			ours = append(ours, proofs.Hash(h))
		}
		if err := proofs.VerifyInclusion(cp, i, proofs.LeafHash(entry), ours); err != nil {
			t.Fatalf("our check of tessera proof %d: %v", i, err)
		}
	}
	cproof, err := pb.ConsistencyProof(ctx, old.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	var ours proofs.ConsistencyProof
	for _, h := range cproof {
		ours = append(ours, proofs.Hash(h))
	}
	if err := proofs.VerifyConsistency(old, cp, ours); err != nil {
		t.Fatalf("tessera-built consistency proof: %v", err)
	}
}
