package verified_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// fakeLog is a three-entry log (a registration, a contract, a revocation
// of it) with a signed checkpoint, for answers a lying ledger might give.
type fakeLog struct {
	v                            note.Verifier
	authorityKey                 ed25519.PrivateKey
	authority, agent, otherAgent string
	entries                      [3][]byte
	proofs                       [3]string
	reg                          statement.Registration
	contract                     statement.Contract
	contractLeaf                 proofs.Hash
	rev                          statement.Revocation
}

func newFakeLog(t *testing.T) *fakeLog {
	t.Helper()
	const origin = "test.example/fake"
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLog{v: v}
	f.authorityKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	f.authority = did.FromPublicKey(f.authorityKey.Public().(ed25519.PublicKey))
	f.agent = did.FromPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey))
	f.otherAgent = did.FromPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey))
	now := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)

	f.reg = statement.Registration{Name: "order-agent", DID: f.agent, Risk: "low", Time: now}
	f.entries[0] = f.sign(t, envelope.KindRegistration, &f.reg, f.authorityKey)
	f.contract = statement.Contract{ID: "0123456789abcdef0123456789abcdef", Issuer: f.authority, Subject: f.agent, Audience: f.otherAgent,
		Scopes: []string{"payment:charge:max_10000usd"}, NotBefore: now, Expires: now.Add(time.Hour), Time: now}
	f.entries[1] = f.sign(t, envelope.KindContract, &f.contract, f.authorityKey)
	f.contractLeaf = proofs.LeafHash(f.entries[1])
	f.rev = statement.Revocation{Contract: f.contractLeaf, Reason: "compromised", Time: now.Add(time.Minute)}
	f.entries[2] = f.sign(t, envelope.KindRevocation, &f.rev, f.authorityKey)

	l0, l1, l2 := proofs.LeafHash(f.entries[0]), proofs.LeafHash(f.entries[1]), proofs.LeafHash(f.entries[2])
	l01 := proofs.NodeHash(l0, l1)
	cp, err := proofs.SignCheckpoint(proofs.Checkpoint{Origin: origin, Size: 3, Root: proofs.NodeHash(l01, l2)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	paths := [3]proofs.InclusionProof{{l1, l2}, {l0, l2}, {l01}}
	for i := range f.entries {
		f.proofs[i] = string(proofs.Bundle{Index: uint64(i), Proof: paths[i], Extra: f.entries[i], Checkpoint: cp}.Marshal())
	}
	return f
}

func (f *fakeLog) sign(t *testing.T, kind envelope.Kind, st interface{ Marshal() ([]byte, error) }, key ed25519.PrivateKey) []byte {
	t.Helper()
	p, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Sign(kind, p, key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (f *fakeLog) agentClaim() wire.Agent {
	return wire.Agent{Name: f.reg.Name, DID: f.reg.DID, Risk: f.reg.Risk, Time: f.reg.Time, Index: 0, Proof: f.proofs[0], CheckedSize: 3}
}

func (f *fakeLog) contractClaim() wire.Contract {
	c := f.contract
	return wire.Contract{ID: c.ID, Index: 1, LeafHash: f.contractLeaf.String(), Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience,
		Scopes: c.Scopes, NotBefore: c.NotBefore, Expires: c.Expires, Time: c.Time, Proof: f.proofs[1], Revoked: true,
		Revocations: []wire.Revocation{{Index: 2, Signer: f.authority, Reason: f.rev.Reason, Time: f.rev.Time, Proof: f.proofs[2]}},
		CheckedSize: 3}
}

func TestVerifyAgent(t *testing.T) {
	f := newFakeLog(t)
	for _, authority := range []string{"", f.authority} {
		a, err := verified.VerifyAgent(f.agentClaim(), f.v, authority)
		if err != nil {
			t.Fatalf("authority %q: %v", authority, err)
		}
		if a.Name != "order-agent" || a.DID != f.agent || a.Signer != f.authority || a.Checkpoint.Size != 3 {
			t.Errorf("verified %+v", a)
		}
	}
	for _, tc := range []struct {
		name      string
		change    func(*wire.Agent)
		authority string
		want      string
	}{
		{"name", func(a *wire.Agent) { a.Name = "payment-agent" }, "", `name: the ledger claims "payment-agent", the signed entry says "order-agent"`},
		{"did", func(a *wire.Agent) { a.DID = f.otherAgent }, "", "did: the ledger claims"},
		{"risk", func(a *wire.Agent) { a.Risk = "high" }, "", "risk: the ledger claims"},
		{"time", func(a *wire.Agent) { a.Time = a.Time.Add(time.Second) }, "", "time: the ledger claims"},
		{"index", func(a *wire.Agent) { a.Index = 1 }, "", "the ledger claims index 1, its proof is of entry 0"},
		{"checked size", func(a *wire.Agent) { a.CheckedSize = 4 }, "", "the ledger claims tree size 4, its proof is under tree size 3"},
		{"another entry's proof", func(a *wire.Agent) { a.Proof, a.Index = f.proofs[1], 1 }, "", "the proved entry 1 is a contract, not a registration"},
		{"no proof", func(a *wire.Agent) { a.Proof = "" }, "", "the ledger sent no proof"},
		{"garbage proof", func(a *wire.Agent) { a.Proof = "hello" }, "", "malformed tlog-proof"},
		{"changed entry", func(a *wire.Agent) { a.Proof = strings.Replace(a.Proof, "extra eyJ", "extra eyK", 1) }, "", "the ledger's proof does not verify"},
		{"other authority", func(*wire.Agent) {}, f.agent, "is signed by " + f.authority + ", not by the authority " + f.agent},
	} {
		a := f.agentClaim()
		tc.change(&a)
		_, err := verified.VerifyAgent(a, f.v, tc.authority)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestVerifyContract(t *testing.T) {
	f := newFakeLog(t)
	c, err := verified.VerifyContract(f.contractClaim(), f.v, f.authority)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != f.contract.ID || c.LeafHash != f.contractLeaf || len(c.Revocations) != 1 || c.Revocations[0].Reason != "compromised" {
		t.Errorf("verified %+v", c)
	}
	for _, tc := range []struct {
		name      string
		change    func(*wire.Contract)
		authority string
		want      string
	}{
		{"scopes", func(c *wire.Contract) { c.Scopes = []string{"payment:charge"} }, "", "scopes: the ledger claims"},
		{"audience", func(c *wire.Contract) { c.Audience = f.agent }, "", "audience: the ledger claims"},
		{"expires", func(c *wire.Contract) { c.Expires = c.Expires.Add(time.Hour) }, "", "expires: the ledger claims"},
		{"id", func(c *wire.Contract) { c.ID = "ffffffffffffffffffffffffffffffff" }, "", "id: the ledger claims"},
		{"leaf hash", func(c *wire.Contract) { c.LeafHash = proofs.LeafHash(nil).String() }, "", "leaf_hash: the ledger claims"},
		{"revoked without a revocation", func(c *wire.Contract) { c.Revocations = nil }, "", "revoked: the ledger claims true"},
		{"revocation reason", func(c *wire.Contract) { c.Revocations[0].Reason = "expired" }, "", `reason: the ledger claims "expired"`},
		{"revocation signer", func(c *wire.Contract) { c.Revocations[0].Signer = f.agent }, "", "signer: the ledger claims"},
		{"revocation index", func(c *wire.Contract) { c.Revocations[0].Index = 1 }, "", "the ledger claims index 1, its proof is of entry 2"},
		{"registration as revocation", func(c *wire.Contract) { c.Revocations[0].Proof, c.Revocations[0].Index = f.proofs[0], 0 }, "",
			"the proved entry 0 is a registration, not a revocation"},
		{"other authority", func(*wire.Contract) {}, f.agent, "is signed by " + f.authority + ", not by the authority"},
	} {
		c := f.contractClaim()
		tc.change(&c)
		_, err := verified.VerifyContract(c, f.v, tc.authority)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
