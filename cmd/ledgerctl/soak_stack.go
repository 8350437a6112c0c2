package main

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
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/server"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/envelope"
)

const soakOrigin = "soak.agentledger.local/log"

// soakRoles are the agents in the order they start: the order agent needs
// the others' addresses, which are fixed up front anyway.
var soakRoles = []string{"inventory", "payment", "fulfillment", "order"}

// soakContracts are the seed's contracts plus what the soak needs: the
// order agent may refund (so a failed label is compensated) and reconcile
// (so the verdict can ask the payment agent).
var soakContracts = []demoContract{
	{"order-agent", "inventory-agent", []string{"inventory:reserve", "inventory:release", "inventory:check"}},
	{"order-agent", "payment-agent", []string{"payment:charge:max_10000usd", "payment:refund:max_10000usd", "payment:reconcile"}},
	{"order-agent", "fulfillment-agent", []string{"fulfillment:label", "fulfillment:notify"}},
	{"storefront", "order-agent", []string{"order:create"}},
}

// soakStack is the five processes and what the soak holds to drive and
// judge them: the parties' keys, the contracts' proofs, and clients.
type soakStack struct {
	dir      string
	procs    map[string]*soakProc // "ledger" and each role
	ledger   *client.Client
	verifier note.Verifier
	vkey     string
	ids      map[string]fixture.Identity
	bundles  map[string][]byte // "caller -> callee" -> the contract's tlog-proof

	storefront *caller.Client // places orders
	orderAgent *caller.Client // the order agent's key, to ask for reconcile
}

// startSoakStack creates a log in dir, registers the parties, issues the
// contracts, and starts the ledger and the four agents as processes of
// binary on fixed loopback ports.
func startSoakStack(ctx context.Context, binary, dir string, rng *rand.Rand) (*soakStack, error) {
	logDir, keyDir := filepath.Join(dir, "log"), filepath.Join(dir, "keys")
	for _, d := range []string{filepath.Join(dir, "logs"), keyDir, filepath.Join(dir, "contracts")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	vkey, authorityDID, err := server.Init(logDir, soakOrigin)
	if err != nil {
		return nil, initHint(err)
	}
	s := &soakStack{dir: dir, procs: map[string]*soakProc{}, vkey: vkey, ids: map[string]fixture.Identity{}, bundles: map[string][]byte{}}
	if s.verifier, err = note.NewVerifier(vkey); err != nil {
		return nil, err
	}
	names := append([]string{"ledger"}, soakRoles...)
	ports, err := freeLoopbackAddrs(len(names), rng)
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for i, name := range names {
		addrs[name] = ports[i]
	}
	ledgerURL := "http://" + addrs["ledger"]
	s.procs["ledger"] = &soakProc{name: "ledger", binary: binary, addr: addrs["ledger"], logDir: filepath.Join(dir, "logs"), started: 30 * time.Second,
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
		"inventory": {"--stock", "tea-earl-grey=1000000000", "--stock", "mug-blue=1000000000"},
		"order":     {"--config", cfgFile, "--contracts", filepath.Join(dir, "contracts")},
	}
	for _, role := range soakRoles {
		args := append([]string{"agent", "run", "--role", role, "--key", filepath.Join(keyDir, role+"-agent.pem"),
			"--listen", addrs[role], "--data", filepath.Join(dir, "agents", role)}, common...)
		s.procs[role] = &soakProc{name: role, binary: binary, addr: addrs[role], logDir: filepath.Join(dir, "logs"),
			started: 30 * time.Second, args: append(args, extra[role]...)}
		if err := s.procs[role].start(ctx); err != nil {
			return s, err
		}
	}
	return s, nil
}

// seed registers the four agents and the storefront with keys made here,
// issues soakContracts, and keeps every contract's proof: the order
// agent's in DIR/contracts for it to load, all of them in memory.
func (s *soakStack) seed(ctx context.Context, logDir, keyDir string) error {
	authKey, err := keyfile.Read(filepath.Join(logDir, server.FileAuthorityKey))
	if err != nil {
		return err
	}
	for _, p := range demoParties {
		id := fixture.NewIdentity(p.name)
		if err := keyfile.Write(filepath.Join(keyDir, p.name+".pem"), id.Key); err != nil {
			return err
		}
		raw, err := fixture.Registration(authKey, id, p.risk, time.Now())
		if err != nil {
			return err
		}
		if _, err := s.ledger.Append(ctx, raw); err != nil {
			return fmt.Errorf("register %s: %w", p.name, err)
		}
		s.ids[p.name] = id
	}
	for _, c := range soakContracts {
		raw, _, err := fixture.Contract(authKey, s.ids[c.caller].DID, s.ids[c.callee].DID, c.scopes, time.Now(), 24*time.Hour)
		if err != nil {
			return err
		}
		res, err := s.ledger.Append(ctx, raw)
		if err != nil {
			return fmt.Errorf("contract %s -> %s: %w", c.caller, c.callee, verified.ExplainRefusal(err))
		}
		_, b, err := verified.ProveAppended(ctx, s.ledger, s.verifier, res.Index, envelope.KindContract, raw, 10*time.Second)
		if err != nil {
			return fmt.Errorf("contract %s -> %s: %w", c.caller, c.callee, err)
		}
		s.bundles[c.caller+" -> "+c.callee] = b
		if c.caller == "order-agent" {
			if err := fileio.WriteAtomic(filepath.Join(s.dir, "contracts", c.callee+proofExt), b, 0o644); err != nil {
				return err
			}
		}
	}
	s.storefront = caller.New(s.ids["storefront"].Key, &http.Client{Timeout: 60 * time.Second}, nil)
	s.orderAgent = caller.New(s.ids["order-agent"].Key, &http.Client{Timeout: 60 * time.Second}, nil)
	for _, c := range []struct {
		client *caller.Client
		what   string
	}{{s.storefront, "storefront -> order-agent"}, {s.orderAgent, "order-agent -> payment-agent"}} {
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
func (s *soakStack) url(name string) string { return "http://" + s.procs[name].addr }

// stop ends every process, agents first.
func (s *soakStack) stop() {
	for i := len(soakRoles) - 1; i >= 0; i-- {
		if p := s.procs[soakRoles[i]]; p != nil {
			p.stop()
		}
	}
	if p := s.procs["ledger"]; p != nil {
		p.stop()
	}
}
