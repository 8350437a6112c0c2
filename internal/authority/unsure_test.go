package authority

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/verified"
)

// fakeLedger answers every append with status and reason, and every
// lookup with 404: a ledger that took nothing the client can see yet.
func fakeLedger(t *testing.T, status int, reason string) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"` + reason + `","message":"fake"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not_found","message":"fake"}`))
	}))
	t.Cleanup(srv.Close)
	cl, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestRegisterKeepsTheKeyWhenTheOutcomeIsUnknown: a 5xx answer to an
// append may still be committed (the ledger queued the entry before its
// commit timed out), so the new key is kept and the error says the
// registration may have been recorded. A refusal (4xx) removes it.
func TestRegisterKeepsTheKeyWhenTheOutcomeIsUnknown(t *testing.T) {
	_, auth, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		status   int
		reason   string
		keyKept  bool
		isUnsure bool
	}{
		{http.StatusServiceUnavailable, "storage_unavailable", true, true},
		{http.StatusInternalServerError, "internal", true, true},
		{http.StatusBadRequest, "invalid_statement", false, false},
		{http.StatusConflict, "name_taken", false, false},
	} {
		out := filepath.Join(t.TempDir(), "agent.pem")
		_, err := Register(context.Background(), fakeLedger(t, tt.status, tt.reason), auth, Registration{Name: "agent", Risk: "low", KeyOut: out})
		_, statErr := os.Stat(out)
		var unsure *verified.UnsureAppend
		if err == nil || (statErr == nil) != tt.keyKept || errors.As(err, &unsure) != tt.isUnsure {
			t.Errorf("%d %s: err %v, key kept %v (want %v), unsure %v (want %v)", tt.status, tt.reason, err, statErr == nil, tt.keyKept, errors.As(err, &unsure), tt.isUnsure)
		}
	}
}
