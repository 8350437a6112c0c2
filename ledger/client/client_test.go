package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger/client"
)

// TestAppendHonoursRetryAfter has an agent write past its rate on a real
// ledger: with time left before its deadline the client waits out the
// ledger's Retry-After and the entry goes in; without, it gets the 429 at
// once, with its reason and Retry-After.
func TestAppendHonoursRetryAfter(t *testing.T) {
	l := testledger.StartLimited(t, 1, 1) // one entry per second per agent
	agent, caller := l.Register("inventory-agent", "low", "inventory:check"), l.Register("order-agent", "low")
	_, contract := l.Issue(caller, agent, "inventory:check")
	entry := func(n int) []byte {
		raw, err := fixture.NthAction(agent, caller.DID, contract, n)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if _, err := l.Client.Append(t.Context(), entry(1)); err != nil {
		t.Fatalf("first entry: %v", err)
	}

	// No time for a retry: the refusal comes back as it is.
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := l.Client.Append(short, entry(2))
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests || apiErr.Code != "rate_limited" || apiErr.RetryAfter < time.Second {
		t.Fatalf("over the rate with no time to wait: %v, want a 429 rate_limited APIError with RetryAfter", err)
	}

	// Time enough: the client waits and the entry is appended.
	long, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	third := entry(3)
	res, err := l.Client.Append(long, third)
	if err != nil {
		t.Fatalf("over the rate with time to wait: %v", err)
	}
	if got, err := l.Client.Entry(t.Context(), res.Index); err != nil || string(got) != string(third) {
		t.Fatalf("entry %d is not the one appended: %v", res.Index, err)
	}
}
