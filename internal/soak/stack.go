package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/server"
)

// Origin is the soak log's checkpoint origin.
const Origin = "soak.agentledger.local/log"

// soakStock is each SKU's initial stock in the soak.
const soakStock = 1_000_000_000

// roles are the agents in the order they start: the order agent needs
// the others' addresses, which are fixed up front anyway.
func roles() []string { return []string{"inventory", "payment", "fulfillment", "order"} }

// grants are the seed's contracts plus what the soak needs: the order
// agent may refund (so a failed label is compensated) and reconcile (so
// the verdict can ask the payment agent).
func grants() []stack.Grant {
	return []stack.Grant{
		{Caller: "order-agent", Callee: "inventory-agent", Scopes: []string{"inventory:reserve", "inventory:consume", "inventory:release", "inventory:check"}},
		{Caller: "inventory-agent", Callee: "inventory-agent", Scopes: []string{"inventory:restock:max_qty50"}},
		{Caller: "order-agent", Callee: "payment-agent", Scopes: []string{"payment:charge:max_10000usd", "payment:refund:max_10000usd", "payment:reconcile"}},
		{Caller: "order-agent", Callee: "fulfillment-agent", Scopes: []string{"fulfillment:label", "fulfillment:notify"}},
		{Caller: "storefront", Callee: "order-agent", Scopes: []string{"order:create"}},
	}
}

// processes is the five processes and what the soak holds to drive and
// judge them: the parties' keys, the contracts' proofs, and clients.
type processes struct {
	dir      string
	procs    map[string]*proc // "ledger" and each role
	ledger   *client.Client
	verifier note.Verifier
	vkey     string
	ids      map[string]identity.Identity
	bundles  map[string][]byte // "caller -> callee" -> the contract's tlog-proof

	storefront *caller.Client // places orders
	orderAgent *caller.Client // the order agent's key, to ask for reconcile
}

// startProcesses creates a log in dir, registers the parties, issues the
// contracts, and starts the ledger and the four agents as processes of
// binary on fixed loopback ports.
func startProcesses(ctx context.Context, binary, dir string, rng *rand.Rand) (*processes, error) {
	logDir, keyDir := filepath.Join(dir, "log"), filepath.Join(dir, "keys")
	for _, d := range []string{filepath.Join(dir, "logs"), keyDir, filepath.Join(dir, "contracts")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	vkey, authorityDID, err := server.Init(logDir, Origin)
	if err != nil {
		return nil, err
	}
	s := &processes{dir: dir, procs: map[string]*proc{}, vkey: vkey, ids: map[string]identity.Identity{}, bundles: map[string][]byte{}}
	if s.verifier, err = note.NewVerifier(vkey); err != nil {
		return nil, err
	}
	names := append([]string{"ledger"}, roles()...)
	ports, err := freeLoopbackAddrs(len(names), rng)
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for i, name := range names {
		addrs[name] = ports[i]
	}
	ledgerURL := "http://" + addrs["ledger"]
	s.procs["ledger"] = &proc{name: "ledger", binary: binary, addr: addrs["ledger"], logDir: filepath.Join(dir, "logs"), started: 30 * time.Second,
		args: []string{"serve", "--data", logDir, "--listen", addrs["ledger"], "--checkpoint-interval", "100ms", "--log-format", "json"}}
	if err := s.procs["ledger"].start(ctx); err != nil {
		return s, err
	}
	if s.ledger, err = client.New(ledgerURL, &http.Client{Timeout: 30 * time.Second}); err != nil {
		return s, err
	}
	if err := s.seed(ctx, logDir, keyDir); err != nil {
		return s, err
	}

	common := []string{"--ledger", ledgerURL, "--log-key", filepath.Join(logDir, server.FileLogPub),
		"--authority", authorityDID, "--refresh", "100ms", "--log-format", "json"}
	cfg, _ := json.Marshal(map[string]string{
		"inventory_url": "http://" + addrs["inventory"], "inventory_did": s.ids["inventory-agent"].DID,
		"payment_url": "http://" + addrs["payment"], "payment_did": s.ids["payment-agent"].DID,
		"fulfillment_url": "http://" + addrs["fulfillment"], "fulfillment_did": s.ids["fulfillment-agent"].DID,
		"charge_retry": "30s"})
	cfgFile := filepath.Join(dir, "order-config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		return s, err
	}
	extra := map[string][]string{
		"inventory": {"--stock", "tea-earl-grey=" + fmt.Sprint(soakStock), "--stock", "mug-blue=" + fmt.Sprint(soakStock),
			"--contracts", filepath.Join(dir, "inventory-contracts")},
		"order": {"--config", cfgFile, "--contracts", filepath.Join(dir, "contracts")},
	}
	for _, role := range roles() {
		args := append([]string{"agent", "run", "--role", role, "--key", filepath.Join(keyDir, role+"-agent.pem"),
			"--listen", addrs[role], "--data", filepath.Join(dir, "agents", role)}, common...)
		s.procs[role] = &proc{name: role, binary: binary, addr: addrs[role], logDir: filepath.Join(dir, "logs"),
			started: 30 * time.Second, args: append(args, extra[role]...)}
		if err := s.procs[role].start(ctx); err != nil {
			return s, err
		}
	}
	return s, nil
}

// seed registers the four agents and the storefront with keys made here
// (kept in keyDir), issues grants(), and keeps every contract's proof: the
// order agent's in DIR/contracts for it to load, all of them in memory.
func (s *processes) seed(ctx context.Context, logDir, keyDir string) error {
	authKey, err := keyfile.Read(filepath.Join(logDir, server.FileAuthorityKey))
	if err != nil {
		return err
	}
	w, err := stack.Seed(ctx, s.ledger, s.verifier, identity.FromKey("authority", authKey), stack.Parties(), grants(),
		24*time.Hour, 10*time.Second, keyDir)
	if err != nil {
		return err
	}
	s.ids = w.IDs
	for what, c := range w.Contracts {
		s.bundles[what] = c.Proof
		var dir string
		switch c.Caller {
		case "order-agent":
			dir = "contracts"
		case "inventory-agent":
			dir = "inventory-contracts"
		default:
			continue
		}
		if err := os.MkdirAll(filepath.Join(s.dir, dir), 0o700); err != nil {
			return err
		}
		if err := fileio.WriteAtomic(filepath.Join(s.dir, dir, c.Callee+stack.ProofExt), c.Proof, 0o644); err != nil {
			return err
		}
	}
	s.storefront = caller.New(s.ids["storefront"].Key, &http.Client{Timeout: 60 * time.Second}, nil)
	s.orderAgent = caller.New(s.ids["order-agent"].Key, &http.Client{Timeout: 60 * time.Second}, nil)
	for _, c := range []struct {
		client *caller.Client
		what   string
	}{{s.storefront, "storefront -> order-agent"}, {s.orderAgent, "order-agent -> payment-agent"}, {s.orderAgent, "order-agent -> inventory-agent"}} {
		k, err := caller.ParseContract(s.bundles[c.what])
		if err == nil {
			err = c.client.Add(k)
		}
		if err != nil {
			return fmt.Errorf("contract %s: %w", c.what, err)
		}
	}
	return nil
}

// url is the base URL of a process.
func (s *processes) url(name string) string { return "http://" + s.procs[name].addr }

// stop ends every process, agents first.
func (s *processes) stop() {
	for i := len(roles()) - 1; i >= 0; i-- {
		if p := s.procs[roles()[i]]; p != nil {
			p.stop()
		}
	}
	if p := s.procs["ledger"]; p != nil {
		p.stop()
	}
}
