package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify"
)

// The ledger's registry answers (GET /v1/agents, /v1/contracts) are claims:
// a name, a DID, scopes, a revocation status. Each claim comes with the
// tlog-proof of the entry it is read from. Nothing here trusts a claim
// until that proof verifies under the log key and the signed entry it
// carries says exactly what the claim says.

// distrustHint follows every mismatch between a ledger's claim and its
// own proof.
const distrustHint = "the ledger's answer does not match the signed entry it proves; do not rely on this ledger's answer"

// proveEntry proves the tlog-proof text the ledger sent for the entry it
// claims is at index, under the checkpoint of tree size checked: it is a
// proof of an entry of kind (verify.ProveEntry), for that index and tree
// size. what names the entry in errors.
func proveEntry(what, proofText string, v note.Verifier, index, checked uint64, kind envelope.Kind) (*verify.ProvedEntry, error) {
	if proofText == "" {
		return nil, withHint(fmt.Errorf("%s: the ledger sent no proof", what), distrustHint)
	}
	e, err := verify.ProveEntry([]byte(proofText), v, verify.Want{Kind: kind})
	if err != nil {
		return nil, explainProof(what, err)
	}
	if e.Index != index {
		return nil, withHint(fmt.Errorf("%s: the ledger claims index %d, its proof is of entry %d", what, index, e.Index), distrustHint)
	}
	if e.Checkpoint.Size != checked {
		return nil, withHint(fmt.Errorf("%s: the ledger claims tree size %d, its proof is under tree size %d", what, checked, e.Checkpoint.Size), distrustHint)
	}
	return e, nil
}

// fetchProved is verify.FetchProved from the ledger at cl, with the CLI's
// words for what went wrong.
func fetchProved(ctx context.Context, cl *client.Client, v note.Verifier, index, size uint64, want verify.Want) (*verify.ProvedEntry, []byte, error) {
	e, raw, err := verify.FetchProved(ctx, cl, index, size, v, want)
	if err != nil {
		return nil, nil, explainProof(fmt.Sprintf("entry %d", index), err)
	}
	return e, raw, nil
}

// explainProof says what failed in proving what, and what to check.
func explainProof(what string, err error) error {
	var api *client.APIError
	switch {
	case errors.Is(err, verify.ErrProofNotVerified):
		return withHint(fmt.Errorf("%s: the ledger's %w", what, err), "is --log-key the verifier key of this ledger (its DIR/log.pub)?")
	case errors.Is(err, verify.ErrMalformedProof), errors.Is(err, verify.ErrBadEntry), errors.Is(err, verify.ErrWrongKind),
		errors.Is(err, verify.ErrWrongSigner), errors.Is(err, verify.ErrOtherProof):
		return withHint(fmt.Errorf("%s: %w", what, err), distrustHint)
	case errors.As(err, &api) && api.Status == 404:
		return err
	}
	return withHint(err, "is the ledger running at --ledger?")
}

// mismatches collects the fields in which a claim differs from a signed
// statement.
type mismatches []string

func (m *mismatches) check(field string, claimed, signed any, equal bool) {
	if !equal {
		*m = append(*m, fmt.Sprintf("%s: the ledger claims %v, the signed entry says %v", field, claimed, signed))
	}
}

func (m *mismatches) str(field, claimed, signed string) {
	m.check(field, fmt.Sprintf("%q", claimed), fmt.Sprintf("%q", signed), claimed == signed)
}

func (m *mismatches) time(field string, claimed, signed time.Time) {
	m.check(field, claimed.UTC().Format(time.RFC3339Nano), signed.UTC().Format(time.RFC3339Nano), claimed.Equal(signed))
}

func (m mismatches) err(what string) error {
	if len(m) == 0 {
		return nil
	}
	return withHint(fmt.Errorf("%s: %s", what, strings.Join(m, "; ")), distrustHint)
}

// A verifiedAgent is a registration the ledger reported and its proof
// established.
type verifiedAgent struct {
	Name, DID, Risk string
	Time            time.Time
	Index           uint64
	Signer          string
	Checkpoint      proofs.SignedCheckpoint
}

