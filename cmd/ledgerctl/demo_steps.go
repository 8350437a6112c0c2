package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/server"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// demoParty is one registered identity of the demo.
type demoParty struct {
	name, risk string
}

var demoParties = []demoParty{
	{"order-agent", "low"}, {"inventory-agent", "medium"}, {"payment-agent", "high"},
	{"fulfillment-agent", "medium"}, {"storefront", "low"},
}

// demoContract is one of the seed's contracts.
type demoContract struct {
	caller, callee string
	scopes         []string
}

var demoContracts = []demoContract{
	{"order-agent", "inventory-agent", []string{"inventory:reserve", "inventory:release", "inventory:check"}},
	{"order-agent", "payment-agent", []string{"payment:charge:max_10000usd"}},
	{"order-agent", "fulfillment-agent", []string{"fulfillment:label", "fulfillment:notify"}},
	{"storefront", "order-agent", []string{"order:create"}},
}

const demoTTL = time.Hour

// demoEnv is the seed's world after its first step: a log served on
// loopback, the parties registered, and the seed's contracts issued.
type demoEnv struct {
	cl        *client.Client
	verifier  note.Verifier
	vkey      string
	authority fixture.Identity
	ids       map[string]fixture.Identity
	contracts map[string][]byte // "caller -> callee" -> contract entry
	cp        proofs.SignedCheckpoint
}

// setup runs steps 1 to 4 of the demo: create the log, serve it, register
// the parties and issue the seed's contracts. stop shuts the ledger down.
func (d *demo) setup(ctx context.Context, dir string) (env *demoEnv, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	stop = cancel
	defer func() {
		if err != nil {
			stop()
		}
	}()
	d.say("1. Create a log and its authority key")
	vkey, authorityDID, err := server.Init(dir, demoOrigin)
	if err != nil {
		return nil, stop, initHint(err)
	}
	d.report.LogKey = vkey
	d.say("   log key:   %s\n   authority: %s\n   data:      %s", vkey, authorityDID, dir)

	d.say("2. Serve it on loopback")
	addrFile := filepath.Join(dir, "demo.addr")
	served := make(chan error, 1)
	log, err := d.logger("ledger")
	if err != nil {
		return nil, stop, err
	}
	go func() {
		served <- serveHint(server.Run(ctx, server.Config{Dir: dir, Listen: "127.0.0.1:0", AddrFile: addrFile,
			CheckpointInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Limits: d.serveLimits(), Logger: log}), dir)
	}()
	stop = func() { cancel(); <-served }
	addr, err := waitForFile(ctx, addrFile, served)
	if err != nil {
		return nil, stop, err
	}
	env = &demoEnv{vkey: vkey, contracts: map[string][]byte{}}
	if env.cl, err = client.New("http://"+addr, nil); err != nil {
		return nil, stop, err
	}
	d.say("   ledger at http://%s", addr)
	if env.verifier, err = note.NewVerifier(vkey); err != nil {
		return nil, stop, err
	}
	authKey, err := keyfile.Read(filepath.Join(dir, server.FileAuthorityKey))
	if err != nil {
		return nil, stop, err
	}
	env.authority = fixture.FromKey("authority", authKey)

	d.say("3. The authority registers the four agents and the storefront")
	if env.ids, err = d.register(ctx, env.cl, env.authority, dir); err != nil {
		return nil, stop, err
	}

	d.say("4. The authority issues the seed's scoped contracts (ttl %v)", demoTTL)
	for _, c := range demoContracts {
		raw, id, err := fixture.Contract(env.authority.Key, env.ids[c.caller].DID, env.ids[c.callee].DID, c.scopes, time.Now(), demoTTL)
		if err != nil {
			return nil, stop, err
		}
		res, err := env.cl.Append(ctx, raw)
		what := c.caller + " -> " + c.callee
		d.expect("contract "+what, err == nil, describeAppend(res, err)+" "+strings.Join(c.scopes, " "))
		if err == nil {
			env.contracts[what] = raw
			d.report.Entries = append(d.report.Entries, demoEntry{What: "contract " + what, ID: id, Index: res.Index})
		}
	}
	if env.cp, err = verified.CheckpointCovering(ctx, env.cl, env.verifier, d.coveredSize(), 10*time.Second); err != nil {
		return nil, stop, err
	}
	return env, stop, nil
}

