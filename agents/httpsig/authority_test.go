package httpsig

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNormalAuthority(t *testing.T) {
	for _, c := range []struct{ in, scheme, want string }{
		{"127.0.0.1:80", "http", "127.0.0.1"},
		{"127.0.0.1", "http", "127.0.0.1"},
		{"127.0.0.1:", "http", "127.0.0.1"},
		{"Payment.Local:80", "http", "payment.local"},
		{"payment.local:443", "https", "payment.local"},
		{"payment.local:443", "http", "payment.local:443"},
		{"payment.local:80", "https", "payment.local:80"},
		{"payment.local:8443", "https", "payment.local:8443"},
		{"payment.local:8080", "http", "payment.local:8080"},
		{"[::1]:80", "http", "[::1]"},
		{"[::1]:8080", "http", "[::1]:8080"},
		{"[::1]", "http", "[::1]"},
		{"::1", "http", "::1"},
		{":80", "http", ":80"},
	} {
		if got := normalAuthority(c.in, c.scheme); got != c.want {
			t.Errorf("normalAuthority(%q, %q) = %q, want %q", c.in, c.scheme, got, c.want)
		}
	}
}

// rfcFormBase is the signature base of a POST of {"amount":1250} to
// http://127.0.0.1:80/v1/charge?dry=1, written out by hand from RFC 9421
// §2.2.3 and §2.5: the default port is not part of "@authority".
const rfcFormBase = `"@method": POST
"@authority": 127.0.0.1
"@path": /v1/charge
"@query": ?dry=1
"content-digest": sha-256=:n7QBBcVicaydao2gpvWE3ZAdZuTVUIFoQWClvGCMewg=:
"ledger-contract": 42:abc
"@signature-params": ("@method" "@authority" "@path" "@query" "content-digest" "ledger-contract");created=1700000000;expires=1700000030;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";alg="ed25519";tag="agentledger"`

// TestAuthorityRFCForm: the signer signs the hand-computed base for a
// request to :80, and the verifier accepts a signature over that base,
// as an independent implementation makes it, with or without the port in
// Host.
func TestAuthorityRFCForm(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	body := []byte(`{"amount":1250}`)
	s := &Signer{Key: key, KeyID: "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		Now: func() time.Time { return time.Unix(1700000000, 0) }, Nonce: func() (string, error) { return "AAAAAAAAAAAAAAAAAAAAAA", nil }}
	req, _ := http.NewRequest("POST", "http://127.0.0.1:80/v1/charge?dry=1", nil)
	req.Header.Set(HeaderContract, "42:abc")
	if err := s.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	want := "sig1=:" + base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(rfcFormBase))) + ":"
	if got := req.Header.Get(HeaderSignature); got != want {
		t.Errorf("Signature %s, want %s: the signer did not sign the RFC form of @authority", got, want)
	}

	v := &Verifier{Now: func() time.Time { return time.Unix(1700000005, 0) }}
	for _, host := range []string{"127.0.0.1", "127.0.0.1:80", "127.0.0.1:"} {
		in, _ := http.NewRequest("POST", "/v1/charge?dry=1", nil)
		in.Host = host
		in.Header.Set(HeaderContract, "42:abc")
		in.Header.Set(HeaderContentDigest, ContentDigest(body))
		in.Header.Set(HeaderSignatureInput, req.Header.Get(HeaderSignatureInput))
		in.Header.Set(HeaderSignature, want)
		if _, err := v.Verify(in, body); err != nil {
			t.Errorf("Host %q: the RFC form refused: %v", host, err)
		}
	}
}

// TestDefaultPortOverLoopback signs for a URL with the default port and
// sends Host without it, and the other way round, to real servers on
// loopback (plain and TLS): the verifier accepts each. A port that is not
// the scheme's default still counts.
func TestDefaultPortOverLoopback(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxBody+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := (&Verifier{}).Verify(r, body); err != nil {
			http.Error(w, Reason(err)+": "+err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "host %s", r.Host)
	})
	plain, secure := httptest.NewServer(handler), httptest.NewTLSServer(handler)
	defer plain.Close()
	defer secure.Close()
	// client dials srv whatever the URL says, as DNS or a proxy would.
	client := func(srv *httptest.Server) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}
		tr.DialTLSContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&tls.Dialer{Config: tr.TLSClientConfig}).DialContext(ctx, network, srv.Listener.Addr().String())
		}
		return &http.Client{Transport: tr}
	}
	for _, c := range []struct {
		srv        *httptest.Server
		url, host  string // signed for url, sent with Host host
		wantStatus int
	}{
		{plain, "http://127.0.0.1:80/v1/charge", "127.0.0.1", http.StatusOK},
		{plain, "http://127.0.0.1/v1/charge", "127.0.0.1:80", http.StatusOK},
		{plain, "http://LOCALHOST:80/v1/charge", "localhost", http.StatusOK},
		{secure, "https://127.0.0.1:443/v1/charge", "127.0.0.1", http.StatusOK},
		{secure, "https://127.0.0.1/v1/charge", "127.0.0.1:443", http.StatusOK},
		{plain, "http://127.0.0.1:443/v1/charge", "127.0.0.1", http.StatusUnauthorized},
		{secure, "https://127.0.0.1:80/v1/charge", "127.0.0.1", http.StatusUnauthorized},
		{plain, "http://127.0.0.1:8080/v1/charge", "127.0.0.1", http.StatusUnauthorized},
	} {
		t.Run(c.url+" as "+c.host, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, c.url)
			if err := (&Signer{Key: testKey(3), KeyID: testDID(3)}).Sign(req, []byte(testBody)); err != nil {
				t.Fatal(err)
			}
			req.Host = c.host
			resp, err := client(c.srv).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("%s: %s, want %d", resp.Status, msg, c.wantStatus)
			}
			if c.wantStatus == http.StatusOK && !strings.HasPrefix(string(msg), "host "+c.host) {
				t.Errorf("the server saw %q, not Host %q", msg, c.host)
			}
		})
	}
}
