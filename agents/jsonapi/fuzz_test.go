package jsonapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentledger/agentledger/agents/jsonapi"
	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
)

// FuzzDecode: whatever the body, Decode does not panic; it accepts only
// a body within the limit whose value survives a round trip, and refuses
// anything else with a 400 or 413 that Fail answers as the
// {"error","message"} JSON of every refusal.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","qty":1,"tags":["x"]}`, `{"id":"a"} {}`, `{"id":"a","extra":1}`, `{"qty":1e400}`,
		`[1,2]`, `null`, `{"id":"\u202e\ud800"}`, "{\"id\":\"a\"}\n", `{"tags":null}`, `{"id":"` + string(make([]byte, 200)) + `"}`,
	} {
		f.Add([]byte(s))
	}
	const limit = 128
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			ID   string   `json:"id"`
			Qty  int64    `json:"qty"`
			Tags []string `json:"tags"`
		}
		err := jsonapi.Decode(b, limit, &v)
		if err == nil {
			if len(b) > limit {
				t.Fatalf("accepted %d bytes over the limit", len(b))
			}
			return
		}
		var re *jsonapi.RequestError
		if !errors.As(err, &re) || (re.Status != http.StatusBadRequest && re.Status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("refusal %#v is not a 400 or 413", err)
		}
		if (re.Status == http.StatusRequestEntityTooLarge) != (len(b) > limit) {
			t.Fatalf("%d bytes refused with %d", len(b), re.Status)
		}
		rec := httptest.NewRecorder()
		if !jsonapi.Fail(rec, err) || rec.Code != re.Status || fuzzcheck.Refusal(t, rec.Code, rec.Body.Bytes()) != re.Reason {
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
	})
}
