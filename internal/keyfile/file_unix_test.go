//go:build unix

package keyfile

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadRefusesFIFO checks that Read refuses a FIFO without blocking on
// it.
func TestReadRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.key")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Read(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Read of a fifo: %v, want a not-a-regular-file error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read blocked on a fifo")
	}
}

func TestReadRefusesDevice(t *testing.T) {
	if _, err := Read("/dev/null"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Read(/dev/null): %v, want a not-a-regular-file error", err)
	}
}
