// Package roles mounts each agent role's business logic on a node, behind
// its guard: the paths, the actions they serve, and how each reads its
// constrained values. It is the one place that knows which role serves
// what.
//
//	payment      POST /v1/payment/charge      payment:charge
//	             POST /v1/payment/refund      payment:refund
//	             POST /v1/payment/reconcile   payment:reconcile
//	inventory    POST /v1/inventory/check     inventory:check
//	             POST /v1/inventory/reserve   inventory:reserve
//	             POST /v1/inventory/consume   inventory:consume
//	             POST /v1/inventory/release   inventory:release
//	             POST /v1/inventory/restock   inventory:restock
//	fulfillment  POST /v1/fulfillment/label   fulfillment:label
//	             POST /v1/fulfillment/notify  fulfillment:notify
//	order        POST /v1/orders              order:create
//	             GET  /v1/orders/{id}         order:create (the creator only)
package roles

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentledger/agentledger/agents/fulfillment"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/inventory"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/agents/order"
	"github.com/agentledger/agentledger/agents/payment"
	"github.com/agentledger/agentledger/agents/receipt"
)

// Role names an agent's role.
type Role string

// The roles.
const (
	Order       Role = "order"
	Inventory   Role = "inventory"
	Payment     Role = "payment"
	Fulfillment Role = "fulfillment"
)

// Serves lists the actions role serves, sorted: what its agent's
// registration declares (statement.Registration.Serves), so that no
// contract at it can grant anything else. Mount protects exactly these.
func Serves(role Role) []string {
	switch role {
	case Payment:
		return []string{payment.ActionCharge, ActionReconcile, payment.ActionRefund}
	case Inventory:
		return []string{inventory.ActionCheck, inventory.ActionConsume, inventory.ActionRelease, inventory.ActionReserve, inventory.ActionRestock}
	case Fulfillment:
		return []string{fulfillment.ActionLabel, fulfillment.ActionNotify}
	case Order:
		return []string{order.ActionCreate}
	}
	return nil
}

// ActionReconcile is the payment agent's comparison of its records with
// the log.
const ActionReconcile = "payment:reconcile"

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Order, Inventory, Payment, Fulfillment:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: want order, inventory, payment or fulfillment", s)
}

// Config holds each role's own settings; zero values are the roles'
// defaults.
type Config struct {
	Inventory   inventory.Config
	Fulfillment fulfillment.Config
	// Order must name the other agents' URLs and DIDs.
	Order order.Config
	// Processor is the payment processor (default: the simulated one).
	Processor payment.Processor
}

// Mount mounts role's handlers on n. The returned function runs the
// role's background work (such as expiring reservations) until ctx ends;
// call it in its own goroutine.
func Mount(n *node.Node, role Role, cfg Config) (func(ctx context.Context), error) {
	idle := func(context.Context) {}
	// A service logs to the node's log unless told otherwise.
	for _, l := range []**zerolog.Logger{&cfg.Order.Logger, &cfg.Inventory.Logger, &cfg.Fulfillment.Logger} {
		if *l == nil {
			*l = &n.Logger
		}
	}
	switch role {
	case Payment:
		p := cfg.Processor
		if p == nil {
			p = payment.NewSimulated()
		}
		svc, err := payment.New(payment.Options{Store: payment.NewStore(n.DB), Processor: p, DID: n.DID})
		if err != nil {
			return nil, err
		}
		n.Mux.Handle("POST /v1/payment/charge", n.Guard.Protect(payment.ActionCharge, payment.ChargeValues, svc.ChargeHandler()))
		n.Mux.Handle("POST /v1/payment/refund", n.Guard.ProtectBound(payment.ActionRefund, payment.RefundValues, svc.RefundBind, svc.RefundHandler()))
		n.Mux.Handle("POST /v1/payment/reconcile", n.Guard.Protect(ActionReconcile, guard.NoValues, reconcile(n, svc)))
		return idle, nil
	case Inventory:
		rec := receipt.NewWriter(n.Key(), n.Ledger, 5*time.Second)
		if cfg.Inventory.Grants == nil {
			cfg.Inventory.Grants = n.Caller // its standing grant, if it holds one
		}
		svc, err := inventory.NewService(n.DB, rec, cfg.Inventory)
		if err != nil {
			return nil, err
		}
		svc.Mount(n.Mux, n.Guard)
		return func(ctx context.Context) { _ = svc.Run(ctx, time.Second) }, nil
	case Fulfillment:
		svc, err := fulfillment.NewService(n.DB, cfg.Fulfillment)
		if err != nil {
			return nil, err
		}
		svc.Mount(n.Mux, n.Guard)
		return idle, nil
	case Order:
		svc, err := order.New(n.DB, n.Caller, cfg.Order)
		if err != nil {
			return nil, err
		}
		svc.Mount(n.Mux, n.Guard)
		return idle, nil
	}
	return nil, fmt.Errorf("unknown role %q", role)
}

// reconcile answers payment:reconcile with the payment agent's comparison
// of its own records against its action entries, up to its verified view
// of the log.
func reconcile(n *node.Node, svc *payment.Service) guard.Handler {
	return func(w http.ResponseWriter, r *http.Request, _ *guard.Approval) {
		cp := n.Follower.Checkpoint()
		report := svc.ReconcileLedger(r.Context(), n.Ledger, cp.Checkpoint)
		w.Header().Set("Content-Type", "application/json")
		if report.Err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(report)
	}
}
