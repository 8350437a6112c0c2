// Package fuzzcheck holds the invariants the fuzz targets share: that a
// parser's accepted value survives being written back out and parsed
// again, and that a refusal is the JSON {"error","message"} every HTTP
// answer of the project uses; and a server that answers whatever a fuzz
// target tells it to.
package fuzzcheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

// RoundTrip checks that v, which parse accepted, encodes to JSON that
// parse accepts again as the same value: what a parser lets through is
// already in its normal form, and nothing it keeps is lost on the way out.
func RoundTrip[T any](t testing.TB, v T, parse func([]byte) (T, error)) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("accepted %#v does not encode: %v", v, err)
	}
	again, err := parse(b)
	if err != nil {
		t.Fatalf("accepted %#v, but not its encoding %s: %v", v, b, err)
	}
	if !reflect.DeepEqual(again, v) {
		t.Fatalf("accepted %#v, and its encoding %s as %#v", v, b, again)
	}
}

// Refusal checks that body is a JSON refusal {"error","message"} with
// both set, and returns its reason.
func Refusal(t testing.TB, status int, body []byte) string {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Message == "" {
		t.Fatalf("refusal %d is not {\"error\",\"message\"} JSON: %s", status, body)
	}
	return e.Error
}

// Answerer is a hostile HTTP server for fuzzing clients: it answers every
// request with the status and body last set.
type Answerer struct {
	URL    string
	mu     sync.Mutex
	status int
	body   []byte
}

// NewAnswerer starts an Answerer until tb ends.
func NewAnswerer(tb testing.TB) *Answerer {
	tb.Helper()
	a := &Answerer{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	tb.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Set makes status and body the answer to every request from now on.
func (a *Answerer) Set(status int, body []byte) {
	a.mu.Lock()
	a.status, a.body = status, body
	a.mu.Unlock()
}