func (d *demo) run(ctx context.Context, dir string) error {
	env, stop, err := d.setup(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()
	cl, verifier, authority, ids, contracts, cp1 := env.cl, env.verifier, env.authority, env.ids, env.contracts, env.cp

	d.say("5. Writes the ledger must refuse")
	if err := d.refusals(ctx, cl, authority, ids); err != nil {
		return err
	}

	d.say("6. A contract's tlog-proof verifies offline")
	if err := d.offlineProof(ctx, cl, verifier, dir, cp1.Size); err != nil {
		return err
	}

	d.say("7. The four agents run, each behind its guard; the storefront places orders")
	stack, err := d.startAgents(ctx, cl, verifier, authority.DID, dir, ids, demoStock)
	if err != nil {
		return err
	}
	defer stack.stop()
	if err := d.placeOrders(ctx, stack, d.orders); err != nil {
		return err
	}

	d.say("8. The payment agent acts only within its contract, and records each approval first")
	if err := d.enforce(ctx, stack, cl, verifier, ids); err != nil {
		return err
	}
	if err := d.moreAttacks(ctx, stack, cl, verifier, authority, ids); err != nil {
		return err
	}

	d.say("9. Revoke the order -> payment contract; the ledger shows it revoked, and the agent refuses")
	revIndex, err := d.revoke(ctx, cl, verifier, authority, contracts["order-agent -> payment-agent"])
	if err != nil {
		return err
	}
	if revIndex != nil {
		if err := d.refusedAfterRevocation(ctx, stack, *revIndex); err != nil {
			return err
		}
	}

	d.say("10. The log only grew: a consistency proof between two checkpoints")
	cp2, err := verified.Checkpoint(ctx, cl, verifier)
	if err != nil {
		return err
	}
	p, err := cl.ConsistencyProof(ctx, cp1.Size, cp2.Size)
	if err == nil {
		err = proofs.VerifyConsistency(cp1, cp2, p)
	}
	d.expect(fmt.Sprintf("checkpoint %d is a prefix of checkpoint %d", cp1.Size, cp2.Size), err == nil,
		describeCheck(err, fmt.Sprintf("%d-hash proof verified", len(p))))

	d.say("\nEvery approval above is a signed action entry in the log; the receipts")
	d.say("verify with 'ledgerctl verify-inclusion --index N' against the kept log.")
	return d.finish()
}

// coveredSize is the tree size that covers every entry the demo has written.
func (d *demo) coveredSize() uint64 {
	var n uint64
	for _, e := range d.report.Entries {
		n = max(n, e.Index+1)
	}
	return n
}

// register registers every demo party with a key made here. With --data
// the keys are kept in DIR/agents, so nobody but this machine holds them.
func (d *demo) register(ctx context.Context, cl *client.Client, authority fixture.Identity, dir string) (map[string]fixture.Identity, error) {
	ids := map[string]fixture.Identity{}
	keyDir := filepath.Join(dir, "agents")
	if d.report.Kept {
		if err := os.MkdirAll(keyDir, 0o700); err != nil {
			return nil, err
		}
	}
	for _, p := range demoParties {
		id := fixture.NewIdentity(p.name)
		if d.report.Kept {
			if err := keyfile.Write(filepath.Join(keyDir, p.name+".pem"), id.Key); err != nil {
				return nil, err
			}
		}
		raw, err := fixture.Registration(authority.Key, id, p.risk, time.Now())
		if err != nil {
			return nil, err
		}
		res, err := cl.Append(ctx, raw)
		d.expect("register "+p.name, err == nil && !res.Duplicate, describeAppend(res, err)+" "+id.DID)
		if err == nil {
			ids[p.name] = id
			d.report.Entries = append(d.report.Entries, demoEntry{What: "registration " + p.name, ID: id.DID, Index: res.Index})
		}
	}
	if len(ids) != len(demoParties) {
		return nil, fmt.Errorf("registration failed; cannot go on")
	}
	return ids, nil
}

// refusals tries writes that break the rules and expects each refused
// with its reason.
func (d *demo) refusals(ctx context.Context, cl *client.Client, authority fixture.Identity, ids map[string]fixture.Identity) error {
	order, pay := ids["order-agent"], ids["payment-agent"]
	now := time.Now()
	try := func(name string, status int, code string, build func() ([]byte, error)) error {
		raw, err := build()
		if err != nil {
			return err
		}
		_, err = cl.Append(ctx, raw)
		d.expect(name, refusedWith(err, status, code), describeRefusal(err))
		return nil
	}
	steps := []struct {
		name   string
		status int
		code   string
		build  func() ([]byte, error)
	}{
		{"an agent cannot issue itself a refund contract", 403, "not_authority", func() ([]byte, error) {
			raw, _, err := fixture.Contract(order.Key, order.DID, pay.DID, []string{"payment:refund"}, now, demoTTL)
			return raw, err
		}},
		{"a changed entry fails its signature", 401, "bad_signature", func() ([]byte, error) {
			return swapPayload(authority.Key,
				`{"v":1,"note":"risk low"}`, `{"v":1,"note":"risk high"}`)
		}},
		{"a malformed entry", 400, "malformed_envelope", func() ([]byte, error) { return []byte(`{"hello":"world"}`), nil }},
		{"a second agent named payment-agent", 409, "name_taken", func() ([]byte, error) {
			return fixture.Registration(authority.Key, fixture.NewIdentity("payment-agent"), "low", now)
		}},
		{"a contract with an unregistered callee", 400, "unknown_audience", func() ([]byte, error) {
			raw, _, err := fixture.Contract(authority.Key, order.DID, fixture.NewIdentity("ghost").DID, []string{"payment:charge"}, now, demoTTL)
			return raw, err
		}},
		{"a contract whose scope has an unknown constraint", 400, "invalid_statement", func() ([]byte, error) {
			return contractWithScope(authority, order.DID, pay.DID, "payment:charge:max_10000xyz", now)
		}},
		{"an action from an unregistered key", 403, "unregistered_signer", func() ([]byte, error) {
			rogue := fixture.NewIdentity("rogue")
			return fixture.Action(rogue, fixture.ActionSpec{Caller: order.DID, Action: "payment:refund",
				Contract: statement.ContractRef{Index: 0, LeafHash: proofs.LeafHash([]byte("none"))},
				Body:     []byte(`{}`), Nonce: "demo-rogue-nonce-0001", Time: now})
		}},
	}
	for _, s := range steps {
		if err := try(s.name, s.status, s.code, s.build); err != nil {
			return err
		}
	}
	return nil
}

// offlineProof exports the order->payment contract's tlog-proof under the
// checkpoint of size, then verifies it with nothing but the log key.
func (d *demo) offlineProof(ctx context.Context, cl *client.Client, verifier note.Verifier, dir string, size uint64) error {
	entry := d.entry("contract order-agent -> payment-agent")
	raw, err := cl.Bundle(ctx, entry.Index, size)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "payment-contract.tlog-proof")
	if err := fileio.WriteAtomic(file, raw, 0o644); err != nil {
		return err
	}
	// From here on only the file and the log key are used.
	_, err = verify.ProveEntry(raw, verifier, verify.Want{Kind: envelope.KindContract})
	d.expect("offline proof of the order -> payment contract", err == nil, describeCheck(err, file+" verifies with only the log key"))
	if err != nil {
		return nil
	}
	b, err := proofs.ParseBundle(raw)
	if err != nil {
		return err
	}
	b.Extra[len(b.Extra)/2] ^= 1
	_, err = verify.ProveEntry(b.Marshal(), verifier, verify.Want{Kind: envelope.KindContract})
	d.expect("the same proof with one entry byte changed", err != nil, describeCheck(nilIfErr(err), "refused: the entry is not the one the checkpoint commits to"))
	return nil
}