// verifyAgent checks a's proof and that the registration it proves is the
// one claimed; with authority set, that the authority signed it.
func verifyAgent(a wire.Agent, v note.Verifier, authority string) (verifiedAgent, error) {
	what := fmt.Sprintf("agent %q", a.Name)
	e, err := proveEntry(what, a.Proof, v, a.Index, a.CheckedSize, envelope.KindRegistration)
	if err != nil {
		return verifiedAgent{}, err
	}
	reg := e.Statement.(*statement.Registration)
	var m mismatches
	m.str("name", a.Name, reg.Name)
	m.str("did", a.DID, reg.DID)
	m.str("risk", a.Risk, reg.Risk)
	m.time("time", a.Time, reg.Time)
	if err := m.err(what); err != nil {
		return verifiedAgent{}, err
	}
	if authority != "" && e.Envelope.KeyID != authority {
		return verifiedAgent{}, withHint(
			fmt.Errorf("%s: the registration at index %d is signed by %s, not by the authority %s", what, a.Index, e.Envelope.KeyID, authority),
			"is the authority given the one of this ledger (its DIR/authority.did)?")
	}
	return verifiedAgent{Name: reg.Name, DID: reg.DID, Risk: reg.Risk, Time: reg.Time, Index: e.Index,
		Signer: e.Envelope.KeyID, Checkpoint: e.Checkpoint}, nil
}

// A verifiedContract is a contract the ledger reported, with the
// revocations it reported, all established by their proofs.
type verifiedContract struct {
	*statement.Contract
	Index       uint64
	LeafHash    proofs.Hash
	Signer      string
	Checkpoint  proofs.SignedCheckpoint
	Revocations []verifiedRevocation
}

// A verifiedRevocation is a revocation established by its proof.
type verifiedRevocation struct {
	Index  uint64
	Signer string
	Reason string
	Time   time.Time
}

// verifyContract checks the proof of c and of each revocation reported
// with it: the contract entry is the one claimed, its issuer is its signer
// (and the authority, when given); each revocation names this contract's
// leaf hash, says what is claimed, and is signed by the contract's issuer
// or the authority.
func verifyContract(c wire.Contract, v note.Verifier, authority string) (verifiedContract, error) {
	what := fmt.Sprintf("contract %s", c.ID)
	e, err := proveEntry(what, c.Proof, v, c.Index, c.CheckedSize, envelope.KindContract)
	if err != nil {
		return verifiedContract{}, err
	}
	st := e.Statement.(*statement.Contract)
	var m mismatches
	m.str("id", c.ID, st.ID)
	m.str("leaf_hash", c.LeafHash, e.LeafHash.String())
	m.str("issuer", c.Issuer, st.Issuer)
	m.str("subject", c.Subject, st.Subject)
	m.str("audience", c.Audience, st.Audience)
	m.check("scopes", c.Scopes, st.Scopes, slices.Equal(c.Scopes, st.Scopes))
	m.time("not_before", c.NotBefore, st.NotBefore)
	m.time("expires", c.Expires, st.Expires)
	m.time("time", c.Time, st.Time)
	m.check("revoked", c.Revoked, len(c.Revocations) > 0, c.Revoked == (len(c.Revocations) > 0))
	if err := m.err(what); err != nil {
		return verifiedContract{}, err
	}
	signer := e.Envelope.KeyID
	if st.Issuer != signer {
		return verifiedContract{}, withHint(fmt.Errorf("%s: its issuer %s is not its signer %s", what, st.Issuer, signer), distrustHint)
	}
	if authority != "" && signer != authority {
		return verifiedContract{}, withHint(
			fmt.Errorf("%s: the contract at index %d is signed by %s, not by the authority %s", what, c.Index, signer, authority),
			"is the authority given the one of this ledger (its DIR/authority.did)?")
	}
	out := verifiedContract{Contract: st, Index: e.Index, LeafHash: e.LeafHash, Signer: signer, Checkpoint: e.Checkpoint}
	for _, r := range c.Revocations {
		rwhat := fmt.Sprintf("revocation at index %d of %s", r.Index, what)
		re, err := proveEntry(rwhat, r.Proof, v, r.Index, c.CheckedSize, envelope.KindRevocation)
		if err != nil {
			return verifiedContract{}, err
		}
		rev := re.Statement.(*statement.Revocation)
		var m mismatches
		m.str("contract", e.LeafHash.String(), rev.Contract.String())
		m.str("reason", r.Reason, rev.Reason)
		m.str("signer", r.Signer, re.Envelope.KeyID)
		m.time("time", r.Time, rev.Time)
		if err := m.err(rwhat); err != nil {
			return verifiedContract{}, err
		}
		if rs := re.Envelope.KeyID; rs != st.Issuer && (authority == "" || rs != authority) {
			return verifiedContract{}, withHint(
				fmt.Errorf("%s: signed by %s, neither the contract's issuer nor the authority", rwhat, rs), distrustHint)
		}
		out.Revocations = append(out.Revocations, verifiedRevocation{Index: re.Index, Signer: re.Envelope.KeyID, Reason: rev.Reason, Time: rev.Time})
	}
	return out, nil
}

