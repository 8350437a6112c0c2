package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/ledger/registry"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

const origin = "verify.test/log"

// logKeys is one log signing key pair; two ledgers made with the same
// keys can fork.
type logKeys struct {
	signer   note.Signer
	verifier note.Verifier
}

func newLogKeys(t *testing.T) logKeys {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return logKeys{s, v}
}

// world is a real ledger on loopback with the registry's rules, and the
// identities of the seed.
type world struct {
	t         *testing.T
	log       *ledger.Log
	srv       *httptest.Server
	client    *client.Client
	keys      logKeys
	authority fixture.Identity
	order     fixture.Identity
	payment   fixture.Identity
}

func newWorld(t *testing.T, keys logKeys, authority fixture.Identity) *world {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	if err := ledger.Create(dir, origin); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Options{Dir: dir, Signer: keys.signer, CheckpointInterval: 10 * time.Millisecond, Indexer: registry.Indexer{}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(l, authority.Key.Public().(ed25519.PublicKey))
	api := httpapi.New(l, reg, zerolog.Nop(), nil)
	api.ServeRegistry(reg)
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); l.Close() })
	c, _ := client.New(srv.URL, nil)
	w := &world{t: t, log: l, srv: srv, client: c, keys: keys, authority: authority,
		order: fixture.NewIdentity("order-agent"), payment: fixture.NewIdentity("payment-agent")}
	w.append(fixture.Registration(authority.Key, w.order, "low", time.Now()))
	w.append(fixture.Registration(authority.Key, w.payment, "high", time.Now(), "payment:charge", "payment:refund"))
	return w
}

func (w *world) append(raw []byte, err error) client.AppendResult {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.client.Append(context.Background(), raw)
	if err != nil {
		w.t.Fatal(err)
	}
	w.waitCheckpoint(res.Index + 1)
	return res
}

func (w *world) waitCheckpoint(size uint64) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, got, _ := w.log.Checkpoint(); got >= size {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no checkpoint of size %d", size)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// issue appends a contract from order-agent to payment-agent.
func (w *world) issue(scopes ...string) ([]byte, statement.ContractRef) {
	w.t.Helper()
	raw, _, err := fixture.Contract(w.authority.Key, w.order.DID, w.payment.DID, scopes, time.Now(), time.Hour)
	res := w.append(raw, err)
	return raw, statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
}

// clock is a settable clock for freshness tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newFollower(t *testing.T, w *world, src verify.Source, dir string, now func() time.Time) *verify.Follower {
	t.Helper()
	f, err := verify.NewFollower(verify.Options{
		Policy:   verify.TrustPolicy{LogKey: w.keys.verifier, Authority: w.authority.DID},
		Source:   src,
		StateDir: dir,
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func charge(minor int64, currency string) scope.Request {
	return scope.Request{Action: "payment:charge", Amount: minor, Currency: currency, HasAmount: true}
}

func TestAuthorizeFollowsContractsAndRevocations(t *testing.T) {
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	contract, ref := w.issue("payment:charge:max_10000usd")
	f := newFollower(t, w, w.client, t.TempDir(), nil)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := f.ContractByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name     string
		signer   string
		audience string
		req      scope.Request
		reason   string
	}{
		{"the limit itself", w.order.DID, w.payment.DID, charge(1000000, "USD"), ""},
		{"one cent over", w.order.DID, w.payment.DID, charge(1000001, "USD"), "amount_exceeded"},
		{"another currency", w.order.DID, w.payment.DID, charge(100, "EUR"), "currency_mismatch"},
		{"a refund", w.order.DID, w.payment.DID, scope.Request{Action: "payment:refund", Amount: 1, Currency: "USD", HasAmount: true}, "scope_missing"},
		{"a chargeback", w.order.DID, w.payment.DID, scope.Request{Action: "payment:chargeback", Amount: 1, Currency: "USD", HasAmount: true}, "scope_missing"},
		{"a stolen contract", w.payment.DID, w.payment.DID, charge(1, "USD"), verify.ReasonSubjectMismatch},
		{"another audience", w.order.DID, w.order.DID, charge(1, "USD"), verify.ReasonAudienceMismatch},
	} {
		d := f.Authorize(c, tc.signer, tc.audience, tc.req, now)
		if d.Allowed != (tc.reason == "") || d.Reason != tc.reason {
			t.Errorf("%s: decision %+v, want reason %q", tc.name, d, tc.reason)
		}
	}
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), now.Add(2*time.Hour)); d.Reason != verify.ReasonExpired {
		t.Errorf("after expiry: %+v", d)
	}
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), now.Add(-time.Hour)); d.Reason != verify.ReasonNotYetValid {
		t.Errorf("before not_before: %+v", d)
	}

	// A revocation counts once the view covers it.
	w.append(fixture.Revocation(w.authority.Key, proofs.LeafHash(contract), "compromised", time.Now()))
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), time.Now()); !d.Allowed {
		t.Fatalf("before the follower saw the revocation: %+v", d)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), time.Now()); d.Reason != verify.ReasonRevoked {
		t.Fatalf("after: %+v", d)
	}

	// A contract never appended is unknown, though validly signed.
	raw, _, _ := fixture.Contract(w.authority.Key, w.order.DID, w.payment.DID, []string{"payment:charge"}, time.Now(), time.Hour)
	if _, err := f.ContractByRef(statement.ContractRef{Index: 3, LeafHash: proofs.LeafHash(raw)}); verify.ReasonOf(err) != verify.ReasonContractUnknown {
		t.Fatalf("unappended contract: %v", err)
	}
}

