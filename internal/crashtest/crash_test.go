// Package crashtest kills a real `ledgerctl serve` process with SIGKILL while
// writers append, restarts it, and checks the log kept every promise:
// acknowledged entries survive at their index with the same bytes, no entry
// appears twice, and every checkpoint published before a crash is
// consistent with the tree after it.
//
// CI runs 5 rounds; set LEDGER_CRASH_ROUNDS for more.
package crashtest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crashtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ledgerctl")
	build := exec.Command("go", "build", "-o", binary, "github.com/agentledger/agentledger/cmd/ledgerctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ledgerctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// initLog runs `ledgerctl init` in data and returns the authority key and
// the log's verifier.
func initLog(t *testing.T, data, origin string) (ed25519.PrivateKey, note.Verifier) {
	t.Helper()
	if out, err := exec.Command(binary, "init", "--data", data, "--origin", origin).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	authority, err := keyfile.Read(filepath.Join(data, "authority.pem"))
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := os.ReadFile(filepath.Join(data, "log.pub"))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	return authority, verifier
}

// register appends the registrations of the agent whose actions the
// writers append (it serves payment:charge) and of their caller, and the
// caller's contract at the agent, and returns them as acknowledged with
// the contract's reference, under which the agent's actions go.
func register(t *testing.T, c *client.Client, authority ed25519.PrivateKey, agent, caller fixture.Identity) ([]acked, statement.ContractRef) {
	t.Helper()
	var out []acked
	add := func(what string, raw []byte, err error) client.AppendResult {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Append(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, acked{index: res.Index, entry: raw})
		return res
	}
	reg, err := fixture.Registration(authority, agent, "low", time.Now(), "payment:charge")
	add("register the writing agent", reg, err)
	reg, err = fixture.Registration(authority, caller, "low", time.Now())
	add("register the caller", reg, err)
	contract, _, err := fixture.Contract(authority, caller.DID, agent.DID, []string{"payment:charge:max_10000usd"}, time.Now().Add(-time.Minute), 24*time.Hour)
	res := add("issue the caller's contract", contract, err)
	return out, statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}
}

type server struct {
	cmd  *exec.Cmd
	url  string
	logs *os.File
}

func start(t *testing.T, data string, round int) *server {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	logs, err := os.Create(filepath.Join(t.TempDir(), fmt.Sprintf("serve-%d.log", round)))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--addr-file", addrFile, "--checkpoint-interval", "20ms")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil && len(b) > 0 {
			return &server{cmd: cmd, url: "http://" + strings.TrimSpace(string(b)), logs: logs}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			out, _ := os.ReadFile(logs.Name())
			t.Fatalf("server did not start: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.logs.Close()
}

type acked struct {
	index uint64
	entry []byte
}

func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	rounds := 5
	if v := os.Getenv("LEDGER_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("LEDGER_CRASH_ROUNDS=%q: %v", v, err)
		}
		rounds = n
	}
	data := filepath.Join(t.TempDir(), "log")
	const origin = "crash.agentledger.example/log"
	authority, verifier := initLog(t, data, origin)

	// Writers append actions signed by one registered agent, which take
	// the group-commit path; the agent is registered first.
	agent := fixture.NewIdentity("crash-agent")
	caller := fixture.NewIdentity("crash-caller")
	var all []acked
	var ref statement.ContractRef
	var seen []proofs.SignedCheckpoint
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := 0; round < rounds; round++ {
		srv := start(t, data, round)
		c, err := client.New(srv.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Everything acknowledged so far, and every checkpoint seen, must
		// have survived the previous crash.
		checkSurvivors(t, c, all, seen, verifier, origin)
		if round == 0 {
			var setup []acked
			setup, ref = register(t, c, authority, agent, caller)
			all = append(all, setup...)
		}

		killAfter := time.Duration(50+rng.IntN(450)) * time.Millisecond
		got, cps := driveUntil(t, c, agent, caller.DID, ref, round, func() { time.Sleep(killAfter); srv.kill() }, verifier, origin)
		all = append(all, got...)
		seen = append(seen, cps...)
		t.Logf("round %d: %d acknowledged before SIGKILL at %v, %d checkpoints seen", round, len(got), killAfter, len(cps))
	}
	srv := start(t, data, rounds)
	defer srv.kill()
	c, _ := client.New(srv.url, nil)
	checkSurvivors(t, c, all, seen, verifier, origin)
	if len(all) == 0 {
		t.Fatal("no append was acknowledged in any round; the test proved nothing")
	}
}

