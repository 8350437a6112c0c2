package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

// tamperingProxy forwards to a ledger and flips one byte of every answer
// whose path starts with prefix.
func tamperingProxy(t *testing.T, target, prefix string) string {
	t.Helper()
	up, _ := url.Parse(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(up.String() + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.HasPrefix(r.URL.Path, prefix) && len(body) > 0 {
			body[len(body)-1] ^= 1
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTamperingProxyIsCaught puts a proxy between the auditor and an
// honest ledger. A proxy that changes entry bundles is caught by the full
// audit (exit 3, the entry named); one that changes hash tiles is caught
// by export, which checks the tiles against the signed root before it
// writes the mirror's checkpoint.
func TestTamperingProxyIsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	data := filepath.Join(t.TempDir(), "log")
	if out, err := exec.Command(binary, "init", "--data", data, "--origin", "proxy.example/log").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	srv := start(t, data, 0)
	defer srv.kill()
	lc, _ := client.New(srv.url, nil)
	authority, err := keyfile.Read(filepath.Join(data, "authority.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		raw, err := fixture.Registration(authority, fixture.NewIdentity(name), "low", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.Append(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // a checkpoint covers them
	run := func(args ...string) (int, string) {
		out, err := exec.Command(binary, args...).CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	logKey := filepath.Join(data, "log.pub")
	did := filepath.Join(data, "authority.did")

	bundles := tamperingProxy(t, srv.url, "/tile/entries/")
	code, out := run("audit", "--ledger", bundles, "--log-key", logKey, "--state", t.TempDir(), "--full", "--authority", did)
	if code != 3 || !strings.Contains(out, "entry 3 does not match its hash tile") {
		t.Fatalf("full audit through a proxy that changes entry bundles: exit %d, want 3 naming entry 3\n%s", code, out)
	}

	tiles := tamperingProxy(t, srv.url, "/tile/0/")
	code, out = run("export", "--ledger", tiles, "--log-key", logKey, "--out", t.TempDir())
	if code != 1 || !strings.Contains(out, "do not make the checkpoint's tree") {
		t.Fatalf("export through a proxy that changes hash tiles: exit %d, want 1\n%s", code, out)
	}

	// The same commands against the ledger itself agree it is clean.
	if code, out := run("audit", "--ledger", srv.url, "--log-key", logKey, "--state", t.TempDir(), "--full", "--authority", did); code != 0 {
		t.Fatalf("full audit of the honest ledger: exit %d\n%s", code, out)
	}
}

// TestAuditFindsARogueAgentsActions has a registered agent write action
// entries that its contract does not allow (the ledger records them: it
// does not judge actions) and checks that the full audit of the served log
// reports each one with its index.
func TestAuditFindsARogueAgentsActions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	data := filepath.Join(t.TempDir(), "log")
	if out, err := exec.Command(binary, "init", "--data", data, "--origin", "rogue.example/log").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	srv := start(t, data, 0)
	defer srv.kill()
	lc, _ := client.New(srv.url, nil)
	authority, err := keyfile.Read(filepath.Join(data, "authority.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(raw []byte, err error) uint64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		res, err := lc.Append(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return res.Index
	}
	order, rogue := fixture.NewIdentity("order-agent"), fixture.NewIdentity("payment-agent")
	add(fixture.Registration(authority, order, "low", time.Now()))
	add(fixture.Registration(authority, rogue, "high", time.Now(), "payment:charge", "payment:refund"))
	contract, _, err := fixture.Contract(authority, order.DID, rogue.DID, []string{"payment:charge:max_100usd"}, time.Now().Add(-time.Minute), time.Hour)
	cidx := add(contract, err)
	ref := statement.ContractRef{Index: cidx, LeafHash: proofs.LeafHash(contract)}
	act := func(action string, amount int64, nonce string) uint64 {
		return add(fixture.Action(rogue, fixture.ActionSpec{Caller: order.DID, Contract: ref, Action: action,
			Body: []byte(nonce), Amount: fixture.Int64(amount), Currency: "USD", Nonce: nonce, Time: time.Now()}))
	}
	act("payment:charge", 10000, "rogue-nonce-0000001") // within the contract
	want := map[uint64]string{
		act("payment:refund", 500, "rogue-nonce-0000002"):   "not_covered",  // no scope grants it (and it names no charge)
		act("payment:charge", 10001, "rogue-nonce-0000003"): "not_covered",  // one cent over
		act("payment:charge", 100, "rogue-nonce-0000001"):   "nonce_reused", // a replayed nonce
	}
	add(fixture.Revocation(authority, ref.LeafHash, "compromised", time.Now()))
	want[act("payment:charge", 100, "rogue-nonce-0000004")] = "after_revocation"
	time.Sleep(200 * time.Millisecond) // a checkpoint covers them

	cmd := exec.Command(binary, "audit", "--ledger", srv.url, "--log-key", filepath.Join(data, "log.pub"),
		"--state", t.TempDir(), "--full", "--authority", filepath.Join(data, "authority.did"), "--json")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("audit: %v, want exit 4\n%s", err, out)
	}
	var rep struct {
		Violations []struct {
			Index  uint64 `json:"index"`
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"violations"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	got := map[uint64][]string{} // an entry may break more than one rule
	for _, v := range rep.Violations {
		got[v.Index] = append(got[v.Index], v.Kind)
	}
	for idx, kind := range want {
		if !slices.Contains(got[idx], kind) {
			t.Errorf("entry %d: reported %q, want %q (report %+v)", idx, got[idx], kind, rep.Violations)
		}
	}
	if len(got) != len(want) {
		t.Errorf("reported %d entries with violations, want %d: %+v", len(got), len(want), rep.Violations)
	}
}
