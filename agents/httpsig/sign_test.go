package httpsig

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSignSetsBody(t *testing.T) {
	body := []byte(testBody)
	req := newRequest(t, http.MethodPost, testURL)
	if err := testSigner(1, 0).Sign(req, body); err != nil {
		t.Fatal(err)
	}
	body[0] = 'X' // Sign keeps its own copy.
	for range 2 {
		got, err := io.ReadAll(req.Body)
		if err != nil || string(got) != testBody {
			t.Fatalf("req.Body = %q, %v", got, err)
		}
		if req.Body, err = req.GetBody(); err != nil {
			t.Fatal(err)
		}
	}
	if req.ContentLength != int64(len(testBody)) {
		t.Errorf("ContentLength = %d", req.ContentLength)
	}

	req = newRequest(t, http.MethodGet, testURL)
	if err := testSigner(1, 0).Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	if req.Body != http.NoBody || req.ContentLength != 0 {
		t.Errorf("empty body: Body %v, ContentLength %d", req.Body, req.ContentLength)
	}
	if got := req.Header.Get(HeaderContentDigest); got != ContentDigest(nil) {
		t.Errorf("empty body: Content-Digest %s", got)
	}
}

func TestSignNonces(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		req, body := signedRequest(t, testSigner(1, 0))
		v, err := testVerifier().Verify(req, body)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Nonce) != 22 || seen[v.Nonce] {
			t.Fatalf("nonce %q: wrong length or repeated", v.Nonce)
		}
		seen[v.Nonce] = true
	}
}

func TestSignRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(s *Signer, req *http.Request)
	}{
		{"KeyID of another key", func(s *Signer, _ *http.Request) { s.KeyID = testDID(2) }},
		{"KeyID empty", func(s *Signer, _ *http.Request) { s.KeyID = "" }},
		{"short key", func(s *Signer, _ *http.Request) { s.Key = s.Key[:32] }},
		{"no contract", func(_ *Signer, req *http.Request) { req.Header.Del(HeaderContract) }},
		{"empty contract", func(_ *Signer, req *http.Request) { req.Header.Set(HeaderContract, " ") }},
		{"two contracts", func(_ *Signer, req *http.Request) { req.Header.Add(HeaderContract, "x") }},
		{"contract too long", func(_ *Signer, req *http.Request) {
			req.Header.Set(HeaderContract, strings.Repeat("c", MaxContractLen+1))
		}},
		{"contract with a line feed", func(_ *Signer, req *http.Request) { req.Header.Set(HeaderContract, "a\nb") }},
		{"TTL over the limit", func(s *Signer, _ *http.Request) { s.TTL = MaxTTL + time.Second }},
		{"TTL negative", func(s *Signer, _ *http.Request) { s.TTL = -time.Second }},
		{"TTL not whole seconds", func(s *Signer, _ *http.Request) { s.TTL = 1500 * time.Millisecond }},
		{"nonce too short", func(s *Signer, _ *http.Request) {
			s.Nonce = func() (string, error) { return "short", nil }
		}},
		{"nonce with a quote", func(s *Signer, _ *http.Request) {
			s.Nonce = func() (string, error) { return `nnnnnnnnnnnnnnnn"`, nil }
		}},
		{"nonce error", func(s *Signer, _ *http.Request) {
			s.Nonce = func() (string, error) { return "", errors.New("no entropy") }
		}},
		{"no host", func(_ *Signer, req *http.Request) { req.Host, req.URL.Host = "", "" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testSigner(1, 0)
			req := newRequest(t, http.MethodPost, testURL)
			c.edit(s, req)
			before := req.Header.Clone()
			if err := s.Sign(req, []byte(testBody)); err == nil {
				t.Fatal("Sign succeeded")
			}
			if !maps.EqualFunc(before, req.Header, func(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }) {
				t.Errorf("failed Sign changed the header:\n%v\nwas\n%v", req.Header, before)
			}
			if req.Body != nil {
				t.Errorf("failed Sign set a body")
			}
		})
	}
}

// TestOverHTTP signs with a client and verifies in a real net/http server,
// so that the component values agree across the wire.
func TestOverHTTP(t *testing.T) {
	var got *Verified
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxBody+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		v, err := (&Verifier{}).Verify(r, body)
		if err != nil {
			http.Error(w, Reason(err)+": "+err.Error(), http.StatusUnauthorized)
			return
		}
		got = v
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	for _, c := range []struct {
		method, path string
		body         []byte
	}{
		{http.MethodPost, "/v1/charge?dry=1&memo=a%2Fb", []byte(testBody)},
		{http.MethodGet, "", nil},
		{http.MethodGet, "/stock/sku%2F42/?", nil},
		{http.MethodDelete, "/reservations/7?x=%20y&x=z", []byte{}},
		{http.MethodPut, "/a/b;c=d", bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<12)},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			got = nil
			req := newRequest(t, c.method, srv.URL+c.path)
			s := &Signer{Key: testKey(3), KeyID: testDID(3)}
			if err := s.Sign(req, c.body); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", resp.Status, msg)
			}
			if got == nil || got.KeyID != testDID(3) || got.Contract != testContract ||
				!got.PublicKey.Equal(testKey(3).Public().(ed25519.PublicKey)) {
				t.Errorf("Verified = %+v", got)
			}
		})
	}
}

func ExampleSigner_Sign() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s := &Signer{
		Key:   key,
		KeyID: "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		Now:   func() time.Time { return time.Unix(1700000000, 0) },
		Nonce: func() (string, error) { return "AAAAAAAAAAAAAAAAAAAAAA", nil },
	}
	req, _ := http.NewRequest("POST", "http://payment.local:8443/v1/charge?dry=1", nil)
	req.Header.Set("Ledger-Contract", "42:abc")
	if err := s.Sign(req, []byte(`{"amount":1250}`)); err != nil {
		panic(err)
	}
	for _, h := range []string{"Content-Digest", "Signature-Input", "Signature"} {
		fmt.Printf("%s: %s\n", h, req.Header.Get(h))
	}

	v := &Verifier{Now: func() time.Time { return time.Unix(1700000005, 0) }}
	got, err := v.Verify(req, []byte(`{"amount":1250}`))
	fmt.Println(got.KeyID == s.KeyID, got.Contract, err)
	// Output:
	// Content-Digest: sha-256=:n7QBBcVicaydao2gpvWE3ZAdZuTVUIFoQWClvGCMewg=:
	// Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-digest" "ledger-contract");created=1700000000;expires=1700000030;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";alg="ed25519";tag="agentledger"
	// Signature: sig1=:qTBkkmabm+zCqPySpV/wrM28OgVtkYlWkIHbt8oueKOUwKpNwB5DLgdH1W1cd+Ut5cd1EfJRmtyvLG71qvV1Dg==:
	// true 42:abc <nil>
}

// TestDocExample checks the signature base printed in the package
// documentation against the one this package builds.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(l, "//\t\""); ok {
			want = append(want, `"`+rest)
		}
	}
	req, _ := http.NewRequest("POST", "http://payment.local:8443/v1/charge?dry=1", nil)
	req.Header.Set(HeaderContract, "42:abc")
	req.Header.Set(HeaderContentDigest, ContentDigest([]byte(`{"amount":1250}`)))
	base, err := signatureBase(req, profileParams(1700000000, 1700000030, "AAAAAAAAAAAAAAAAAAAAAA",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(want, "\n"); got != string(base) {
		t.Errorf("package doc example:\n%s\nsignature base:\n%s", got, base)
	}
}
