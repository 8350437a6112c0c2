package httpsig

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"testing"

	"github.com/agentledger/agentledger/proofs/did"
)

// FuzzVerify feeds arbitrary Signature-Input, Signature and Content-Digest
// values and bodies to Verify. It must never panic, must refuse with
// exactly one reason, and anything it accepts must be consistent.
func FuzzVerify(f *testing.F) {
	req, body := signedRequest(f, testSigner(1, 0))
	in, sig, dig := req.Header.Get(HeaderSignatureInput), req.Header.Get(HeaderSignature), req.Header.Get(HeaderContentDigest)
	f.Add(in, sig, dig, body)
	f.Add(in, sig, dig, []byte("{}"))
	f.Add(in, sig, "", body)
	f.Add("", "", dig, body)
	f.Add(rfcB26Input, rfcB26Signature, dig, body)
	f.Add(in+", "+in, sig+", "+sig, dig+", "+dig, body)
	f.Add(`sig1=("@method");alg="ed25519"`, "sig1=:AAAA:", "sha-256=:AAAA:", []byte(nil))
	f.Add("sig1=(\"@method\" \"\n\")", sig, dig, body)
	// Signatures the fast path reads, and edges of what it reads.
	reqs, _ := referenceCorpus(f)
	for _, r := range reqs[:2] {
		in, sig := r.Header.Get(HeaderSignatureInput), r.Header.Get(HeaderSignature)
		f.Add(in, sig, dig, body)
		for _, e := range editedInputs(in) {
			f.Add(e, sig, dig, body)
		}
		for _, e := range editedSignatures(sig) {
			f.Add(in, e, dig, body)
		}
	}
	f.Fuzz(func(t *testing.T, in, sig, dig string, body []byte) {
		req := newRequest(t, http.MethodPost, testURL)
		for name, v := range map[string]string{HeaderSignatureInput: in, HeaderSignature: sig, HeaderContentDigest: dig} {
			if v != "" {
				req.Header[name] = []string{v}
			}
		}
		// Verify decides as the original httpsfv-based code did.
		checkVerifyAgainstReference(t, testVerifier(), req, body, countVerifies(t))
		got, err := testVerifier().Verify(req, body)
		if err != nil {
			if got != nil {
				t.Fatalf("Verify returned %+v with error %v", got, err)
			}
			checkOneReason(t, err)
			return
		}
		if got.KeyID != did.FromPublicKey(got.PublicKey) || got.Contract != testContract ||
			got.BodyDigest != sha256.Sum256(body) || !validNonce(got.Nonce) ||
			!got.Expires.After(got.Created) {
			t.Fatalf("Verify accepted an inconsistent request: %+v", got)
		}
	})
}

// FuzzParseContentDigest: ParseContentDigest never panics, and accepts
// only the one value ContentDigest writes for a digest.
func FuzzParseContentDigest(f *testing.F) {
	f.Add(ContentDigest([]byte(`{"hello": "world"}`)))
	f.Add(ContentDigest(nil))
	f.Add("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	f.Add("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
	f.Add("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;a=1")
	f.Add("sha-256=(:AA==:)")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		checkDigestAgainstReference(t, v)
		d, err := ParseContentDigest(v)
		if err != nil {
			if !errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ParseContentDigest(%q) = %v: not ErrDigestMismatch", v, err)
			}
			if d != ([sha256.Size]byte{}) {
				t.Fatalf("ParseContentDigest(%q) returned %x with its error", v, d)
			}
			return
		}
		if w := formatContentDigest(d); w != v {
			t.Fatalf("ParseContentDigest(%q) = %x, which ContentDigest writes as %q", v, d, w)
		}
	})
}
