package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/secretscan"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
)

// agentProc is one `ledgerctl agent run` process.
type agentProc struct {
	cmd  *exec.Cmd
	url  string
	addr string
	logs string // the process's stdout and stderr
}

// startAgentProc runs an agent and waits for its address.
func startAgentProc(t *testing.T, name string, args ...string) *agentProc {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), name+".addr")
	logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"agent", "run", "--addr-file", addrFile, "--log-format", "json"}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			addr := strings.TrimSpace(string(b))
			return &agentProc{cmd: cmd, url: "http://" + addr, addr: addr, logs: logs.Name()}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logs.Name())
			t.Fatalf("agent %s did not start: %s", name, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPaymentKilledMidOrder places orders through the five-process stack
// while the payment agent is SIGKILLed and restarted. Every order must end
// completed with all its receipts, or compensated; the payment agent's own
// reconciliation must find every charge it made in the log (never a charge
// without a receipt) and exactly one charge per completed order (never
// twice).
func TestPaymentKilledMidOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	data := filepath.Join(t.TempDir(), "log")
	if out, err := exec.Command(binary, "init", "--data", data, "--origin", "orders.crash.example/log").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	ledgerSrv := start(t, data, 0)
	defer ledgerSrv.kill()
	lc, _ := client.New(ledgerSrv.url, nil)
	authorityKey, err := keyfile.Read(filepath.Join(data, "authority.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := t.TempDir()
	ids := map[string]fixture.Identity{}
	serves := map[string][]string{"order-agent": roles.Serves(roles.Order), "inventory-agent": roles.Serves(roles.Inventory),
		"payment-agent": roles.Serves(roles.Payment), "fulfillment-agent": roles.Serves(roles.Fulfillment)}
	for _, name := range []string{"storefront", "order-agent", "inventory-agent", "payment-agent", "fulfillment-agent"} {
		id := fixture.NewIdentity(name)
		raw, err := fixture.Registration(authorityKey, id, "low", time.Now(), serves[name]...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.Append(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if err := keyfile.Write(filepath.Join(keys, name+".pem"), id.Key); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	issue := func(caller, callee string, scopes ...string) []byte {
		raw, _, err := fixture.Contract(authorityKey, ids[caller].DID, ids[callee].DID, scopes, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		res, err := lc.Append(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			b, err := lc.Bundle(ctx, res.Index, 0)
			if err == nil {
				return b
			}
			if time.Now().After(deadline) {
				t.Fatalf("no proof of contract %d: %v", res.Index, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	create := issue("storefront", "order-agent", "order:create")
	contracts := t.TempDir()
	payContract := issue("order-agent", "payment-agent", "payment:charge:max_10000usd", "payment:reconcile")
	for name, b := range map[string][]byte{
		"inventory":   issue("order-agent", "inventory-agent", "inventory:reserve", "inventory:consume", "inventory:release"),
		"payment":     payContract,
		"fulfillment": issue("order-agent", "fulfillment-agent", "fulfillment:label", "fulfillment:notify"),
	} {
		if err := os.WriteFile(filepath.Join(contracts, name+".tlog-proof"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	common := []string{"--ledger", ledgerSrv.url, "--log-key", filepath.Join(data, "log.pub"),
		"--authority", filepath.Join(data, "authority.did"), "--refresh", "50ms"}
	agentArgs := func(role, name, listen string, extra ...string) []string {
		return append(append([]string{"--role", role, "--key", filepath.Join(keys, name+".pem"), "--listen", listen,
			"--data", filepath.Join(t.TempDir(), name)}, common...), extra...)
	}
	inv := startAgentProc(t, "inventory", agentArgs("inventory", "inventory-agent", "127.0.0.1:0", "--stock", "tea=100000")...)
	payDir := filepath.Join(t.TempDir(), "payment-agent")
	payArgs := func(listen string) []string {
		return append([]string{"--role", "payment", "--key", filepath.Join(keys, "payment-agent.pem"), "--listen", listen,
			"--data", payDir}, common...)
	}
	pay := startAgentProc(t, "payment", payArgs("127.0.0.1:0")...)
	logFiles := []string{inv.logs, pay.logs, ledgerSrv.logs.Name()}
	ful := startAgentProc(t, "fulfillment", agentArgs("fulfillment", "fulfillment-agent", "127.0.0.1:0")...)
	cfg, _ := json.Marshal(map[string]string{"inventory_url": inv.url, "inventory_did": ids["inventory-agent"].DID,
		"payment_url": pay.url, "payment_did": ids["payment-agent"].DID,
		"fulfillment_url": ful.url, "fulfillment_did": ids["fulfillment-agent"].DID, "charge_retry": "20s"})
	cfgFile := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ord := startAgentProc(t, "order", agentArgs("order", "order-agent", "127.0.0.1:0", "--contracts", contracts, "--config", cfgFile)...)
	logFiles = append(logFiles, ful.logs, ord.logs)
	var logMu sync.Mutex

	storefront := caller.New(ids["storefront"].Key, &http.Client{Timeout: 60 * time.Second}, nil)
	k, err := caller.ParseContract(create)
	if err != nil {
		t.Fatal(err)
	}
	if err := storefront.Add(k); err != nil {
		t.Fatal(err)
	}

	// Kill the payment agent mid-flight, once some orders are through and
	// more are in flight, then bring it back on its address.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	killed := make(chan struct{})
	var answered sync.WaitGroup
	answered.Add(10)
	var killedAt atomic.Int64
	go func() {
		defer close(killed)
		answered.Wait()
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		killedAt.Store(time.Now().UnixNano())
		_ = pay.cmd.Process.Signal(syscall.SIGKILL)
		_ = pay.cmd.Wait()
		time.Sleep(300 * time.Millisecond)
		pay = startAgentProc(t, "payment-restarted", payArgs(pay.addr)...)
		logMu.Lock()
		logFiles = append(logFiles, pay.logs)
		logMu.Unlock()
	}()

	const orders, workers = 120, 8
	var answers atomic.Int64
	results := make([]map[string]any, orders)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < orders; i += workers {
				body, _ := json.Marshal(map[string]any{"order_id": fmt.Sprintf("crash-%03d", i),
					"customer": map[string]string{"first": "Ada", "last": "L", "email": "a@example.com"},
					"address":  map[string]any{"lines": []string{"1 Main St"}, "city": "London", "postal_code": "N1", "country": "GB"},
					"items":    []map[string]any{{"sku": "tea", "qty": 1, "unit_price": 1299}}, "currency": "USD",
					"card": "4242424242424242", "note": ""})
				// A caller retries the same order until it has an answer.
				for attempt := 0; attempt < 20; attempt++ {
					resp, err := storefront.Call(ctx, http.MethodPost, ord.url+"/v1/orders", ids["order-agent"].DID, "order:create", body)
					if err != nil {
						time.Sleep(200 * time.Millisecond)
						continue
					}
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					var o map[string]any
					_ = json.Unmarshal(raw, &o)
					if o["status"] != nil && o["status"] != "processing" {
						results[i] = o
						if answers.Add(1) <= 10 {
							answered.Done()
						}
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	<-killed

	completed := 0
	for i, o := range results {
		switch {
		case o == nil:
			t.Fatalf("order %d never got an answer", i)
		case o["status"] == "completed":
			completed++
			receipts, _ := o["receipts"].(map[string]any)
			for _, a := range []string{"order:create", "inventory:reserve", "payment:charge", "fulfillment:label", "fulfillment:notify"} {
				if receipts[a] == nil {
					t.Fatalf("completed order %d lacks its %s receipt: %v", i, a, o)
				}
			}
		case o["status"] == "payment_failed":
			// Compensated: the reservation was given back.
			if receipts, _ := o["receipts"].(map[string]any); receipts["inventory:release"] == nil {
				t.Fatalf("order %d failed payment without releasing its reservation: %v", i, o)
			}
		default:
			t.Fatalf("order %d ended %v: %v", i, o["status"], o)
		}
	}
	t.Logf("%d of %d orders completed across a payment agent crash", completed, orders)
	if killedAt.Load() == 0 {
		t.Fatal("the payment agent was never killed")
	}
	// Some orders must have been answered after the crash, or the test
	// proved nothing about orders in flight.
	if answers.Load() <= 10 {
		t.Fatalf("only %d orders were answered", answers.Load())
	}

	logMu.Lock()
	scanForSecrets(t, logFiles, keys, "4242424242424242", "1 Main St", "a@example.com")
	logMu.Unlock()

	// The payment agent reconciles its records with the log. Every charge it
	// made has its action entry (no "missing_action"), and there is one
	// charge per completed order. A crash between an approval's receipt
	// and the charge it approved leaves an approval that was never acted on:
	// reconcile reports it as "missing_record", and that is the only
	// difference a crash may leave.
	orderCaller := caller.New(ids["order-agent"].Key, nil, nil)
	pk, _ := caller.ParseContract(payContract)
	if err := orderCaller.Add(pk); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := orderCaller.Call(ctx, http.MethodPost, pay.url+"/v1/payment/reconcile", ids["payment-agent"].DID, "payment:reconcile", []byte(`{}`))
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			rep = nil
			_ = json.Unmarshal(raw, &rep)
			if resp.StatusCode == http.StatusOK && onlyUnactedApprovals(rep) && int(rep["charges"].(float64)) == completed {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment reconcile: %v (completed orders %d)", rep, completed)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// onlyUnactedApprovals reports whether a reconcile report's differences
// are all approvals logged before a crash and never acted on.
func onlyUnactedApprovals(rep map[string]any) bool {
	diffs, _ := rep["differences"].([]any)
	for _, d := range diffs {
		if m, _ := d.(map[string]any); m["kind"] != "missing_record" {
			return false
		}
	}
	return rep["charges"] != nil
}

// scanForSecrets fails if any log file holds a secret: any private key
// file in keyDir, in any form it could leak in, or one of the customer
// data strings.
func scanForSecrets(t *testing.T, logFiles []string, keyDir string, customer ...string) {
	t.Helper()
	pems, _ := filepath.Glob(filepath.Join(keyDir, "*.pem"))
	secrets, err := secretscan.Secrets(pems, "", customer...)
	if err != nil {
		t.Fatal(err)
	}
	lines, found := secretscan.Files(logFiles, secrets)
	for _, f := range found {
		t.Errorf("a log holds a secret or customer data: %s", f)
	}
	if lines == 0 {
		t.Fatal("no log output to scan")
	}
}
