package httpsig

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/agentledger/agentledger/proofs/did"
)

// A Signer signs requests under the profile as one agent.
type Signer struct {
	// Key is the agent's Ed25519 private key.
	Key ed25519.PrivateKey
	// KeyID is the did:key of Key's public key. Sign refuses any other.
	KeyID string
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
	// Nonce returns a fresh nonce for each request; nil means 128 random
	// bits in unpadded base64url. It MUST NOT repeat a nonce, and what it
	// returns must be a profile nonce (see the package documentation).
	Nonce func() (string, error)
	// TTL is expires - created, in whole seconds, at most MaxTTL; zero
	// means DefaultTTL.
	TTL time.Duration
}

// Sign signs req under the profile. body is the exact request body: Sign
// sets Content-Digest from it and replaces req.Body (and req.GetBody and
// req.ContentLength) with a copy of it. The Ledger-Contract header must
// already be set, once and non-empty; Sign then sets Content-Digest,
// Signature-Input and Signature, replacing any earlier values. Nothing
// about req changes when Sign returns an error before signing.
func (s *Signer) Sign(req *http.Request, body []byte) error {
	if len(s.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("httpsig: private key is %d bytes, want %d", len(s.Key), ed25519.PrivateKeySize)
	}
	if want := did.FromPublicKey(s.Key.Public().(ed25519.PublicKey)); s.KeyID != want {
		return fmt.Errorf("httpsig: KeyID %q is not the did:key of the signing key (%s)", s.KeyID, want)
	}
	if req == nil || req.URL == nil {
		return errors.New("httpsig: request has no URL")
	}
	contract := req.Header.Values(HeaderContract)
	if len(contract) != 1 || fieldValue(contract) == "" {
		return fmt.Errorf("httpsig: request needs exactly one non-empty %s header, has %d", HeaderContract, len(contract))
	}
	if len(contract[0]) > MaxContractLen {
		return fmt.Errorf("httpsig: %s is %d bytes, limit %d", HeaderContract, len(contract[0]), MaxContractLen)
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > MaxTTL || ttl%time.Second != 0 {
		return fmt.Errorf("httpsig: TTL %v is not a whole number of seconds in [1s, %v]", ttl, MaxTTL)
	}
	nonce, err := s.nonce()
	if err != nil {
		return fmt.Errorf("httpsig: nonce: %w", err)
	}
	if !validNonce(nonce) {
		return fmt.Errorf("httpsig: nonce %q is not %d-%d characters of [A-Za-z0-9_-]", nonce, MinNonceLen, MaxNonceLen)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	created := now().Unix()
	params := profileParams(created, created+int64(ttl/time.Second), nonce, s.KeyID)

	body = bytes.Clone(body)
	prevDigest, hadDigest := req.Header[HeaderContentDigest]
	req.Header.Set(HeaderContentDigest, ContentDigest(body))
	input, sig, err := signRequest(req, Label, params, s.Key)
	if err != nil {
		if hadDigest {
			req.Header[HeaderContentDigest] = prevDigest
		} else {
			req.Header.Del(HeaderContentDigest)
		}
		return fmt.Errorf("httpsig: %w", err)
	}
	req.Header.Set(HeaderSignatureInput, input)
	req.Header.Set(HeaderSignature, sig)
	setBody(req, body)
	return nil
}

func (s *Signer) nonce() (string, error) {
	if s.Nonce != nil {
		return s.Nonce()
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// profileParams returns the profile's covered components with its
// signature parameters, in the order Sign writes them.
func profileParams(created, expires int64, nonce, keyID string) (params httpsfv.InnerList) {
	params = componentList(coveredComponents[:]...)
	params.Params.Add("created", created)
	params.Params.Add("expires", expires)
	params.Params.Add("nonce", nonce)
	params.Params.Add("keyid", keyID)
	params.Params.Add("alg", Alg)
	params.Params.Add("tag", Tag)
	return params
}

// setBody makes body the request body, re-readable through GetBody.
func setBody(req *http.Request, body []byte) {
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}
}
