package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/did"
)

// b64 is standard padded base64 that refuses non-zero trailing bits. It is
// never modified.
var b64 = base64.StdEncoding.Strict()

// The literal parts of the canonical form, in order.
const (
	litOpen       = `{"payloadType":"`
	litPayload    = `","payload":"`
	litSignatures = `","signatures":[{"keyid":"`
	litSig        = `","sig":"`
	litClose      = `"}]}`
)

// Parse parses b as a canonical agentledger DSSE envelope (see the package
// documentation) without verifying its signature.
//
// It refuses, with an error wrapping ErrTooLarge, input over
// proofs.MaxEntrySize bytes, and with an error wrapping ErrMalformed
// anything else that is not the canonical encoding of an envelope with a
// known payload type, a non-empty payload, exactly one signature, a valid
// did:key keyid and a 64-byte sig.
// The returned Envelope does not alias b.
func Parse(b []byte) (*Envelope, error) {
	if len(b) > proofs.MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), proofs.MaxEntrySize)
	}
	s := scanner{b: b}
	s.literal(litOpen)
	typ := s.str()
	s.literal(litPayload)
	payload := s.str()
	s.literal(litSignatures)
	keyID := s.str()
	s.literal(litSig)
	sig := s.str()
	s.literal(litClose)
	s.end()
	if s.err != nil {
		return nil, diagnose(b, s.err)
	}

	kind, ok := kindOf(typ)
	if !ok {
		return nil, fmt.Errorf("%w: unknown payloadType %s", ErrMalformed, quote(string(typ)))
	}
	body, err := decodeB64(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	if len(sig) != b64.EncodedLen(ed25519.SignatureSize) {
		return nil, fmt.Errorf("%w: sig is %d base64 characters, want %d", ErrMalformed, len(sig), b64.EncodedLen(ed25519.SignatureSize))
	}
	rawSig, err := decodeB64(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: sig: %w", ErrMalformed, err)
	}
	if len(rawSig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: sig is %d bytes, want %d", ErrMalformed, len(rawSig), ed25519.SignatureSize)
	}
	if len(keyID) > did.MaxLen {
		return nil, fmt.Errorf("%w: keyid longer than %d bytes", ErrMalformed, did.MaxLen)
	}
	id := string(keyID)
	if _, err := did.Parse(id); err != nil {
		return nil, fmt.Errorf("%w: keyid: %w", ErrMalformed, err)
	}
	return &Envelope{Kind: kind, Payload: body, KeyID: id, Sig: rawSig}, nil
}

// decodeB64 decodes canonical standard base64: padded, zero trailing bits
// and nothing the decoder would skip (it ignores CR and LF).
func decodeB64(src []byte) ([]byte, error) {
	dst := make([]byte, b64.DecodedLen(len(src)))
	n, err := b64.Decode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	if b64.EncodedLen(n) != len(src) {
		return nil, errors.New("base64 is not canonical")
	}
	return dst[:n:n], nil
}

// scanner matches b against the canonical form. The first mismatch is kept
// in err, and later calls do nothing.
type scanner struct {
	b   []byte
	off int
	err error
}

func (s *scanner) literal(lit string) {
	if s.err != nil {
		return
	}
	if !bytes.HasPrefix(s.b[s.off:], []byte(lit)) {
		s.err = fmt.Errorf("at byte %d: want %s", s.off, lit)
		return
	}
	s.off += len(lit)
}

// str returns the bytes of a string value up to its closing quote, which is
// left for the next literal. Escapes are not canonical, so a backslash is
// an error.
func (s *scanner) str() []byte {
	if s.err != nil {
		return nil
	}
	rest := s.b[s.off:]
	i := bytes.IndexAny(rest, "\"\\")
	if i < 0 {
		s.err = fmt.Errorf("at byte %d: unterminated string", s.off)
		return nil
	}
	if rest[i] == '\\' {
		s.err = fmt.Errorf("at byte %d: escape sequence in string", s.off+i)
		return nil
	}
	s.off += i
	return rest[:i]
}

func (s *scanner) end() {
	if s.err == nil && s.off != len(s.b) {
		s.err = fmt.Errorf("at byte %d: trailing data", s.off)
	}
}

// diagnose explains why b is not a canonical envelope. It runs only on
// input already refused, so it may be slow. cause is the canonical
// scanner's complaint, used when nothing more specific is found.
func diagnose(b []byte, cause error) error {
	if !json.Valid(b) {
		return fmt.Errorf("%w: invalid json", ErrMalformed)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil || top == nil {
		return fmt.Errorf("%w: not a json object", ErrMalformed)
	}
	if err := checkFields(top, "", "payloadType", "payload", "signatures"); err != nil {
		return err
	}
	var sigs []json.RawMessage
	if err := json.Unmarshal(top["signatures"], &sigs); err != nil {
		return fmt.Errorf("%w: signatures is not an array", ErrMalformed)
	}
	if len(sigs) != 1 {
		return fmt.Errorf("%w: %d signatures, want exactly 1", ErrMalformed, len(sigs))
	}
	var sig map[string]json.RawMessage
	if err := json.Unmarshal(sigs[0], &sig); err != nil || sig == nil {
		return fmt.Errorf("%w: signature is not a json object", ErrMalformed)
	}
	if err := checkFields(sig, "signature ", "keyid", "sig"); err != nil {
		return err
	}
	return fmt.Errorf("%w: not in canonical form: %w", ErrMalformed, cause)
}

// checkFields reports a field of obj missing from want, or one not in it.
// where names obj in the message.
func checkFields(obj map[string]json.RawMessage, where string, want ...string) error {
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			return fmt.Errorf("%w: missing %sfield %q", ErrMalformed, where, k)
		}
	}
	if len(obj) != len(want) {
		for k := range obj {
			if !slices.Contains(want, k) {
				return fmt.Errorf("%w: unknown %sfield %s", ErrMalformed, where, quote(k))
			}
		}
	}
	return nil
}
