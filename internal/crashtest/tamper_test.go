package crashtest

import (
	"context"
	be "encoding/binary"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
)

// TestAuditCatchesAnEntryEditedOnDisk changes the bytes of one stored
// entry in the ledger's Badger store while it is down, as an operator with
// disk access could. A full audit of the served log must refuse it and
// name the entry, where a consistency check alone (checkpoints and tiles
// untouched) cannot see it.
func TestAuditCatchesAnEntryEditedOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	data := filepath.Join(t.TempDir(), "log")
	if out, err := exec.Command(binary, "init", "--data", data, "--origin", "tamper.example/log").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	srv := start(t, data, 0)
	lc, _ := client.New(srv.url, nil)
	authority, err := keyfile.Read(filepath.Join(data, "authority.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		raw, err := fixture.Registration(authority, fixture.NewIdentity(name), "low", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lc.Append(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // a checkpoint covers all three
	audit := func(state string) (int, string) {
		cmd := exec.Command(binary, "audit", "--ledger", srv.url, "--log-key", filepath.Join(data, "log.pub"),
			"--state", state, "--full", "--authority", filepath.Join(data, "authority.did"))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := audit(t.TempDir()); code != 0 || !strings.Contains(out, "clean") {
		t.Fatalf("audit of the untouched log: exit %d\n%s", code, out)
	}

	// Stop the ledger and edit entry 1 on disk: same length, one byte off.
	_ = srv.cmd.Process.Signal(syscall.SIGINT)
	_ = srv.cmd.Wait()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(data, "db")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 9)
	key[0] = 'e'
	be.BigEndian.PutUint64(key[1:], 1)
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		v[len(v)/2] ^= 1
		return txn.Set(key, v)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	srv = start(t, data, 1)
	defer srv.kill()
	code, out := audit(t.TempDir())
	if code != 3 || !strings.Contains(out, "entry 1 does not match its hash tile") {
		t.Fatalf("audit of the edited log: exit %d, want 3 naming entry 1\n%s", code, out)
	}
}
