package stack

import (
	"context"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/roles"
	"github.com/agentledger/agentledger/verify"
)

// Stock is the inventory the seed's stack starts with.
func Stock() map[string]int64 {
	return map[string]int64{"tea-earl-grey": 500, "mug-blue": 200, "digital-gift-card": 1000000}
}

// AgentsConfig says how to run the four agents of a World.
type AgentsConfig struct {
	// Ledger is the ledger's base URL.
	Ledger string
	// Policy is what every agent trusts: the log key and the authority.
	Policy verify.TrustPolicy
	// Dir holds each agent's own store, in Dir/agents/NAME.data.
	Dir string
	// Stock seeds the inventory agent. Default Stock().
	Stock map[string]int64
	// Refresh is how often each agent refreshes its view of the log.
	// Default 50ms.
	Refresh time.Duration
	// Logger returns the log of the agent named name. Default none.
	Logger func(name string) (zerolog.Logger, error)
}

// Agents are the inventory, payment, fulfillment and order agents of a
// World, each its own node on loopback with its own key, store, view of
// the log and guard, and the storefront's signed client.
type Agents struct {
	URLs       map[string]string // role -> base URL
	Nodes      map[string]*node.Node
	Storefront *caller.Client // holds the storefront -> order-agent contract
	stops      []func()
}

// StartAgents starts the four agents of w. The order agent holds the
// seed's contracts at the three others; Stop ends them.
func StartAgents(ctx context.Context, w *World, cfg AgentsConfig) (*Agents, error) {
	if cfg.Stock == nil {
		cfg.Stock = Stock()
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 50 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = func(string) (zerolog.Logger, error) { return zerolog.Nop(), nil }
	}
	a := &Agents{URLs: map[string]string{}, Nodes: map[string]*node.Node{}}
	fail := func(err error) (*Agents, error) { a.Stop(); return nil, err }
	start := func(role roles.Role, name string, rc roles.Config, contracts ...[]byte) error {
		log, err := cfg.Logger(name)
		if err != nil {
			return err
		}
		ag, err := roles.Start(ctx, node.Config{Key: w.IDs[name].Key, Ledger: cfg.Ledger, Policy: cfg.Policy,
			DataDir: filepath.Join(cfg.Dir, "agents", name+".data"), Listen: "127.0.0.1:0",
			Logger: log, Refresh: cfg.Refresh, Contract: contracts}, role, rc)
		if err != nil {
			return err
		}
		a.URLs[string(role)] = "http://" + ag.Addr
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = ag.Run(runCtx); close(done) }()
		a.Nodes[string(role)] = ag.Node
		a.stops = append(a.stops, func() { cancel(); <-done })
		return nil
	}
	standing := w.Contracts["inventory-agent -> inventory-agent"].Proof
	if err := start(roles.Inventory, "inventory-agent", roles.Config{Inventory: inventory.Config{Seed: cfg.Stock}}, standing); err != nil {
		return fail(err)
	}
	if err := start(roles.Payment, "payment-agent", roles.Config{}); err != nil {
		return fail(err)
	}
	if err := start(roles.Fulfillment, "fulfillment-agent", roles.Config{}); err != nil {
		return fail(err)
	}
	oc := order.Config{InventoryURL: a.URLs["inventory"], InventoryDID: w.IDs["inventory-agent"].DID,
		PaymentURL: a.URLs["payment"], PaymentDID: w.IDs["payment-agent"].DID,
		FulfillmentURL: a.URLs["fulfillment"], FulfillmentDID: w.IDs["fulfillment-agent"].DID}
	var held [][]byte
	for _, callee := range []string{"inventory-agent", "payment-agent", "fulfillment-agent"} {
		held = append(held, w.Contracts["order-agent -> "+callee].Proof)
	}
	if err := start(roles.Order, "order-agent", roles.Config{Order: oc}, held...); err != nil {
		return fail(err)
	}
	a.Storefront = caller.New(w.IDs["storefront"].Key, nil, nil)
	k, err := caller.ParseContract(w.Contracts["storefront -> order-agent"].Proof)
	if err == nil {
		err = a.Storefront.Add(k)
	}
	if err != nil {
		return fail(err)
	}
	return a, nil
}

// Stop ends the agents, the order agent first.
func (a *Agents) Stop() {
	for i := len(a.stops) - 1; i >= 0; i-- {
		a.stops[i]()
	}
}
