package authority_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/authority"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/internal/testkit/testledger"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs/statement"
)

// TestWrongLogKeyWritesNothing: each operation that proves what it wrote
// checks the log key against the ledger's checkpoint first. Given another
// log's key it fails with nothing written (no entry, no key file), and
// the same call with the right key then succeeds: the name is not taken.
func TestWrongLogKeyWritesNothing(t *testing.T) {
	ctx := context.Background()
	l := testledger.Start(t)
	caller, callee := l.Register("order-agent", "low"), l.Register("payment-agent", "high", "payment:charge")
	_, wrong := testledger.NewLogKey(t)
	key := l.Authority.Key
	keyOut := filepath.Join(t.TempDir(), "inventory-agent.pem")
	reg := authority.Registration{Name: "inventory-agent", Risk: statement.RiskMedium, KeyOut: keyOut, LogKey: wrong, Wait: 5 * time.Second}

	size := l.Log.Size()
	wrote := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("%s under another log's key: got %v, want a checkpoint that does not verify", what, err)
		}
		if got := l.Log.Size(); got != size {
			t.Errorf("%s under another log's key wrote %d entries", what, got-size)
		}
	}
	_, err := authority.Register(ctx, l.Client, key, reg)
	wrote("register", err)
	if err != nil && !strings.Contains(err.Error(), "nothing was registered") {
		t.Errorf("register: %v does not say that nothing was registered", err)
	}
	if _, serr := os.Stat(keyOut); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("register under another log's key left a key file: %v", serr)
	}
	_, err = authority.Issue(ctx, l.Client, wrong, key, authority.Grant{Caller: caller.DID, Callee: callee.DID, Scopes: []string{"payment:charge"}, TTL: time.Hour}, time.Second)
	wrote("issue", err)

	// With the right key, the same registration is taken and proved.
	reg.LogKey = l.Verifier
	res, err := authority.Register(ctx, l.Client, key, reg)
	if err != nil || res.Proved == nil || res.Duplicate {
		t.Fatalf("register with the right key after a wrong one: %+v, %v", res, err)
	}
	issued, err := authority.Issue(ctx, l.Client, l.Verifier, key, authority.Grant{Caller: caller.DID, Callee: callee.DID, Scopes: []string{"payment:charge"}, TTL: time.Hour}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	size = l.Log.Size()
	_, _, err = authority.Revoke(ctx, l.Client, wrong, key, issued.Contract.ID, "test", time.Second)
	wrote("revoke", err)
}

// TestAppendProvedChecksFirst: AppendProved appends nothing until the
// ledger's checkpoint verifies under the key it will prove with.
func TestAppendProvedChecksFirst(t *testing.T) {
	l := testledger.Start(t)
	_, wrong := testledger.NewLogKey(t)
	st := &statement.Registration{Name: "lone-agent", DID: fixture.NewIdentity("lone-agent").DID, Risk: statement.RiskLow, Time: time.Now().UTC().Truncate(time.Second)}
	size := l.Log.Size()
	_, _, err := verified.AppendProved(context.Background(), l.Client, wrong, st, l.Authority.Key, time.Second, "the registration")
	if err == nil || !strings.Contains(err.Error(), "nothing was appended") {
		t.Errorf("got %v, want a refusal before the append", err)
	}
	if got := l.Log.Size(); got != size {
		t.Errorf("%d entries written under another log's key", got-size)
	}
}
