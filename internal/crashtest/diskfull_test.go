package crashtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentledger/agentledger/internal/testkit/fixture"
	"github.com/agentledger/agentledger/ledger/client"
)

// TestDiskFullLosesNothing runs a real `ledgerctl serve` on a 48 MiB tmpfs
// and appends until the filesystem is full. Whatever the ledger does then
// (refuse with 503, or die: Badger writes through memory mappings, so a
// full disk usually raises SIGBUS), once space is freed a restart must
// hold every acknowledged entry at its index, no entry twice, and a tree
// consistent with every checkpoint served before; and it must take appends
// again. It needs root to mount the tmpfs and skips without it. A tmpfs
// keeps what the dead process wrote, so this tests the process dying on a
// full disk, not the machine losing power (the fsync contract covers that).
func TestDiskFullLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and fills a filesystem")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })

	data := filepath.Join(mnt, "log")
	const origin = "diskfull.agentledger.example/log"
	authority, verifier := initLog(t, data, origin)
	agent := fixture.NewIdentity("diskfull-agent")
	caller := fixture.NewIdentity("diskfull-caller")

	srv := start(t, data, 0)
	c, err := client.New(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, ref := register(t, c, authority, agent, caller)

	exited := make(chan struct{})
	go func() {
		_ = srv.cmd.Wait()
		close(exited)
	}()
	died := false
	got, seen := driveUntil(t, c, agent, caller.DID, ref, 0, func() {
		select {
		case <-exited:
			died = true
		case <-time.After(90 * time.Second):
			// It kept refusing rather than dying: stop it ourselves.
			_ = srv.cmd.Process.Kill()
			<-exited
		}
	}, verifier, origin)
	srv.logs.Close()
	all = append(all, got...)
	if len(got) == 0 {
		t.Fatal("no append was acknowledged before the disk filled; the test proved nothing")
	}
	if died && srv.cmd.ProcessState.Success() {
		t.Fatal("the ledger exited cleanly on a full disk")
	}
	out, _ := os.ReadFile(srv.logs.Name())
	t.Logf("%d acknowledged; ledger died by itself: %v (%s) %s",
		len(got), died, srv.cmd.ProcessState, why(out))

	// Free space and restart: everything acknowledged is there.
	if out, err := exec.Command("mount", "-o", "remount,size=512m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	srv = start(t, data, 1)
	defer srv.kill()
	c, err = client.New(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSurvivors(t, c, all, seen, verifier, origin)
	more, err := fixture.Action(agent, fixture.ActionSpec{
		Caller:   caller.DID,
		Contract: ref,
		Action:   "payment:charge", Body: []byte("after the disk was freed"),
		Amount: fixture.Int64(1), Currency: "USD", Nonce: "diskfull-after-space-was-freed", Time: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append(context.Background(), more); err != nil {
		t.Fatalf("append after space was freed: %v", err)
	}
}

// why is the first line of a server log that tells why it stopped: a Go
// fatal error or signal, or a storage failure.
func why(log []byte) string {
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "fatal error") || strings.Contains(l, "signal ") || strings.Contains(l, "storage") {
			return l
		}
	}
	return ""
}
