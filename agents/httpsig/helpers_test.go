package httpsig

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/agentledger/agentledger/proofs/did"
)

var testNow = time.Unix(1_700_000_000, 0)

const (
	testURL      = "http://payment.local:8443/v1/charge?dry=1&memo=a%2Fb"
	testBody     = `{"action":"payment:charge","amount":1250,"currency":"usd"}`
	testContract = "42:q5ZrN3kEMtL0oG0Xr0QmU9S9c0x5mvzTg0i0z0vM7yM="
	testNonce    = "n0nce-n0nce-n0nce-n0nce"
)

func testKey(i byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{i}, ed25519.SeedSize))
}

func testDID(i byte) string {
	return did.FromPublicKey(testKey(i).Public().(ed25519.PublicKey))
}

// testSigner signs as key i at testNow plus offset.
func testSigner(i byte, offset time.Duration) *Signer {
	return &Signer{
		Key:   testKey(i),
		KeyID: testDID(i),
		Now:   func() time.Time { return testNow.Add(offset) },
	}
}

func testVerifier() *Verifier {
	return &Verifier{Now: func() time.Time { return testNow }}
}

func newRequest(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderContract, testContract)
	return req
}

// signedRequest returns a POST of testBody to testURL signed by s.
func signedRequest(t testing.TB, s *Signer) (*http.Request, []byte) {
	t.Helper()
	req := newRequest(t, http.MethodPost, testURL)
	body := []byte(testBody)
	if err := s.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	return req, body
}

// resign replaces req's signature with one by key i under label, over the
// profile parameters as edited by edit. It signs whatever edit produces,
// so a refusal of the result is the profile's, not a bad signature's.
func resign(t testing.TB, req *http.Request, i byte, label string, edit func(*httpsfv.InnerList)) {
	t.Helper()
	p := profileParams(testNow.Unix(), testNow.Unix()+30, testNonce, testDID(i))
	if edit != nil {
		edit(&p)
	}
	in, sig, err := signRequest(req, label, p, testKey(i))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderSignatureInput, in)
	req.Header.Set(HeaderSignature, sig)
}

// countVerifies counts Ed25519 verifications until the test ends. Tests
// that use it must not run in parallel.
func countVerifies(t testing.TB) *int {
	t.Helper()
	n := new(int)
	old := ed25519Verify
	ed25519Verify = func(pub ed25519.PublicKey, msg, sig []byte) bool {
		*n++
		return old(pub, msg, sig)
	}
	t.Cleanup(func() { ed25519Verify = old })
	return n
}

// sentinels are the refusal reasons, each with its Reason string.
var sentinels = []struct {
	err    error
	reason string
}{
	{ErrMissingSignature, "signature_missing"},
	{ErrMalformedSignature, "signature_malformed"},
	{ErrUnsupported, "signature_unsupported"},
	{ErrBadKeyID, "keyid_invalid"},
	{ErrStale, "signature_stale"},
	{ErrDigestMismatch, "digest_mismatch"},
	{ErrBadSignature, "signature_invalid"},
	{ErrTooLarge, "request_too_large"},
}

// checkOneReason fails t unless err wraps exactly one refusal reason.
func checkOneReason(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %q wraps %d refusal reasons, want 1", err, n)
	}
}
