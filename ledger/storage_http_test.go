package ledger_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
)

// TestStorageFaultsOverHTTP checks what a writer sees over HTTP when the
// ledger's storage fails: 503 with a machine-readable reason, no index,
// appends again once the fault clears, /readyz failing while a commit is
// stalled, and /readyz failing once the log needs a restart.
func TestStorageFaultsOverHTTP(t *testing.T) {
	const origin = "test.agentledger.example/log"
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "db")
	if err := ledger.Create(dir, origin); err != nil {
		t.Fatal(err)
	}
	l, faults, err := ledger.OpenWithFaults(ledger.Options{Dir: dir, Signer: signer, CheckpointInterval: time.Hour, CommitTimeout: time.Second,
		Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	authority := fixture.NewIdentity("authority")
	srv := httptest.NewServer(httpapi.New(l, registry.New(l, authority.Key.Public().(ed25519.PublicKey)), zerolog.Nop(), nil))
	t.Cleanup(func() {
		srv.Close()
		l.Close()
	})
	// entry(i) is the same registration each time it is asked for.
	t0 := time.Now()
	entry := func(i int) string {
		env, err := fixture.Registration(authority.Key, fixture.Fixed(fmt.Sprintf("agent-%d", i), byte(i+1)), "low", t0)
		if err != nil {
			t.Fatal(err)
		}
		return string(env)
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON", method, path, raw)
		}
		return resp.StatusCode, out
	}
	refused := func(body, reason string) {
		t.Helper()
		before := l.Size()
		status, out := call("POST", "/v1/entries", body)
		if status != http.StatusServiceUnavailable || out["error"] != reason {
			t.Fatalf("append: %d %v, want 503 %s", status, out, reason)
		}
		if _, ok := out["index"]; ok {
			t.Fatalf("a refusal carried an index: %v", out)
		}
		if l.Size() != before {
			t.Fatal("a refused append grew the log")
		}
	}

	if status, out := call("POST", "/v1/entries", entry(0)); status != http.StatusCreated {
		t.Fatalf("first append: %d %v", status, out)
	}
	faults.DiskFull(true)
	refused(entry(1), "storage_unavailable")
	if status, out := call("GET", "/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz during a transient fault: %d %v", status, out)
	}
	faults.DiskFull(false)
	if status, out := call("POST", "/v1/entries", entry(1)); status != http.StatusCreated || out["index"] != 1.0 {
		t.Fatalf("the refused entry, resubmitted once the fault cleared: %d %v, want 201 at index 1", status, out)
	}

	release := faults.StallNext()
	refused(entry(2), "storage_unavailable")
	status, out := call("GET", "/readyz", "")
	if status != http.StatusServiceUnavailable || out["error"] != "storage_stalled" {
		t.Fatalf("readyz during a stalled commit: %d %v, want 503 storage_stalled", status, out)
	}
	release()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stalled() || l.Size() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the ledger did not go on after the stall ended")
		}
		time.Sleep(time.Millisecond)
	}
	if status, out := call("GET", "/readyz", ""); status != http.StatusOK {
		t.Fatalf("readyz after the stall: %d %v", status, out)
	}

	faults.FailNextSync()
	refused(entry(3), "storage_failed")
	refused(entry(4), "storage_failed")
	status, out = call("GET", "/readyz", "")
	if status != http.StatusServiceUnavailable || out["error"] != "storage_failed" {
		t.Fatalf("readyz after the store failed: %d %v, want 503 storage_failed", status, out)
	}
	select {
	case <-l.Failed():
	default:
		t.Fatal("Failed not closed")
	}
}