func TestFreshnessAndUnreachableLedger(t *testing.T) {
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	_, ref := w.issue("payment:charge")
	clk := &clock{t: time.Now()}
	f := newFollower(t, w, w.client, t.TempDir(), clk.Now)
	if err := f.Fresh(); verify.ReasonOf(err) != verify.ReasonCheckpointStale {
		t.Fatalf("before any refresh: %v", err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, _ := f.ContractByRef(ref)
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), clk.Now()); !d.Allowed {
		t.Fatalf("fresh view: %+v", d)
	}
	w.srv.Close() // the ledger goes away
	clk.Add(5 * time.Second)
	if err := f.Refresh(context.Background()); err == nil {
		t.Fatal("refresh from a closed ledger succeeded")
	}
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), clk.Now()); !d.Allowed {
		t.Fatalf("within the max age: %+v", d)
	}
	clk.Add(6 * time.Second)
	if d := f.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), clk.Now()); d.Reason != verify.ReasonCheckpointStale {
		t.Fatalf("past the max age: %+v", d)
	}
}

// TestForkFreezesWithEvidence follows one ledger, then is shown another
// history signed with the same key: it must freeze, write evidence that
// re-checks offline, and stay frozen across a restart.
func TestForkFreezesWithEvidence(t *testing.T) {
	keys := newLogKeys(t)
	authority := fixture.NewIdentity("authority")
	a := newWorld(t, keys, authority)
	b := newWorld(t, keys, authority) // same key and origin, different tree
	a.issue("payment:charge")
	b.issue("payment:refund")
	dir := t.TempDir()
	src := &switchable{Source: a.client}
	f := newFollower(t, a, src, dir, nil)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.set(b.client)
	err := f.Refresh(context.Background())
	var fork *verify.ForkError
	if !errors.As(err, &fork) {
		t.Fatalf("refresh from the fork: %v, want a ForkError", err)
	}
	evidence, rerr := os.ReadFile(fork.EvidenceFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	oldNote, newNote, p, perr := proofs.ParseInconsistencyEvidence(evidence)
	if perr != nil {
		t.Fatal(perr)
	}
	oldCP, err1 := proofs.OpenCheckpoint(oldNote, origin, keys.verifier)
	newCP, err2 := proofs.OpenCheckpoint(newNote, origin, keys.verifier)
	if err1 != nil || err2 != nil {
		t.Fatalf("evidence checkpoints do not verify: %v %v", err1, err2)
	}
	if err := proofs.VerifyConsistency(oldCP, newCP, p); err == nil {
		t.Fatal("the evidence does not show an inconsistency")
	}
	if verify.ReasonOf(f.Fresh()) != verify.ReasonLogInconsistent {
		t.Fatalf("after the fork: %v", f.Fresh())
	}
	// Even the honest ledger is refused now, and after a restart.
	src.set(a.client)
	if err := f.Refresh(context.Background()); !errors.Is(err, verify.ErrFrozen) {
		t.Fatalf("refresh while frozen: %v", err)
	}
	again := newFollower(t, a, a.client, dir, nil)
	if verify.ReasonOf(again.Fresh()) != verify.ReasonLogInconsistent {
		t.Fatalf("after restart: %v", again.Fresh())
	}
	// The operator clears it by removing FROZEN.
	if err := os.Remove(filepath.Join(dir, "FROZEN")); err != nil {
		t.Fatal(err)
	}
	cleared := newFollower(t, a, a.client, dir, nil)
	if err := cleared.Refresh(context.Background()); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
}

// TestForkedBundleRefusedWithEvidence presents a contract whose tlog-proof
// comes from a forked tree signed with the same key.
func TestForkedBundleRefusedWithEvidence(t *testing.T) {
	keys := newLogKeys(t)
	authority := fixture.NewIdentity("authority")
	a := newWorld(t, keys, authority)
	b := newWorld(t, keys, authority)
	a.issue("payment:charge")
	_, refB := b.issue("payment:charge:max_1usd")
	dir := t.TempDir()
	f := newFollower(t, a, a.client, dir, nil)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := b.client.Bundle(context.Background(), refB.Index, 0)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := proofs.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ContractFromBundle(context.Background(), bundle)
	if verify.ReasonOf(err) != verify.ReasonLogInconsistent {
		t.Fatalf("forked bundle: %v", err)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "evidence-*.txt"))
	if len(entries) != 1 {
		t.Fatalf("evidence files: %v", entries)
	}
}