// driveUntil runs writers against the server until end returns (end stops
// the server), and returns what was acknowledged and the checkpoints
// observed.
func driveUntil(t *testing.T, c *client.Client, agent fixture.Identity, caller string, ref statement.ContractRef, round int, end func(), v note.Verifier, origin string) ([]acked, []proofs.SignedCheckpoint) {
	var mu sync.Mutex
	var got []acked
	var cps []proofs.SignedCheckpoint
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				env, err := fixture.Action(agent, fixture.ActionSpec{
					Caller:   caller,
					Contract: ref,
					Action:   "payment:charge",
					Body:     []byte(fmt.Sprintf("round %d writer %d n %d", round, w, i)),
					Amount:   fixture.Int64(int64(i)), Currency: "USD",
					Nonce: fmt.Sprintf("crash-nonce-r%d-w%d-n%d", round, w, i),
					Time:  time.Now(),
				})
				if err != nil {
					t.Error(err)
					return
				}
				res, err := c.Append(ctx, env)
				var refused *client.APIError
				if errors.As(err, &refused) && refused.Status < 500 {
					t.Errorf("the ledger refused a valid entry: %v", err)
					return
				}
				if err != nil {
					return // the server died under us: not acknowledged
				}
				mu.Lock()
				got = append(got, acked{index: res.Index, entry: env})
				mu.Unlock()
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			raw, err := c.Checkpoint(ctx)
			if err == nil {
				cp, err := proofs.OpenCheckpoint(raw, origin, v)
				if err != nil {
					t.Errorf("served checkpoint does not verify: %v", err)
					return
				}
				mu.Lock()
				cps = append(cps, cp)
				mu.Unlock()
			}
			time.Sleep(15 * time.Millisecond)
		}
	}()
	end()
	cancel()
	wg.Wait()
	return got, cps
}

func checkSurvivors(t *testing.T, c *client.Client, all []acked, seen []proofs.SignedCheckpoint, v note.Verifier, origin string) {
	t.Helper()
	ctx := context.Background()
	raw, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := proofs.OpenCheckpoint(raw, origin, v)
	if err != nil {
		t.Fatal(err)
	}
	byIndex := map[uint64][]byte{}
	for _, a := range all {
		if prev, ok := byIndex[a.index]; ok && string(prev) != string(a.entry) {
			t.Fatalf("index %d was acknowledged for two different entries", a.index)
		}
		byIndex[a.index] = a.entry
		if a.index >= latest.Size {
			t.Fatalf("acknowledged index %d is beyond the recovered tree size %d", a.index, latest.Size)
		}
		e, err := c.Entry(ctx, a.index)
		if err != nil {
			t.Fatalf("acknowledged entry %d lost: %v", a.index, err)
		}
		if string(e) != string(a.entry) {
			t.Fatalf("entry %d changed across the crash", a.index)
		}
	}
	// No entry appears twice: each leaf hash maps back to its own index.
	for i := uint64(0); i < latest.Size; i++ {
		e, err := c.Entry(ctx, i)
		if err != nil {
			t.Fatalf("entry %d of %d unreadable: %v", i, latest.Size, err)
		}
		idx, _, err := c.EntryByHash(ctx, proofs.LeafHash(e))
		if err != nil || idx != i {
			t.Fatalf("entry %d: lookup by leaf hash gave %d, %v (duplicate?)", i, idx, err)
		}
	}
	for _, old := range seen {
		p, err := c.ConsistencyProof(ctx, old.Size, latest.Size)
		if err != nil {
			t.Fatalf("consistency %d -> %d: %v", old.Size, latest.Size, err)
		}
		if err := proofs.VerifyConsistency(old, latest, p); err != nil {
			var inc *proofs.InconsistencyError
			if errors.As(err, &inc) {
				t.Logf("evidence:\n%s", inc.MarshalEvidence())
			}
			t.Fatalf("checkpoint published before a crash is inconsistent with the tree after it: %v", err)
		}
	}
}
