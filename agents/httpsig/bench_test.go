package httpsig

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/dunglas/httpsfv"
)

// BenchmarkVerify verifies one signed POST with a 58-byte body. Compare
// with BenchmarkEd25519Verify, the bare signature check inside it.
func BenchmarkVerify(b *testing.B) {
	req, body := signedRequest(b, testSigner(1, 0))
	v := testVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is one ed25519.Verify over the same request's
// signature base.
func BenchmarkEd25519Verify(b *testing.B) {
	req, _ := signedRequest(b, testSigner(1, 0))
	params, sig, err := parseSignatureFields(req.Header.Values(HeaderSignatureInput), req.Header.Values(HeaderSignature))
	if err != nil {
		b.Fatal(err)
	}
	base, err := signatureBase(req, params)
	if err != nil {
		b.Fatal(err)
	}
	pub := testKey(1).Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, base, sig) {
			b.Fatal("does not verify")
		}
	}
	b.ReportMetric(float64(len(base)), "base-bytes")
}

// BenchmarkVerifyRefusedEarly is the cost of refusing a request that fails
// a cheap check (here, a wrong tag), which never reaches Ed25519.
func BenchmarkVerifyRefusedEarly(b *testing.B) {
	req, body := signedRequest(b, testSigner(1, 0))
	resign(b, req, 1, Label, func(p *httpsfv.InnerList) { p.Params.Add("tag", "other") })
	v := testVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body); err == nil {
			b.Fatal("verified")
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s := testSigner(1, 0)
	body := []byte(testBody)
	b.ReportAllocs()
	for b.Loop() {
		req := newRequest(b, "POST", testURL)
		if err := s.Sign(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// proofContract is a Ledger-Contract value of realistic size: a contract
// reference carrying a tlog-proof, about 2.5 KB.
var proofContract = func() string {
	seq := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}
	return "index=5, leaf=:" + base64.StdEncoding.EncodeToString(seq(32, 1)) +
		":, proof=:" + base64.StdEncoding.EncodeToString(seq(1800, 2)) + ":"
}()

// proofRequest returns a POST of testBody to testURL, whose Ledger-Contract
// is proofContract, signed by key 1.
func proofRequest(b *testing.B) (*http.Request, []byte) {
	req := newRequest(b, http.MethodPost, testURL)
	req.Header.Set(HeaderContract, proofContract)
	body := []byte(testBody)
	if err := testSigner(1, 0).Sign(req, body); err != nil {
		b.Fatal(err)
	}
	return req, body
}

// BenchmarkVerifyWithProof verifies a request whose Ledger-Contract carries
// a tlog-proof, as most inter-agent requests do. Compare with
// BenchmarkEd25519VerifyWithProof.
func BenchmarkVerifyWithProof(b *testing.B) {
	req, body := proofRequest(b)
	v := testVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519VerifyWithProof is the bare ed25519.Verify inside
// BenchmarkVerifyWithProof, over its ~2.9 KB signature base.
func BenchmarkEd25519VerifyWithProof(b *testing.B) {
	req, _ := proofRequest(b)
	params, sig, err := parseSignatureFields(req.Header.Values(HeaderSignatureInput), req.Header.Values(HeaderSignature))
	if err != nil {
		b.Fatal(err)
	}
	base, err := signatureBase(req, params)
	if err != nil {
		b.Fatal(err)
	}
	pub := testKey(1).Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, base, sig) {
			b.Fatal("does not verify")
		}
	}
	b.ReportMetric(float64(len(base)), "base-bytes")
}
