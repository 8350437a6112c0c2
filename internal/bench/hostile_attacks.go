package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentledger/agentledger/agents/caller"
	"github.com/agentledger/agentledger/agents/guard"
	"github.com/agentledger/agentledger/agents/httpsig"
	"github.com/agentledger/agentledger/agents/node"
	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/internal/testkit/attack"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/httpapi"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
)

// hostileTargets is what the hostile benchmark measures and attacks: the
// ledger and the inventory agent of the seed's stack.
type hostileTargets struct {
	ledgerURL, agentURL   string // base URLs
	ledgerAddr, agentAddr string // host:port
	cl                    *client.Client
	order                 *caller.Client // the order agent's signed client
	inventoryDID          string
	check                 caller.Contract // order -> inventory, for inventory:check
	storefront            identity.Identity
	// recorder and spammer are registered agents that serve
	// inventory:check, each with a contract from the order agent, so the
	// ledger takes their action entries (within their rate).
	recorder, spammer       identity.Identity
	recorderRef, spammerRef statement.ContractRef
	rogue                   identity.Identity // registered nowhere
	orderDID                string
	honestN, spamN          atomic.Int64
	attackHC                *http.Client
}

func newHostileTargets(ctx context.Context, s *stack.Stack) (*hostileTargets, error) {
	ids := s.World.IDs
	t := &hostileTargets{ledgerURL: s.Ledger.Client.URL(), agentURL: s.Agents.URLs["inventory"], cl: s.Ledger.Client,
		order: s.Agents.Nodes["order"].Caller, inventoryDID: s.Agents.Nodes["inventory"].DID,
		storefront: ids["storefront"], orderDID: ids["order-agent"].DID,
		attackHC: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	strangers, err := identity.NewMany("bench-recorder", "spammer", "rogue")
	if err != nil {
		return nil, err
	}
	t.recorder, t.spammer, t.rogue = strangers[0], strangers[1], strangers[2]
	for _, u := range []struct {
		raw  string
		addr *string
	}{{t.ledgerURL, &t.ledgerAddr}, {t.agentURL, &t.agentAddr}} {
		p, err := url.Parse(u.raw)
		if err != nil {
			return nil, err
		}
		*u.addr = p.Host
	}
	if t.check, err = t.order.Pick(t.inventoryDID, "inventory:check"); err != nil {
		return nil, err
	}
	if t.recorderRef, err = t.recordingAgent(ctx, s.Ledger.Authority, t.recorder); err != nil {
		return nil, fmt.Errorf("registering the honest recording agent: %w", err)
	}
	if t.spammerRef, err = t.recordingAgent(ctx, s.Ledger.Authority, t.spammer); err != nil {
		return nil, fmt.Errorf("registering the spamming agent: %w", err)
	}
	// The first call delivers the contract to the agent.
	if err := t.honestCall(ctx); err != nil {
		return nil, fmt.Errorf("first honest call: %w", err)
	}
	return t, nil
}

// honestCall is one signed inventory:check by the order agent.
func (t *hostileTargets) honestCall(ctx context.Context) error {
	resp, err := t.order.Call(ctx, http.MethodPost, t.agentURL+"/v1/inventory/check", t.inventoryDID, "inventory:check", []byte(`{"sku":"tea-earl-grey"}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %d", errNotServed, resp.StatusCode)
	}
	return nil
}

// recordingAgent registers agent, serving inventory:check, and issues it
// a contract from the order agent: what the ledger needs to take agent's
// action entries. It returns the contract's reference.
func (t *hostileTargets) recordingAgent(ctx context.Context, authority, agent identity.Identity) (statement.ContractRef, error) {
	raw, err := authority.Register(agent, "low", []string{"inventory:check"}, time.Now())
	if err != nil {
		return statement.ContractRef{}, err
	}
	if _, err := t.cl.Append(ctx, raw); err != nil {
		return statement.ContractRef{}, err
	}
	raw, _, err = authority.Contract(t.orderDID, agent.DID, []string{"inventory:check"}, time.Now().Add(-time.Minute), 24*time.Hour)
	if err != nil {
		return statement.ContractRef{}, err
	}
	res, err := t.cl.Append(ctx, raw)
	if err != nil {
		return statement.ContractRef{}, err
	}
	return statement.ContractRef{Index: res.Index, LeafHash: res.LeafHash}, nil
}

// honestAppend is one action entry appended by a registered agent within
// its rate.
func (t *hostileTargets) honestAppend(ctx context.Context) error {
	raw, err := nthAction(t.recorder, t.orderDID, t.recorderRef, int(t.honestN.Add(1)))
	if err != nil {
		return err
	}
	_, err = t.cl.Append(ctx, raw)
	return err
}

// overBy is how far the oversized requests go over a limit: enough to be
// refused (net/http allows 4 KiB of slack on headers), no more, so that
// the attackers, which share the cores, spend little writing them.
const overBy = 8 << 10

// hostileAttack is one phase's attack; nil is the quiet phase.
type hostileAttack struct {
	name   string
	attack func(ctx context.Context, tally *attack.Tally)
}

func (t *hostileTargets) phases(o HostileOptions) []hostileAttack {
	half := o.Attackers / 2
	// both runs f against each server with half the attackers.
	both := func(f func(ctx context.Context, addr, path string, maxHeader int) func(tally *attack.Tally)) func(context.Context, *attack.Tally) {
		return func(ctx context.Context, tally *attack.Tally) {
			var wg sync.WaitGroup
			wg.Go(func() {
				attack.Loop(ctx, half, func(ctx context.Context) { f(ctx, t.ledgerAddr, "/v1/entries", httpapi.MaxHeaderBytes)(tally) })
			})
			wg.Go(func() {
				attack.Loop(ctx, half, func(ctx context.Context) { f(ctx, t.agentAddr, "/v1/inventory/check", node.MaxHeaderBytes)(tally) })
			})
			wg.Wait()
		}
	}
	var n atomic.Int64
	return []hostileAttack{
		{"quiet", nil},
		{"slow-headers", both(func(ctx context.Context, addr, _ string, _ int) func(*attack.Tally) {
			return func(tally *attack.Tally) { tally.Held(attack.SlowHeaders(ctx, addr, 100*time.Millisecond)) }
		})},
		{"slow-body", both(func(ctx context.Context, addr, path string, _ int) func(*attack.Tally) {
			return func(tally *attack.Tally) { tally.Held(attack.SlowBody(ctx, addr, path, 100*time.Millisecond)) }
		})},
		{"oversized", both(func(ctx context.Context, addr, path string, maxHeader int) func(*attack.Tally) {
			return func(tally *attack.Tally) {
				switch n.Add(1) % 3 {
				case 0:
					tally.Status(attack.BigHeaders(ctx, addr, "/healthz", maxHeader+overBy))
				case 1:
					tally.Status(attack.BigBody(ctx, addr, path, guard.DefaultMaxBody+overBy, true))
				default:
					tally.Status(attack.BigBody(ctx, addr, path, guard.DefaultMaxBody+overBy, false))
				}
			}
		})},
		{"idle", func(ctx context.Context, tally *attack.Tally) {
			var wg sync.WaitGroup
			for i := range 2 * o.Idle {
				addr := t.ledgerAddr
				if i%2 == 1 {
					addr = t.agentAddr
				}
				wg.Go(func() { attack.HoldIdle(ctx, addr, tally) })
			}
			wg.Wait()
		}},
		{"bad-signatures", t.badSignatures(half)},
		{"append-spam", func(ctx context.Context, tally *attack.Tally) {
			attack.Loop(ctx, o.Attackers, func(ctx context.Context) {
				raw, err := nthAction(t.spammer, t.orderDID, t.spammerRef, int(t.spamN.Add(1)))
				if err != nil {
					tally.Add("error")
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.ledgerURL+"/v1/entries", bytes.NewReader(raw))
				attack.Send(t.attackHC, req, tally)
			})
		}},
	}
}

// badSignatures floods both servers with requests whose signatures fail:
// malformed ones, and forged ones that cost the server an Ed25519
// verification; the ledger also gets actions from an unregistered key.
func (t *hostileTargets) badSignatures(workers int) func(context.Context, *attack.Tally) {
	return func(ctx context.Context, tally *attack.Tally) {
		// A signed request whose signature is then replaced: the shape is
		// right, the time window too, only Ed25519 says no.
		body := []byte(`{"sku":"tea-earl-grey"}`)
		template, err := t.order.NewRequest(ctx, http.MethodPost, t.agentURL+"/v1/inventory/check", t.check, body)
		if err != nil {
			tally.Add("error")
			return
		}
		template.Header.Set(httpsig.HeaderSignature, "sig1=:"+strings.Repeat("A", 86)+"==:")
		// The contract is made up: neither entry gets as far as the
		// write rules that would refuse it.
		none := statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash([]byte("contract"))}
		forgedEntry, err := nthAction(t.rogue, t.orderDID, none, 1)
		if err != nil {
			tally.Add("error")
			return
		}
		forgedEntry = bytes.ReplaceAll(forgedEntry, []byte(t.rogue.DID), []byte(t.storefront.DID))
		unregistered, _ := nthAction(t.rogue, t.orderDID, none, 2)
		ledgerBodies := [][]byte{[]byte(`{"payloadType":`), unregistered, forgedEntry}
		var n atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			attack.Loop(ctx, workers, func(ctx context.Context) {
				b := ledgerBodies[n.Add(1)%int64(len(ledgerBodies))]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.ledgerURL+"/v1/entries", bytes.NewReader(b))
				attack.Send(t.attackHC, req, tally)
			})
		})
		wg.Go(func() {
			attack.Loop(ctx, workers, func(ctx context.Context) {
				req := template.Clone(ctx)
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
				if n.Add(1)%2 == 0 {
					req.Header.Set(httpsig.HeaderSignatureInput, "sig1=(")
				}
				attack.Send(t.attackHC, req, tally)
			})
		})
		wg.Wait()
	}
}

// nthAction is agent's n-th approval of an inventory:check by caller
// under contract: a valid action entry, distinct for each n.
func nthAction(agent identity.Identity, caller string, contract statement.ContractRef, n int) ([]byte, error) {
	return agent.Approve(identity.Approval{Caller: caller, Contract: contract,
		Action: "inventory:check", Body: []byte(`{}`), Nonce: fmt.Sprintf("nonce-%016d", n), Time: time.Now()})
}