// TestTamperedEntriesRefused serves entry bundles with one byte changed:
// the view must not advance.
func TestTamperedEntriesRefused(t *testing.T) {
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	w.issue("payment:charge")
	f := newFollower(t, w, tampering{w.client}, t.TempDir(), nil)
	err := f.Refresh(context.Background())
	if !errors.Is(err, verify.ErrEntriesMismatch) {
		t.Fatalf("refresh over tampered bundles: %v", err)
	}
	if f.Checkpoint().Size != 0 {
		t.Fatalf("the view advanced to %d over tampered entries", f.Checkpoint().Size)
	}
}

func TestViewPersists(t *testing.T) {
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	contract, ref := w.issue("payment:charge")
	w.append(fixture.Revocation(w.authority.Key, proofs.LeafHash(contract), "rotated", time.Now()))
	dir := t.TempDir()
	f := newFollower(t, w, w.client, dir, nil)
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := newFollower(t, w, w.client, dir, nil)
	if g.Checkpoint().Size != f.Checkpoint().Size || g.Checkpoint().Root != f.Checkpoint().Root {
		t.Fatalf("restored checkpoint %d, want %d", g.Checkpoint().Size, f.Checkpoint().Size)
	}
	if err := g.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := g.ContractByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Authorize(c, w.order.DID, w.payment.DID, charge(1, "USD"), time.Now()); d.Reason != verify.ReasonRevoked {
		t.Fatalf("restored view forgot the revocation: %+v", d)
	}
}

// TestImportsNothingFromTheServer keeps verify small enough to vendor.
func TestImportsNothingFromTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "dgraph-io/badger") || dep == "github.com/agentledger/agentledger/ledger" ||
			strings.HasPrefix(dep, "github.com/agentledger/agentledger/ledger/") || strings.Contains(dep, "prometheus") {
			t.Errorf("verify depends on %s", dep)
		}
	}
}

// switchable lets a test change the ledger a follower reads.
type switchable struct {
	mu sync.Mutex
	verify.Source
}

func (s *switchable) set(src verify.Source) { s.mu.Lock(); s.Source = src; s.mu.Unlock() }
func (s *switchable) get() verify.Source    { s.mu.Lock(); defer s.mu.Unlock(); return s.Source }
func (s *switchable) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.get().Checkpoint(ctx)
}
func (s *switchable) Tile(ctx context.Context, t proofs.Tile) ([]byte, error) {
	return s.get().Tile(ctx, t)
}
func (s *switchable) ConsistencyProof(ctx context.Context, a, b uint64) (proofs.ConsistencyProof, error) {
	return s.get().ConsistencyProof(ctx, a, b)
}

// tampering flips one byte of the last entry of every entry bundle.
type tampering struct{ verify.Source }

func (s tampering) Tile(ctx context.Context, t proofs.Tile) ([]byte, error) {
	b, err := s.Source.Tile(ctx, t)
	if err == nil && t.Entries && len(b) > 0 {
		b[len(b)-1] ^= 1
	}
	return b, err
}

// TestRunKeepsTheViewFresh runs the refresh loop against a live ledger and
// sees a newly issued contract arrive without an explicit refresh.
func TestRunKeepsTheViewFresh(t *testing.T) {
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	f := newFollower(t, w, w.client, t.TempDir(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx, 20*time.Millisecond, nil); close(done) }()
	defer func() { cancel(); <-done }()
	_, ref := w.issue("payment:charge")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := f.ContractByRef(ref); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running follower never saw the contract")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Fresh(); err != nil {
		t.Fatalf("a running follower is not fresh: %v", err)
	}
}

// TestRefusedRefreshLeavesTheViewIntact refuses a refresh over tampered
// entries, then refreshes honestly: the refused attempt must not have
// changed the verified view, or the follower would stay stale for good
// (a ledger killed while a follower reads its entries does the same).
func TestRefusedRefreshLeavesTheViewIntact(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, newLogKeys(t), fixture.NewIdentity("authority"))
	for range 3 {
		w.issue("payment:charge")
	}
	src := &switchable{Source: w.client}
	f := newFollower(t, w, src, t.TempDir(), nil)
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before := f.Checkpoint()
	for range 5 {
		w.issue("payment:refund")
	}
	src.set(tampering{w.client})
	if err := f.Refresh(ctx); !errors.Is(err, verify.ErrEntriesMismatch) {
		t.Fatalf("refresh over tampered bundles: %v", err)
	}
	if got := f.Checkpoint(); got.Size != before.Size || got.Root != before.Root {
		t.Fatalf("the refused refresh moved the view from %d to %d", before.Size, got.Size)
	}
	src.set(w.client)
	if err := f.Refresh(ctx); err != nil {
		t.Fatalf("an honest refresh after a refused one: %v", err)
	}
	if f.Checkpoint().Size <= before.Size {
		t.Fatalf("the view did not advance past %d", before.Size)
	}
}
