package node_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/internal/testkit/attack"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
)

// hostileWorld is a payment agent serving on loopback and an order agent
// holding a contract to call it.
type hostileWorld struct {
	addr string // the payment agent's host:port
	call func(ctx context.Context) (int, error)
}

func startHostileWorld(t *testing.T, maxConns int) *hostileWorld {
	t.Helper()
	l := testledger.Start(t)
	ctx := t.Context()
	order, payment := l.Register("order-agent", "low"), l.Register("payment-agent", "high", "payment:charge")
	bundle, _ := l.Issue(order, payment, "payment:charge")
	pay, err := node.New(ctx, node.Config{Key: payment.Key, Ledger: l.URL, Policy: l.Policy(), DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Refresh: 20 * time.Millisecond, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	pay.Mux.Handle("POST /v1/charge", pay.Guard.Protect("payment:charge", guard.NoValues,
		func(w http.ResponseWriter, r *http.Request, a *guard.Approval) {}))
	addr, err := pay.Listen()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- pay.Serve(runCtx) }()
	t.Cleanup(func() { stop(); <-served })
	orderNode, err := node.New(ctx, node.Config{Key: order.Key, Ledger: l.URL, Policy: l.Policy(), DataDir: t.TempDir(),
		Listen: "127.0.0.1:0", Logger: zerolog.Nop(), Contract: [][]byte{bundle}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { orderNode.DB.Close() })
	return &hostileWorld{addr: addr, call: func(ctx context.Context) (int, error) {
		resp, err := orderNode.Caller.Call(ctx, http.MethodPost, "http://"+addr+"/v1/charge", payment.DID, "payment:charge", []byte(`{}`))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}}
}

func wantHonestCall(t *testing.T, w *hostileWorld) {
	t.Helper()
	if st, err := w.call(t.Context()); err != nil || st != http.StatusOK {
		t.Fatalf("honest call: %d %v", st, err)
	}
}

// TestAgentCutsOffSlowClients holds a slow-header and a slow-body
// connection against an agent and shows that the agent ends both, under
// its real timeouts, and serves an honest signed call meanwhile. It
// asserts no durations.
func TestAgentCutsOffSlowClients(t *testing.T) {
	t.Parallel()
	w := startHostileWorld(t, 0)
	ctx, cancel := context.WithTimeout(t.Context(), node.ReadTimeout+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	held := make([]attack.Held, 2)
	errs := make([]error, 2)
	wg.Go(func() { held[0], errs[0] = attack.SlowHeaders(ctx, w.addr, 200*time.Millisecond) })
	wg.Go(func() { held[1], errs[1] = attack.SlowBody(ctx, w.addr, "/v1/charge", 200*time.Millisecond) })
	wantHonestCall(t, w)
	wg.Wait()
	for i, name := range []string{"slow headers", "slow body"} {
		if errs[i] != nil || !held[i].Closed {
			t.Fatalf("%s: %+v %v: the agent did not end the connection", name, held[i], errs[i])
		}
	}
	if st := held[1].Status; st != 0 && st != http.StatusBadRequest {
		t.Fatalf("slow body answered %d, want 400 or no answer", st)
	}
}

// TestAgentRefusesOversizedRequests sends headers and bodies over the
// agent's limits and expects 431 and 413, then serves an honest call.
func TestAgentRefusesOversizedRequests(t *testing.T) {
	w := startHostileWorld(t, 0)
	ctx := t.Context()
	if st, err := attack.BigHeaders(ctx, w.addr, "/v1/charge", 2*node.MaxHeaderBytes); err != nil || st != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers over the limit: %d %v, want 431", st, err)
	}
	for _, announce := range []bool{true, false} {
		if st, err := attack.BigBody(ctx, w.addr, "/v1/charge", guard.DefaultMaxBody+1, announce); err != nil || st != http.StatusRequestEntityTooLarge {
			t.Fatalf("body over the limit (Content-Length %v): %d %v, want 413", announce, st, err)
		}
	}
	wantHonestCall(t, w)
}

// TestAgentConnectionLimit fills an agent's connection limit with idle
// connections: an honest caller is still served, and idle connections are
// closed to make room.
func TestAgentConnectionLimit(t *testing.T) {
	w := startHostileWorld(t, 2)
	idle, err := attack.Idle(t.Context(), w.addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer attack.CloseAll(idle)
	wantHonestCall(t, w)
	_ = idle[0].SetReadDeadline(time.Now().Add(time.Minute)) // a failure, not a hang
	if _, err := idle[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("the oldest idle connection was not closed to make room")
	}
	resp, err := http.Get("http://" + w.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !regexp.MustCompile(`(?m)^agent_connections_closed_for_room_total [1-9]`).Match(body) {
		t.Fatal("/metrics does not count the connections closed to make room")
	}
}
