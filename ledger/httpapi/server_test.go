package httpapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
)

func decodeError(t testing.TB, body string) string {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Message == "" {
		t.Fatalf("error body %q is not {\"error\",\"message\"} JSON", body)
	}
	return e.Error
}

func TestWriteStatuses(t *testing.T) {
	s := newTestServer(t)
	good, _ := fixture.Registration(s.auth, fixture.NewIdentity("agent"), "low", time.Now())
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	notAuthority, _ := envelope.Sign(envelope.KindContract, []byte(`{"v":1}`), stranger)
	// A signature from another key under the authority's keyid.
	forged := strings.Replace(string(notAuthority), envelopeKeyID(t, notAuthority), envelopeKeyID(t, good), 1)

	resp, body := s.post(t, good)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first append: %d %s", resp.StatusCode, body)
	}
	var first wire.Appended
	if err := json.Unmarshal([]byte(body), &first); err != nil {
		t.Fatal(err)
	}
	if first.LeafHash != proofs.LeafHash(good).String() {
		t.Fatalf("leaf hash %s, want %s", first.LeafHash, proofs.LeafHash(good))
	}
	resp, body = s.post(t, good)
	var dup wire.Appended
	_ = json.Unmarshal([]byte(body), &dup)
	if resp.StatusCode != http.StatusOK || dup.Index != first.Index {
		t.Fatalf("duplicate append: %d %s, want 200 with index %d", resp.StatusCode, body, first.Index)
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"not json", "hello", 400, "malformed_envelope"},
		{"empty", "", 400, "malformed_envelope"},
		{"bad signature", forged, 401, "bad_signature"},
		{"not the authority", string(notAuthority), 403, "not_authority"},
		{"over 64 KiB", strings.Repeat("x", MaxBodyBytes+1), 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.log.Size()
			resp, body := s.post(t, []byte(tc.body))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
			if code := decodeError(t, body); code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
			if s.log.Size() != before {
				t.Fatalf("refused write changed the log size")
			}
		})
	}
}

func envelopeKeyID(t testing.TB, raw []byte) string {
	t.Helper()
	e, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e.KeyID
}

func TestReadAPI(t *testing.T) {
	s := newTestServer(t)
	s.appendN(t, 0, 300)
	cp := s.waitCheckpoint(t, 300)

	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		path, ctype, cache string
		status             int
	}{
		{"/checkpoint", contentCheckpoint, cacheNone, 200},
		{"/tile/0/000", contentTile, cacheImmutable, 200},
		{"/tile/0/001.p/44", contentTile, cacheNone, 200},
		{"/tile/1/000.p/1", contentTile, cacheNone, 200},
		{"/tile/entries/000", contentTile, cacheImmutable, 200},
		{"/tile/entries/001.p/44", contentTile, cacheNone, 200},
		{"/tile/0/001", "application/json", "", 404},
		{"/tile/0/001.p/45", "application/json", "", 404},
		{"/tile/01/000", "application/json", "", 400},
		{"/tile/0/1", "application/json", "", 400},
		{"/v1/entries/007", "application/json", "", 400},
		{"/v1/entries/300", "application/json", "", 404},
		{"/v1/proofs/inclusion?index=1&size=301", "application/json", "", 400},
		{"/v1/proofs/consistency?old=10&new=9", "application/json", "", 400},
		{"/v1/bundles/300", "application/json", "", 404},
	} {
		resp, body := get(tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.status)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("GET %s: content type %q, want %q", tc.path, got, tc.ctype)
		}
		if tc.cache != "" && resp.Header.Get("Cache-Control") != tc.cache {
			t.Errorf("GET %s: cache %q, want %q", tc.path, resp.Header.Get("Cache-Control"), tc.cache)
		}
		if tc.status >= 400 {
			decodeError(t, body)
		}
	}
	if resp, body := get("/tile/0/000"); len(body) != 256*32 {
		t.Fatalf("full tile has %d bytes (%d)", len(body), resp.StatusCode)
	}

	// The bundle endpoint returns a self-contained proof that verifies.
	_, body := get("/v1/bundles/123")
	b, err := proofs.ParseBundle([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proofs.VerifyBundle(b, testOrigin, s.verifier); err != nil {
		t.Fatalf("bundle does not verify: %v", err)
	}
	// Inclusion by hash agrees with inclusion by index.
	e, _ := s.log.Entry(123)
	_, byIndex := get("/v1/proofs/inclusion?index=123")
	req, _ := http.NewRequest("GET", s.url+"/v1/proofs/inclusion", nil)
	req.URL.RawQuery = "hash=" + urlQuery(proofs.LeafHash(e).String())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	byHash, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(byIndex) != strings.TrimSpace(string(byHash)) {
		t.Fatalf("by index %s\nby hash %s", byIndex, byHash)
	}
	var inc wire.Inclusion
	if err := json.Unmarshal([]byte(byIndex), &inc); err != nil || inc.Size != cp.Size {
		t.Fatalf("inclusion answer %s: %v", byIndex, err)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(s)
}

func TestWrongMethodIsJSON405(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/entries/x/y"},
		{"DELETE", "/v1/entries"},
		{"PUT", "/checkpoint"},
		{"POST", "/tile/0/000"},
	} {
		req, _ := http.NewRequest(tc.method, s.url+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 && resp.StatusCode != 404 {
			t.Errorf("%s %s: %d", tc.method, tc.path, resp.StatusCode)
			continue
		}
		if tc.method != "GET" && resp.StatusCode != 405 {
			t.Errorf("%s %s: %d, want 405", tc.method, tc.path, resp.StatusCode)
		}
		decodeError(t, string(b))
	}
}
