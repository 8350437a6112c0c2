package client

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/fuzzcheck"
	"github.com/agentledger/agentledger/proofs"
)

// FuzzAnswers points the client at a hostile ledger that gives every
// request the same fuzzed status and body. No call panics; a non-2xx
// answer is an *APIError with its status; and what a call does return
// checks out against what was asked: the leaf hash of the entry appended,
// the index or leaf hash of the entry fetched, the index and size of a
// proof, and a proof of at most 64 hashes.
func FuzzAnswers(f *testing.F) {
	a := fuzzcheck.NewAnswerer(f)
	c, err := New(a.URL, nil)
	if err != nil {
		f.Fatal(err)
	}
	entry := []byte(`{"payloadType":"application/vnd.agentledger.contract+json","payload":"e30=","signatures":[]}`)
	leaf := proofs.LeafHash(entry)
	f.Add(201, []byte(`{"index":7,"leaf_hash":"`+leaf.String()+`"}`))
	f.Add(200, []byte(`{"index":7,"leaf_hash":"`+proofs.LeafHash(nil).String()+`"}`))
	f.Add(200, []byte(`{"index":3,"leaf_hash":"`+leaf.String()+`","entry":"eyJwYXlsb2FkVHlwZSI6IiJ9"}`))
	f.Add(200, []byte(`{"index":3,"size":5,"leaf_hash":"x","proof":["`+leaf.String()+`"]}`))
	f.Add(200, []byte(`{"old":3,"new":5,"proof":["`+leaf.String()+`","AAAA"]}`))
	f.Add(200, []byte(`{"agents":[{"name":"a","did":"did:key:z","index":1,"proof":"x"}],"checked_size":2}`))
	f.Add(404, []byte(`{"error":"not_found","message":"no such entry"}`))
	f.Add(503, []byte(`<html>down</html>`))
	f.Add(200, []byte(`null`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 200 || code > 599 {
			return // not a status a server can send
		}
		a.Set(code, body)
		ctx := context.Background()
		failed := func(err error) bool {
			t.Helper()
			if err == nil {
				if code/100 != 2 {
					t.Fatalf("a %d answer was taken as success", code)
				}
				return false
			}
			var api *APIError
			if code/100 != 2 && (!errors.As(err, &api) || api.Status != code) {
				t.Fatalf("a %d answer gave %v, not an APIError of that status", code, err)
			}
			return true
		}
		if res, err := c.Append(ctx, entry); !failed(err) && (res.LeafHash != leaf || res.Duplicate != (code == http.StatusOK)) {
			t.Fatalf("append answered %+v", res)
		}
		if i, e, err := c.EntryByHash(ctx, leaf); !failed(err) && proofs.LeafHash(e) != leaf {
			t.Fatalf("entry by hash answered entry %d with another leaf hash", i)
		}
		if p, err := c.InclusionProof(ctx, 3, 5); !failed(err) && len(p) > 64 {
			t.Fatalf("inclusion proof of %d hashes", len(p))
		}
		if p, err := c.ConsistencyProof(ctx, 3, 5); !failed(err) && len(p) > 64 {
			t.Fatalf("consistency proof of %d hashes", len(p))
		}
		for _, call := range []func() error{
			func() error { _, err := c.Entry(ctx, 3); return err },
			func() error { _, err := c.Checkpoint(ctx); return err },
			func() error { _, err := c.Tile(ctx, proofs.Tile{Level: 0, Index: 0, Width: 3}); return err },
			func() error { _, err := c.Bundle(ctx, 3, 5); return err },
			func() error { _, err := c.Agent(ctx, "a/../b"); return err },
			func() error { _, err := c.Agents(ctx); return err },
			func() error { _, err := c.Contract(ctx, "x"); return err },
			func() error { _, err := c.Contracts(ctx, "s", "a"); return err },
		} {
			failed(call())
		}
	})
}
