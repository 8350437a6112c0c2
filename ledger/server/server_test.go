package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// start runs Run on dir in the background and waits until it serves.
// stop ends Run's context, waits for Run and returns its error, after
// checking that the address file is gone.
func start(t *testing.T, dir string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrFile := filepath.Join(t.TempDir(), "addr")
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Dir: dir, Listen: "127.0.0.1:0", AddrFile: addrFile,
			CheckpointInterval: 10 * time.Millisecond, ShutdownTimeout: time.Second, Limits: DefaultLimits()})
	}()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			if _, err := os.Stat(addrFile); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the address file is left after Run returned (%v)", err)
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(addrFile); err == nil {
			return strings.TrimSpace(string(b)), stop
		}
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("Run returned before serving: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("Run wrote no address file")
	return "", nil
}

// TestRunReturnsWithEverythingClosed: Run serves the directory Init made,
// and once its context ends it returns nil with the listener closed, the
// store closed (the directory serves again) and the address file removed.
func TestRunReturnsWithEverythingClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	if _, _, err := Init(dir, "server.test/log"); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		addr, stop := start(t, dir)
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		resp.Body.Close()
		if err := stop(); err != nil {
			t.Fatalf("round %d: Run returned %v after its context ended", round, err)
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Fatalf("round %d: still serving after Run returned", round)
		}
	}
}

// TestErrorClasses: each failure a person can act on matches its class.
func TestErrorClasses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	if _, _, err := Init(dir, "server.test/log"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Init(dir, "server.test/log"); !errors.Is(err, ErrLogExists) || !strings.Contains(err.Error(), "already holds a log") {
		t.Errorf("Init of a log's directory: %v, want ErrLogExists", err)
	}
	run := func(dir, listen string) error {
		return Run(t.Context(), Config{Dir: dir, Listen: listen})
	}
	if err := run(t.TempDir(), "127.0.0.1:0"); !errors.Is(err, ErrNotDataDir) {
		t.Errorf("Run of an empty directory: %v, want ErrNotDataDir", err)
	}

	addr, stop := start(t, dir)
	if err := run(dir, "127.0.0.1:0"); !errors.Is(err, ErrOpen) {
		t.Errorf("Run of a directory served already: %v, want ErrOpen", err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if _, _, err := Init(other, "server.test/other"); err != nil {
		t.Fatal(err)
	}
	if err := run(other, addr); !errors.Is(err, ErrListen) {
		t.Errorf("Run on an address in use: %v, want ErrListen", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(filepath.Join(dir, FileLogKey), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, "127.0.0.1:0"); !errors.Is(err, ErrLogKeyExposed) || strings.Contains(err.Error(), "PRIVATE") {
		t.Errorf("Run with a log key others may read: %v, want ErrLogKeyExposed", err)
	}
}
