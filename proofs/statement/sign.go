package statement

import (
	"crypto/ed25519"
	"fmt"

	"github.com/agentledger/agentledger/proofs/envelope"
)

// A Statement is one of the four statement kinds: *Registration,
// *Contract, *Revocation or *Action.
type Statement interface {
	// Kind is the envelope kind that carries the statement.
	Kind() envelope.Kind
	// Marshal checks the statement and writes its canonical JSON.
	Marshal() ([]byte, error)
}

var (
	_ Statement = (*Registration)(nil)
	_ Statement = (*Contract)(nil)
	_ Statement = (*Revocation)(nil)
	_ Statement = (*Action)(nil)
)

// Kind is envelope.KindRegistration.
func (*Registration) Kind() envelope.Kind { return envelope.KindRegistration }

// Kind is envelope.KindContract.
func (*Contract) Kind() envelope.Kind { return envelope.KindContract }

// Kind is envelope.KindRevocation.
func (*Revocation) Kind() envelope.Kind { return envelope.KindRevocation }

// Kind is envelope.KindAction.
func (*Action) Kind() envelope.Kind { return envelope.KindAction }

// Sign is the one way a statement becomes a log entry: it checks and
// marshals st and signs it with key into a DSSE envelope of st's kind,
// whose keyid is key's did:key. The statement's times are signed as they
// are (at their full precision, in UTC): the caller chooses them.
func Sign(st Statement, key ed25519.PrivateKey) ([]byte, error) {
	payload, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	env, err := envelope.Sign(st.Kind(), payload, key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", st.Kind(), err)
	}
	return env, nil
}
