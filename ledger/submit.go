package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/agentledger/agentledger/proofs/envelope"
)

// Classes of refusal. Policies wrap one of them, usually in a *Refusal
// that adds a machine-readable code.
var (
	// ErrForbidden: the verified signer may not write this entry (403).
	ErrForbidden = errors.New("signer may not write this entry")
	// ErrInvalid: the entry is well signed but its statement is invalid, or
	// names something the log does not hold (400).
	ErrInvalid = errors.New("invalid entry")
	// ErrConflict: the entry contradicts what the log holds, such as a
	// second registration of a name (409).
	ErrConflict = errors.New("entry conflicts with the log")
)

// Refusal is a policy's reasoned refusal of an entry.
type Refusal struct {
	Class  error  // ErrForbidden, ErrInvalid or ErrConflict
	Code   string // machine-readable reason, e.g. "name_taken"
	Detail string // for people; never holds secrets
}

// Refuse returns a *Refusal.
func Refuse(class error, code, format string, args ...any) *Refusal {
	return &Refusal{Class: class, Code: code, Detail: fmt.Sprintf(format, args...)}
}

func (r *Refusal) Error() string { return r.Class.Error() + ": " + r.Detail }

// Unwrap returns the refusal's class.
func (r *Refusal) Unwrap() error { return r.Class }

// Policy decides whether a signer, whose signature has already been
// verified, may write env. It returns nil to allow, or an error wrapping
// ErrForbidden (or a more specific error) that says why not.
type Policy interface {
	MayWrite(env *envelope.Envelope, signer ed25519.PublicKey) error
}

// AuthorityOnly is the Policy under which only the authority key writes.
type AuthorityOnly struct {
	Authority ed25519.PublicKey
}

// MayWrite allows exactly the authority key.
func (p AuthorityOnly) MayWrite(env *envelope.Envelope, signer ed25519.PublicKey) error {
	if !signer.Equal(p.Authority) {
		return Refuse(ErrForbidden, "not_authority", "%s is not the authority", env.KeyID)
	}
	return nil
}

// PolicySubmitter admits entries to Log under Policy.
type PolicySubmitter struct {
	Log    *Log
	Policy Policy
}

// Submit is Log.Submit under the submitter's policy.
func (p PolicySubmitter) Submit(ctx context.Context, raw []byte) (AppendResult, error) {
	return p.Log.Submit(ctx, raw, p.Policy)
}

// Submit admits a DSSE envelope: it parses it strictly, verifies its
// signature, asks policy whether the signer may write it, and appends it.
// The cheap checks (size, parsing) run before the signature verification.
// Errors wrap envelope.ErrTooLarge, envelope.ErrMalformed,
// envelope.ErrBadSignature, ErrForbidden, or the errors of Append.
func (l *Log) Submit(ctx context.Context, raw []byte, policy Policy) (AppendResult, error) {
	env, err := envelope.Parse(raw)
	if err != nil {
		return AppendResult{}, err
	}
	signer, err := env.Verify()
	if err != nil {
		return AppendResult{}, err
	}
	if err := policy.MayWrite(env, signer); err != nil {
		return AppendResult{}, err
	}
	return l.Append(ctx, raw)
}