// revoke revokes a contract and checks the ledger's answer about it: the
// revocation is reported with a proof that verifies.
func (d *demo) revoke(ctx context.Context, cl *client.Client, verifier note.Verifier, authority fixture.Identity, contract []byte) (*uint64, error) {
	env, err := envelope.Parse(contract)
	if err != nil {
		return nil, err
	}
	c, err := statement.ParseContract(env.Payload)
	if err != nil {
		return nil, err
	}
	raw, err := fixture.Revocation(authority.Key, proofs.LeafHash(contract), "demo: order-agent key rotated", time.Now())
	if err != nil {
		return nil, err
	}
	res, err := cl.Append(ctx, raw)
	d.expect("revoke the order -> payment contract", err == nil, describeAppend(res, err))
	if err != nil {
		return nil, nil
	}
	if _, err := verified.CheckpointCovering(ctx, cl, verifier, res.Index+1, 10*time.Second); err != nil {
		return nil, err
	}
	got, err := cl.Contract(ctx, c.ID)
	ok := err == nil && got.Revoked && len(got.Revocations) == 1 && got.Revocations[0].Index == res.Index
	if ok {
		var e *verify.ProvedEntry
		e, err = verify.ProveEntry([]byte(got.Revocations[0].Proof), verifier, verify.Want{Kind: envelope.KindRevocation, Signer: authority.DID})
		ok = err == nil && string(e.Entry) == string(raw)
	}
	d.expect("the ledger reports it revoked", ok, describeCheck(err, fmt.Sprintf("revoked at index %d, the revocation's proof verified", res.Index)))
	return &res.Index, nil
}

// contractWithScope hand-writes a contract statement with one scope, to
// show the ledger refusing what the statement package would not build.
func contractWithScope(authority fixture.Identity, caller, callee, scope string, now time.Time) ([]byte, error) {
	id, err := statement.NewContractID(rand.Reader)
	if err != nil {
		return nil, err
	}
	t := now.UTC().Format(time.RFC3339)
	payload := fmt.Sprintf(`{"v":1,"id":%q,"issuer":%q,"subject":%q,"audience":%q,"scopes":[%q],"not_before":%q,"expires":%q,"time":%q}`,
		id, authority.DID, caller, callee, scope, t, now.Add(demoTTL).UTC().Format(time.RFC3339), t)
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

// entry returns the demo entry described as what.
func (d *demo) entry(what string) demoEntry {
	for _, e := range d.report.Entries {
		if e.What == what {
			return e
		}
	}
	return demoEntry{}
}
