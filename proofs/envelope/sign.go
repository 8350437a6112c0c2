package envelope

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
)

// Sign returns the canonical envelope of payload as a statement of kind,
// signed by key. Its keyid is the did:key of key's public key.
//
// It refuses an unknown kind or an empty payload (ErrMalformed), and a
// result larger than proofs.MaxEntrySize (ErrTooLarge).
func Sign(kind Kind, payload []byte, key ed25519.PrivateKey) ([]byte, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	// Refuse hopeless sizes before spending a signature on them.
	if n := base64.StdEncoding.EncodedLen(len(payload)); n > proofs.MaxEntrySize {
		return nil, fmt.Errorf("%w: payload of %d bytes encodes to more than %d", ErrTooLarge, len(payload), proofs.MaxEntrySize)
	}
	typ := kind.PayloadType()
	sig := ed25519.Sign(key, dsse.PAE(typ, payload))
	keyID := did.FromPublicKey(key.Public().(ed25519.PublicKey))
	out, err := marshal(typ, payload, keyID, sig)
	if err != nil {
		return nil, err
	}
	if len(out) > proofs.MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(out), proofs.MaxEntrySize)
	}
	return out, nil
}

// marshal encodes the canonical form. For the values this package allows
// (a known payload type, base64 and a did:key, none of which contain
// characters encoding/json escapes) encoding/json writes exactly the
// canonical form that Parse accepts.
func marshal(typ string, payload []byte, keyID string, sig []byte) ([]byte, error) {
	out, err := json.Marshal(dsse.Envelope{
		PayloadType: typ,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures: []dsse.Signature{{
			KeyID: keyID,
			Sig:   base64.StdEncoding.EncodeToString(sig),
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("envelope: encoding json: %w", err)
	}
	return out, nil
}

// Verify checks e's Ed25519 signature over PAE(payloadType, payload) under
// the public key named by e.KeyID and returns that key. Verification
// failure wraps ErrBadSignature; an Envelope whose fields were changed into
// something Parse would refuse gives ErrMalformed.
//
// A nil error says only that the holder of the returned key signed this
// statement of this kind; whether that key may write it is the caller's
// decision.
func (e *Envelope) Verify() (ed25519.PublicKey, error) {
	if _, err := ParseKind(string(e.Kind)); err != nil {
		return nil, err
	}
	if len(e.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: sig is %d bytes, want %d", ErrMalformed, len(e.Sig), ed25519.SignatureSize)
	}
	pub, err := did.Parse(e.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: keyid: %w", ErrMalformed, err)
	}
	if !ed25519.Verify(pub, dsse.PAE(e.Kind.PayloadType(), e.Payload), e.Sig) {
		return nil, fmt.Errorf("%w: by %s", ErrBadSignature, e.KeyID)
	}
	return pub, nil
}
