package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/agentledger/agentledger/envelope"
)

// ErrForbidden is returned when an envelope's verified signer may not write
// an entry of its kind.
var ErrForbidden = errors.New("signer may not write this entry")

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
		return fmt.Errorf("%w: %s is not the authority", ErrForbidden, env.KeyID)
	}
	return nil
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
