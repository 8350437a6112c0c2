package jsonapi_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
)

type body struct {
	ID  string `json:"id"`
	Qty int64  `json:"qty"`
}

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		name, in string
		status   int // 0: accepted
	}{
		{"object", `{"id":"a","qty":1}`, 0},
		{"white space after", "{\"id\":\"a\"}\n\t ", 0},
		{"unknown field", `{"id":"a","colour":"red"}`, http.StatusBadRequest},
		{"trailing object", `{"id":"a"} {}`, http.StatusBadRequest},
		{"trailing garbage", `{"id":"a"}x`, http.StatusBadRequest},
		{"not json", `id=a`, http.StatusBadRequest},
		{"empty", ``, http.StatusBadRequest},
		{"wrong type", `{"qty":"1"}`, http.StatusBadRequest},
		{"fraction", `{"qty":1.5}`, http.StatusBadRequest},
		{"overflow", `{"qty":9223372036854775808}`, http.StatusBadRequest},
		{"truncated", `{"id":"a"`, http.StatusBadRequest},
		{"at the limit", `{"id":"` + strings.Repeat("a", 64-9) + `"}`, 0},
		{"over the limit", `{"id":"` + strings.Repeat("a", 64-8) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		var v body
		err := jsonapi.Decode([]byte(c.in), 64, &v)
		if c.status == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var re *jsonapi.RequestError
		if !errors.As(err, &re) || re.Status != c.status || re.Err == nil {
			t.Errorf("%s: got %#v, want a %d", c.name, err, c.status)
		}
	}
}

// TestRefusalWire pins the bytes of a refusal: every agent's tests and
// every client rely on them.
func TestRefusalWire(t *testing.T) {
	rec := httptest.NewRecorder()
	jsonapi.Refuse(rec, http.StatusConflict, "order_conflict", "a <different> order")
	if rec.Code != http.StatusConflict || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if got, want := rec.Body.String(), `{"error":"order_conflict","message":"a \u003cdifferent\u003e order"}`+"\n"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
	rec = httptest.NewRecorder()
	jsonapi.WriteJSON(rec, http.StatusOK, map[string]float64{"x": math.NaN()})
	if rec.Code != http.StatusInternalServerError || fuzzcheck.Refusal(t, rec.Code, rec.Body.Bytes()) != "internal" {
		t.Fatalf("unencodable answer: %d %s", rec.Code, rec.Body)
	}
}

func TestFail(t *testing.T) {
	rec := httptest.NewRecorder()
	if !jsonapi.Fail(rec, jsonapi.Decode([]byte(`{"x":1}`), 100, &body{})) || rec.Code != http.StatusBadRequest ||
		fuzzcheck.Refusal(t, rec.Code, rec.Body.Bytes()) != jsonapi.ReasonBadRequest {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if jsonapi.Fail(httptest.NewRecorder(), errors.New("store down")) {
		t.Fatal("answered a store error as a request error")
	}
	if err := jsonapi.Invalid(nil); err != nil {
		t.Fatal(err)
	}
	tooLarge := jsonapi.Decode(make([]byte, 10), 1, &body{})
	if again := jsonapi.Invalid(tooLarge); again != tooLarge {
		t.Fatalf("Invalid rewrapped %v", again)
	}
}

func TestValidID(t *testing.T) {
	for _, c := range []struct {
		s       string
		id, key bool
	}{
		{"a", true, true}, {"A-z_0.9", true, true}, {strings.Repeat("x", 8), true, true},
		{strings.Repeat("x", 9), false, false}, {"", false, false}, {"k:1", false, true},
		{"a/b", false, false}, {"../x", false, false}, {"a b", false, false}, {"é", false, false}, {"a\x00", false, false},
	} {
		if got := jsonapi.ValidID(c.s, 8); got != c.id {
			t.Errorf("ValidID(%q) = %v", c.s, got)
		}
		if got := jsonapi.ValidKey(c.s, 8); got != c.key {
			t.Errorf("ValidKey(%q) = %v", c.s, got)
		}
	}
}
