package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
)

func TestProofsSmall(t *testing.T) {
	res, err := Proofs(context.Background(), ProofOptions{Entries: 5000, Proofs: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 5000 || res.Mean <= 0 || res.CheckMean <= 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestAppendSmall(t *testing.T) {
	res, err := Append(context.Background(), AppendOptions{Writers: 8, Entries: 500})
	if err != nil {
		t.Fatal(err)
	}
	// The entries are valid action statements of a registered agent, about
	// 866 bytes, as over HTTP: the registry admits nothing else concurrently.
	if res.Entries != 500 || res.PerSecond <= 0 || res.P99 < res.P50 || res.EntryBytes < 800 || res.EntryBytes > 950 {
		t.Fatalf("result %+v", res)
	}
}

// TestAppendOverHTTP runs the HTTP mode against a served ledger that holds
// writers to the registry's rules, so the entries must be valid actions of
// a registered agent.
func TestAppendOverHTTP(t *testing.T) {
	skey, _, _ := note.GenerateKey(rand.Reader, "bench.test/log")
	signer, _ := note.NewSigner(skey)
	dir := filepath.Join(t.TempDir(), "db")
	if err := ledger.Create(dir, "bench.test/log"); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: signer, Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	authority := fixture.NewIdentity("authority")
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	srv := httptest.NewServer(httpapi.New(l, reg, zerolog.Nop(), nil))
	defer srv.Close()
	res, err := Append(context.Background(), AppendOptions{Writers: 8, Entries: 300, URL: srv.URL, Key: authority.Key})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "http" || res.Entries != 300 || l.Size() != 303 {
		t.Fatalf("result %+v, log size %d (want 300 actions, two registrations and a contract)", res, l.Size())
	}
}

func TestGuardSmall(t *testing.T) {
	res, err := Guard(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if res.Guarded <= res.NoGuard || res.ChecksOnly <= 0 || res.Ed25519Verify <= 0 || res.FirstP50 <= 0 || res.ReceiptP99 < res.ReceiptP50 {
		t.Fatalf("result %+v", res)
	}
}

func TestAuditSmall(t *testing.T) {
	res, err := Audit(context.Background(), 300)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 300 || res.Violations != 0 || res.PerSecond <= 0 || res.VerifyPerSecond <= 0 {
		t.Fatalf("result %+v", res)
	}
}
