package httpsig

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

// RFC 9421 Appendix B.1.4, "Example Ed25519 Test Key" (test-key-ed25519).
const (
	rfcEd25519Public = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
`
	rfcEd25519Private = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
`
)

// rfcTestRequest is the example request of RFC 9421 Appendix B.2
// ("test-request"), on the wire.
const rfcTestRequest = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\r\n" +
	"Content-Length: 18\r\n" +
	"\r\n" +
	`{"hello": "world"}`

// RFC 9421 Appendix B.2.6, "Signing a Request Using ed25519": the
// signature base (RFC 8792 line wrapping undone) and the two fields.
const (
	rfcB26Base = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcB26Input     = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	rfcB26Signature = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
	rfcB26Created   = 1618884473
)

// rfcKeys parses the RFC 9421 B.1.4 key pair and checks that the private
// key's public half is the published public key, so that a typo in either
// shows up here and not as a signature mismatch.
func rfcKeys(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	blk, _ := pem.Decode([]byte(rfcEd25519Private))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(ed25519.PrivateKey)
	blk, _ = pem.Decode([]byte(rfcEd25519Public))
	p, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := p.(ed25519.PublicKey)
	if !pub.Equal(priv.Public()) {
		t.Fatalf("B.1.4 public key %x is not the private key's %x", pub, priv.Public())
	}
	return priv, pub
}

// rfcRequest parses the B.2 test request as a server would.
func rfcRequest(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(rfcTestRequest)))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(req.Body); err != nil {
		t.Fatal(err)
	}
	return req, body.Bytes()
}

func TestRFC9421B26SignatureBase(t *testing.T) {
	_, pub := rfcKeys(t)
	req, _ := rfcRequest(t)

	// The base built from the RFC's own Signature-Input.
	in, err := parseDict(HeaderSignatureInput, []string{rfcB26Input})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := in.Get("sig-b26")
	params := m.(httpsfv.InnerList)
	base, err := signatureBase(req, params)
	if err != nil {
		t.Fatal(err)
	}
	if string(base) != rfcB26Base {
		t.Fatalf("signature base:\n%s\nwant (RFC 9421 B.2.6):\n%s", base, rfcB26Base)
	}

	// The RFC's signature verifies over it, and over nothing else.
	sd, err := parseDict(HeaderSignature, []string{rfcB26Signature})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = sd.Get("sig-b26")
	sig := m.(httpsfv.Item).Value.([]byte)
	if !ed25519.Verify(pub, base, sig) {
		t.Fatal("RFC 9421 B.2.6 signature does not verify over the signature base")
	}
	for i := range base {
		changed := bytes.Clone(base)
		changed[i] ^= 0x20
		if ed25519.Verify(pub, changed, sig) {
			t.Fatalf("signature verifies with base byte %d changed", i)
		}
	}
}

func TestRFC9421B26Sign(t *testing.T) {
	priv, _ := rfcKeys(t)
	req, _ := rfcRequest(t)
	params := componentList("date", "@method", "@path", "@authority", "content-type", "content-length")
	params.Params.Add("created", int64(rfcB26Created))
	params.Params.Add("keyid", "test-key-ed25519")
	input, sig, err := signRequest(req, "sig-b26", params, priv)
	if err != nil {
		t.Fatal(err)
	}
	// Ed25519 is deterministic: the same inputs give the RFC's bytes.
	if input != rfcB26Input {
		t.Errorf("Signature-Input:\n%s\nwant (RFC 9421 B.2.6):\n%s", input, rfcB26Input)
	}
	if sig != rfcB26Signature {
		t.Errorf("Signature:\n%s\nwant (RFC 9421 B.2.6):\n%s", sig, rfcB26Signature)
	}
}

// TestRFC9421B26Profile: the RFC's signature is valid RFC 9421, but not
// this profile, and Verify says so without doing any Ed25519 work.
func TestRFC9421B26Profile(t *testing.T) {
	req, body := rfcRequest(t)
	req.Header.Set(HeaderSignatureInput, rfcB26Input)
	req.Header.Set(HeaderSignature, rfcB26Signature)
	v := &Verifier{Now: func() time.Time { return time.Unix(rfcB26Created, 0) }}
	calls := countVerifies(t)
	if _, err := v.Verify(req, body); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Verify(RFC B.2.6 request) = %v, want ErrUnsupported", err)
	}
	// Relabelled as sig1, it is still refused: no alg, no tag, other
	// components.
	req.Header.Set(HeaderSignatureInput, "sig1"+strings.TrimPrefix(rfcB26Input, "sig-b26"))
	req.Header.Set(HeaderSignature, "sig1"+strings.TrimPrefix(rfcB26Signature, "sig-b26"))
	if _, err := v.Verify(req, body); !errors.Is(err, ErrUnsupported) || Reason(err) != "signature_unsupported" {
		t.Errorf("Verify(RFC B.2.6 request as sig1) = %v, want ErrUnsupported", err)
	}
	if *calls != 0 {
		t.Errorf("%d Ed25519 verifications for an unsupported signature", *calls)
	}
}

// RFC 9530 Appendix B: `{"hello": "world"}`, and the empty body.
func TestRFC9530ContentDigest(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"hello": "world"}`, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"},
		{"", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
	} {
		if got := ContentDigest([]byte(c.body)); got != c.want {
			t.Errorf("ContentDigest(%q) = %s, want %s", c.body, got, c.want)
		}
		d, err := ParseContentDigest(c.want)
		if err != nil || d != sha256.Sum256([]byte(c.body)) {
			t.Errorf("ParseContentDigest(%s) = %x, %v", c.want, d, err)
		}
	}
}

func TestParseContentDigestRefuses(t *testing.T) {
	good := ContentDigest([]byte(`{"hello": "world"}`))
	b64 := strings.TrimSuffix(strings.TrimPrefix(good, "sha-256=:"), ":")
	short := base64.StdEncoding.EncodeToString(make([]byte, 31))
	for _, v := range []string{
		"",
		"sha-256",
		"sha-256=" + b64,
		`sha-256="` + b64 + `"`,
		"SHA-256=:" + b64 + ":",
		"sha-256=:" + strings.TrimRight(b64, "=") + ":",
		"sha-256=:" + short + ":",
		good + ";q=1",
		good + ", " + good,
		good + ", sha-512=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":",
		"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
		"  " + good,
		good + " ",
		"sha-256=(:" + b64 + ":)",
		good + strings.Repeat(" ", MaxHeaderLen),
	} {
		if d, err := ParseContentDigest(v); err == nil {
			t.Errorf("ParseContentDigest(%q) = %x, want an error", v, d)
		} else if !errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("ParseContentDigest(%q) = %v, want ErrDigestMismatch", v, err)
		}
	}
}
