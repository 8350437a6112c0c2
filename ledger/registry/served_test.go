package registry_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/authority"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/statement"
	"github.com/agentledger/agentledger/verify/audit"
)

// These tests attack a real ledger on loopback, over HTTP, as a client
// holding only what a registered party holds: its own key and the log.

// refused checks that err is the ledger's refusal with status and code,
// and that the log did not grow.
func refused(t *testing.T, l *testledger.Ledger, before uint64, err error, status int, code string) {
	t.Helper()
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != status || api.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	if l.Log.Size() != before {
		t.Fatalf("a refused entry grew the log from %d to %d", before, l.Log.Size())
	}
}

// TestActionUnderAForeignContractIsRefused: a registered agent records a
// payment:charge about itself under the order agent's contract at the
// payment agent, of which it is not the audience; and an action under a
// contract that is not in the log. Both are refused with their reasons.
// An action under the agent's own contract is taken, whether or not the
// contract grants it: the auditor judges that.
func TestActionUnderAForeignContractIsRefused(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	order := l.Register("order-agent", "low", "order:create")
	pay := l.Register("payment-agent", "high", "payment:charge", "payment:refund")
	inv := l.Register("inventory-agent", "medium", "inventory:reserve")
	_, ref := l.Issue(order, pay, "payment:charge:max_10000usd")

	charge := func(agent fixture.Identity, ref statement.ContractRef, nonce string) []byte {
		raw, err := fixture.Action(agent, fixture.ActionSpec{Caller: order.DID, Contract: ref, Action: "payment:charge",
			Body: []byte(`{"amount":99999}`), Amount: fixture.Int64(99999), Currency: "USD", Nonce: nonce, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	before := l.Log.Size()
	_, err := l.Client.Append(ctx, charge(inv, ref, "self-charge-0000000001"))
	refused(t, l, before, err, http.StatusForbidden, wire.ReasonNotAudience)

	ghost := statement.ContractRef{Index: ref.Index, LeafHash: proofs.LeafHash([]byte("a contract never appended"))}
	_, err = l.Client.Append(ctx, charge(pay, ghost, "ghost-charge-000000001"))
	refused(t, l, before, err, http.StatusBadRequest, wire.ReasonContractNotInLog)
	moved := statement.ContractRef{Index: ref.Index - 1, LeafHash: ref.LeafHash}
	_, err = l.Client.Append(ctx, charge(pay, moved, "moved-charge-000000001"))
	refused(t, l, before, err, http.StatusBadRequest, wire.ReasonContractNotInLog)

	// The audience may record under its contract: the ledger does not
	// judge whether the contract allowed it.
	if _, err := l.Client.Append(ctx, charge(pay, ref, "honest-charge-00000001")); err != nil {
		t.Fatalf("the audience's own action: %v", err)
	}
}

// TestContractsGrantOnlyServedActions issues contracts through the
// authority's own code path (authority.Issue, as ledgerctl contract issue
// does): mistyped scopes, and scopes at a party that serves nothing, are
// refused with scope_not_served and nothing is written.
func TestContractsGrantOnlyServedActions(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	order := l.Register("order-agent", "low", "order:create")
	l.Register("payment-agent", "high", "payment:charge", "payment:refund")
	l.Register("storefront", "low")
	issue := func(callee string, scopes ...string) error {
		_, err := authority.Issue(ctx, l.Client, l.Verifier, l.Authority.Key,
			authority.Grant{Caller: order.Name, Callee: callee, Scopes: scopes, TTL: time.Hour}, 5*time.Second)
		return err
	}
	for _, scopes := range [][]string{
		{"paymnt:charge:max_10000usd"},
		{"payment:chrage"},
		{"payment:charge:max_10000usd", "payment:chargeback"},
	} {
		before := l.Log.Size()
		refused(t, l, before, issue("payment-agent", scopes...), http.StatusBadRequest, wire.ReasonScopeNotServed)
	}
	before := l.Log.Size()
	refused(t, l, before, issue("storefront", "order:create"), http.StatusBadRequest, wire.ReasonScopeNotServed)
	if err := issue("payment-agent", "payment:charge:max_10000usd", "payment:refund"); err != nil {
		t.Fatalf("a contract within what the callee serves: %v", err)
	}
}

// TestAuditFlagsAnActionItsAgentDoesNotServe plants what the ledger does
// not refuse: the payment agent records an inventory:reserve, which it
// does not serve, under its own contract. The auditor reports it, and
// nothing else in the log.
func TestAuditFlagsAnActionItsAgentDoesNotServe(t *testing.T) {
	l := testledger.Start(t)
	ctx := context.Background()
	order := l.Register("order-agent", "low", "order:create")
	pay := l.Register("payment-agent", "high", "payment:charge")
	_, ref := l.Issue(order, pay, "payment:charge:max_10000usd")
	raw, err := fixture.Action(pay, fixture.ActionSpec{Caller: order.DID, Contract: ref, Action: "payment:charge",
		Body: []byte(`{}`), Amount: fixture.Int64(100), Currency: "USD", Nonce: "honest-charge-00000001", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Client.Append(ctx, raw); err != nil {
		t.Fatal(err)
	}
	raw, err = fixture.Action(pay, fixture.ActionSpec{Caller: order.DID, Contract: ref, Action: "inventory:reserve",
		Body: []byte(`{}`), Quantity: fixture.Int64(1), Nonce: "planted-reserve-000001", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	planted, err := l.Client.Append(ctx, raw)
	if err != nil {
		t.Fatalf("the ledger refused an action under the agent's own contract: %v", err)
	}

	e := audit.New(l.Authority.DID, 30*time.Second)
	for i := uint64(0); i < l.Log.Size(); i++ {
		entry, err := l.Log.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Check(i, entry); err != nil {
			t.Fatal(err)
		}
	}
	var kinds []string
	for _, v := range e.State().Violations {
		if v.Index != planted.Index {
			t.Errorf("violation at %d, not the planted entry %d: %+v", v.Index, planted.Index, v)
		}
		kinds = append(kinds, v.Kind)
	}
	if len(kinds) != 2 || kinds[0] != audit.KindActionNotServed || kinds[1] != audit.KindNotCovered {
		t.Fatalf("violations %q, want action_not_served then not_covered", kinds)
	}
}
