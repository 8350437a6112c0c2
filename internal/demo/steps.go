package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/identity"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// ttl is how long the demo's contracts are valid.
const ttl = time.Hour

func (s *story) run(ctx context.Context) error {
	s.say("1. Create a log and its authority key")
	log, err := s.logs.Logger("ledger")
	if err != nil {
		return err
	}
	l, err := stack.StartLedger(ctx, stack.LedgerConfig{Dir: s.cfg.Dir, Origin: stack.DefaultOrigin, Logger: log})
	if err != nil {
		return err
	}
	defer l.Stop()
	s.report.LogKey = l.VKey
	s.say("   log key:   %s\n   authority: %s\n   data:      %s", l.VKey, l.Authority.DID, s.cfg.Dir)
	s.say("2. Serve it on loopback")
	s.say("   ledger at %s", l.Client.URL())

	s.say("3. The authority registers the four agents and the storefront")
	w, err := l.Seed(ctx, stack.Grants(), ttl, s.cfg.Kept)
	if err != nil {
		return err
	}
	s.report.Entries = w.Written
	for _, e := range w.Written {
		if name, ok := strings.CutPrefix(e.What, "registration "); ok {
			s.expect("register "+name, true, fmt.Sprintf("index %d %s", e.Index, e.ID))
		}
	}
	s.say("4. The authority issues the seed's scoped contracts (ttl %v)", ttl)
	for _, g := range stack.Grants() {
		c := w.Contracts[g.What()]
		s.expect("contract "+g.What(), true, fmt.Sprintf("index %d %s", c.Index, strings.Join(c.Scopes, " ")))
	}
	cp1, err := verified.CheckpointCovering(ctx, l.Client, l.LogKey, w.CoveredSize(), 10*time.Second)
	if err != nil {
		return err
	}

	s.say("5. Writes the ledger must refuse")
	if err := s.refusals(ctx, l, w); err != nil {
		return err
	}

	s.say("6. A contract's tlog-proof verifies offline")
	if err := s.offlineProof(ctx, l, cp1.Size); err != nil {
		return err
	}

	s.say("7. The four agents run, each behind its guard; the storefront places orders")
	agents, err := stack.StartAgents(ctx, w, stack.AgentsConfig{Ledger: l.Client.URL(), Policy: l.Policy(), Dir: s.cfg.Dir, Logger: s.logs.Logger})
	if err != nil {
		return err
	}
	defer agents.Stop()
	a := &scene{story: s, l: l, w: w, agents: agents}
	if err := a.placeOrders(ctx, s.cfg.Orders); err != nil {
		return err
	}

	s.say("8. The payment agent acts only within its contract, and records each approval first")
	if err := a.enforce(ctx); err != nil {
		return err
	}
	if err := a.moreAttacks(ctx); err != nil {
		return err
	}

	s.say("9. Revoke the order -> payment contract; the ledger shows it revoked, and the agent refuses")
	revIndex, err := s.revoke(ctx, l, w.Contracts["order-agent -> payment-agent"].Entry)
	if err != nil {
		return err
	}
	if revIndex != nil {
		if err := a.refusedAfterRevocation(ctx, *revIndex); err != nil {
			return err
		}
	}

	s.say("10. The log only grew: a consistency proof between two checkpoints")
	cp2, err := verified.Checkpoint(ctx, l.Client, l.LogKey)
	if err != nil {
		return err
	}
	p, err := l.Client.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err == nil {
		err = proofs.VerifyConsistency(cp1, cp2, p)
	}
	s.expect(fmt.Sprintf("checkpoint %d is a prefix of checkpoint %d", cp1.Size, cp2.Size), err == nil,
		describeCheck(err, fmt.Sprintf("%d-hash proof verified", len(p))))

	s.say("\nEvery approval above is a signed action entry in the log; the receipts")
	s.say("verify with 'ledgerctl verify-inclusion --index N' against the kept log.")
	s.finish()
	return nil
}

// refusals tries writes that break the rules and expects each refused
// with its reason.
func (s *story) refusals(ctx context.Context, l *stack.Ledger, w *stack.World) error {
	authority, order, pay := l.Authority, w.IDs["order-agent"], w.IDs["payment-agent"]
	now := time.Now()
	stranger := func(name string) (identity.Identity, error) { return identity.New(name) }
	steps := []struct {
		name   string
		status int
		code   string
		build  func() ([]byte, error)
	}{
		{"an agent cannot issue itself a refund contract", 403, wire.ReasonNotAuthority, func() ([]byte, error) {
			raw, _, err := order.Contract(order.DID, pay.DID, []string{"payment:refund"}, now, ttl)
			return raw, err
		}},
		{"a changed entry fails its signature", 401, wire.ReasonBadSignature, func() ([]byte, error) {
			return swapPayload(authority.Key, `{"v":1,"note":"risk low"}`, `{"v":1,"note":"risk high"}`)
		}},
		{"a malformed entry", 400, wire.ReasonMalformedEnvelope, func() ([]byte, error) { return []byte(`{"hello":"world"}`), nil }},
		{"a second agent named payment-agent", 409, wire.ReasonNameTaken, func() ([]byte, error) {
			twin, err := stranger("payment-agent")
			if err != nil {
				return nil, err
			}
			return authority.Register(twin, "low", nil, now)
		}},
		{"a contract with an unregistered callee", 400, wire.ReasonUnknownAudience, func() ([]byte, error) {
			ghost, err := stranger("ghost")
			if err != nil {
				return nil, err
			}
			raw, _, err := authority.Contract(order.DID, ghost.DID, []string{"payment:charge"}, now, ttl)
			return raw, err
		}},
		{"a contract whose scope has an unknown constraint", 400, wire.ReasonInvalidStatement, func() ([]byte, error) {
			return contractWithScope(authority, order.DID, pay.DID, "payment:charge:max_10000xyz", now)
		}},
		{"an action from an unregistered key", 403, wire.ReasonUnregisteredSigner, func() ([]byte, error) {
			rogue, err := stranger("rogue")
			if err != nil {
				return nil, err
			}
			return rogue.Approve(identity.Approval{Caller: order.DID, Action: "payment:refund",
				Contract: statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash([]byte("none"))},
				Body:     []byte(`{}`), Nonce: "demo-rogue-nonce-0001", Time: now})
		}},
	}
	for _, st := range steps {
		raw, err := st.build()
		if err != nil {
			return err
		}
		_, err = l.Client.Append(ctx, raw)
		s.expect(st.name, refusedWith(err, st.status, st.code), describeRefusal(err))
	}
	return nil
}