// resolveAgent looks up an agent by name or did:key and verifies its
// registration. An agent registered but not yet under a checkpoint is
// asked for again until wait has passed.
func resolveAgent(ctx context.Context, cl *client.Client, v note.Verifier, nameOrDID, authority string, wait time.Duration) (verifiedAgent, error) {
	a, err := retryUncheckpointed(ctx, wait, func() (wire.Agent, error) { return cl.Agent(ctx, nameOrDID) })
	var api *client.APIError
	switch {
	case err == nil:
		va, err := verifyAgent(a, v, authority)
		if err != nil {
			return verifiedAgent{}, err
		}
		if va.Name != nameOrDID && va.DID != nameOrDID {
			return verifiedAgent{}, withHint(fmt.Errorf("asked for agent %q, the ledger answered the registration of %q (%s)", nameOrDID, va.Name, va.DID), distrustHint)
		}
		return va, nil
	case err == ctx.Err(): // cancelled while waiting between attempts
		return verifiedAgent{}, err
	case errors.As(err, &api) && api.Code == "not_in_checkpoint":
		return verifiedAgent{}, withHint(fmt.Errorf("agent %q is registered but not yet under a checkpoint: %w", nameOrDID, err),
			"checkpoints follow appends within the server's --checkpoint-interval; retry in a moment")
	case errors.As(err, &api) && api.Status == 404:
		return verifiedAgent{}, withHint(fmt.Errorf("%q is not a registered agent: %w", nameOrDID, err),
			"list the registered agents with 'ledgerctl agent list', or register one with 'ledgerctl agent register'")
	default:
		return verifiedAgent{}, withHint(fmt.Errorf("looking up agent %q: %w", nameOrDID, err), "is the ledger running at --ledger?")
	}
}

// retryUncheckpointed calls fetch until it answers anything other than a
// not_in_checkpoint refusal, or until the next attempt would pass wait,
// and returns that last answer. Attempts back off from 50ms to 1s. If ctx
// ends between attempts it returns ctx.Err() itself, unwrapped.
func retryUncheckpointed[T any](ctx context.Context, wait time.Duration, fetch func() (T, error)) (T, error) {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Millisecond
	for {
		got, err := fetch()
		var api *client.APIError
		if !errors.As(err, &api) || api.Code != "not_in_checkpoint" || time.Now().Add(delay).After(deadline) {
			return got, err
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// checkAgentArg refuses, as a usage error, an agent argument that is
// neither a did:key nor could be a name.
func checkAgentArg(c *cli.Context, flag, s string) error {
	if strings.HasPrefix(s, "did:") {
		if _, err := did.Parse(s); err != nil {
			return usageErrorf(c, "%s %s: %w", flag, quoteShort(s), err)
		}
		return nil
	}
	if s == "" || strings.ContainsAny(s, "/?#% ") {
		return usageErrorf(c, "%s %s: want an agent's name or did:key", flag, quoteShort(s))
	}
	return nil
}

// authorityFlag is --authority, the did:key that must have signed
// registrations and contracts.
func authorityFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "authority",
		Usage:   "also check that registrations and contracts are signed by this `DID` (a did:key, or a file holding one such as DIR/authority.did)",
		EnvVars: []string{"LEDGER_AUTHORITY"},
	}
}

// loadAuthority returns the did:key of --authority, or "" when it is not
// given. It takes the DID itself or the path of a file holding it.
func loadAuthority(c *cli.Context) (string, error) {
	arg := strings.TrimSpace(c.String("authority"))
	if arg == "" {
		return "", nil
	}
	if _, err := did.Parse(arg); err == nil {
		return arg, nil
	}
	data, err := fileio.ReadLimit(arg, maxKeyFile, "authority file")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageErrorf(c, "--authority %s is neither a did:key nor an existing file", quoteShort(arg))
		}
		return "", err
	}
	s := strings.TrimSpace(string(data))
	if _, err := did.Parse(s); err != nil {
		return "", withHint(fmt.Errorf("authority file %s: %w", arg, err), "init writes the authority's did:key to DIR/authority.did")
	}
	return s, nil
}

// signerNote says what a signer was checked against.
func signerNote(signer, authority string) string {
	if authority == "" {
		return signer + " (not checked against an authority: give --authority)"
	}
	return signer + " (the authority)"
}

// openVerified returns what a command that prints what the ledger says
// needs to check it first: the authority to hold signers to (may be ""),
// the log's verifier, and a client.
func openVerified(c *cli.Context) (string, note.Verifier, *client.Client, error) {
	authority, err := loadAuthority(c)
	if err != nil {
		return "", nil, nil, err
	}
	v, err := loadVerifier(c)
	if err != nil {
		return "", nil, nil, err
	}
	cl, err := newClient(c)
	if err != nil {
		return "", nil, nil, err
	}
	return authority, v, cl, nil
}
