// Package fuzzcheck holds the invariants the fuzz targets share: that a
// parser's accepted value survives being written back out and parsed
// again, and that a refusal is the JSON {"error","message"} every HTTP
// answer of the project uses.
package fuzzcheck

import (
	"encoding/json"
	"reflect"
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