// offlineProof exports the order->payment contract's tlog-proof under the
// checkpoint of size, then verifies it with nothing but the log key.
func (s *story) offlineProof(ctx context.Context, l *stack.Ledger, size uint64) error {
	entry := s.entry("contract order-agent -> payment-agent")
	raw, err := l.Client.Bundle(ctx, entry.Index, size)
	if err != nil {
		return err
	}
	file := filepath.Join(s.cfg.Dir, "payment-contract"+stack.ProofExt)
	if err := fileio.WriteAtomic(file, raw, 0o644); err != nil {
		return err
	}
	// From here on only the file and the log key are used.
	_, err = verify.ProveEntry(raw, l.LogKey, verify.Want{Kind: envelope.KindContract, Signer: l.Authority.DID})
	s.expect("offline proof of the order -> payment contract", err == nil, describeCheck(err, file+" verifies with only the log key"))
	if err != nil {
		return nil
	}
	b, err := proofs.ParseBundle(raw)
	if err != nil {
		return err
	}
	b.Extra[len(b.Extra)/2] ^= 1
	_, err = verify.ProveEntry(b.Marshal(), l.LogKey, verify.Want{Kind: envelope.KindContract})
	s.expect("the same proof with one entry byte changed", err != nil, describeCheck(nilIfErr(err), "refused: the entry is not the one the checkpoint commits to"))
	return nil
}

// revoke revokes a contract and checks the ledger's answer about it: the
// revocation is reported with a proof that verifies. It returns the
// revocation's index, or nil if the ledger refused it.
func (s *story) revoke(ctx context.Context, l *stack.Ledger, contract []byte) (*uint64, error) {
	env, err := envelope.Parse(contract)
	if err != nil {
		return nil, err
	}
	c, err := statement.ParseContract(env.Payload)
	if err != nil {
		return nil, err
	}
	raw, err := l.Authority.Revoke(proofs.LeafHash(contract), "demo: order-agent key rotated", time.Now())
	if err != nil {
		return nil, err
	}
	res, err := l.Client.Append(ctx, raw)
	s.expect("revoke the order -> payment contract", err == nil, describeAppend(res, err))
	if err != nil {
		return nil, nil
	}
	if _, err := verified.CheckpointCovering(ctx, l.Client, l.LogKey, res.Index+1, 10*time.Second); err != nil {
		return nil, err
	}
	got, err := l.Client.Contract(ctx, c.ID)
	ok := err == nil && got.Revoked && len(got.Revocations) == 1 && got.Revocations[0].Index == res.Index
	if ok {
		var e *verify.ProvedEntry
		e, err = verify.ProveEntry([]byte(got.Revocations[0].Proof), l.LogKey, verify.Want{Kind: envelope.KindRevocation, Signer: l.Authority.DID})
		ok = err == nil && string(e.Entry) == string(raw)
	}
	s.expect("the ledger reports it revoked", ok, describeCheck(err, fmt.Sprintf("revoked at index %d, the revocation's proof verified", res.Index)))
	return &res.Index, nil
}

// contractWithScope hand-writes a contract statement with one scope, to
// show the ledger refusing what the statement package would not build.
func contractWithScope(authority identity.Identity, caller, callee, scope string, now time.Time) ([]byte, error) {
	id, err := statement.NewContractID(rand.Reader)
	if err != nil {
		return nil, err
	}
	t := now.UTC().Format(time.RFC3339)
	payload := fmt.Sprintf(`{"v":1,"id":%q,"issuer":%q,"subject":%q,"audience":%q,"scopes":[%q],"not_before":%q,"expires":%q,"time":%q}`,
		id, authority.DID, caller, callee, scope, t, now.Add(ttl).UTC().Format(time.RFC3339), t)
	return envelope.Sign(envelope.KindContract, []byte(payload), authority.Key)
}

// swapPayload signs an envelope over original, then puts changed in its
// place: a well-formed envelope whose signature no longer matches.
func swapPayload(key ed25519.PrivateKey, original, changed string) ([]byte, error) {
	signed, err := envelope.Sign(envelope.KindRegistration, []byte(original), key)
	if err != nil {
		return nil, err
	}
	oldB64 := base64.StdEncoding.EncodeToString([]byte(original))
	newB64 := base64.StdEncoding.EncodeToString([]byte(changed))
	return []byte(strings.Replace(string(signed), oldB64, newB64, 1)), nil
}
