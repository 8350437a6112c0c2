package secretscan

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesFindsAndFailsClosed finds a planted secret, and reports a line
// too long to scan as a finding rather than passing the file unread.
func TestFilesFindsAndFailsClosed(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	planted := filepath.Join(dir, "planted.log")
	long := filepath.Join(dir, "long.log")
	if err := os.WriteFile(clean, []byte("{\"msg\":\"order\"}\n{\"msg\":\"ok\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planted, []byte("{\"msg\":\"card 4242424242424242\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A secret past a 17 MiB line would never be looked at.
	huge := append(bytes.Repeat([]byte("x"), 17<<20), []byte("\n4242424242424242\n")...)
	if err := os.WriteFile(long, huge, 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"4242424242424242"}
	if lines, found := Files([]string{clean}, secrets); lines != 2 || len(found) != 0 {
		t.Fatalf("clean file: %d lines, found %v", lines, found)
	}
	if _, found := Files([]string{planted}, secrets); len(found) != 1 || !strings.Contains(found[0], "line 1 holds secret #0") {
		t.Fatalf("planted file: %v", found)
	}
	if _, found := Files([]string{long}, secrets); len(found) != 1 || !strings.Contains(found[0], "unreadable after line 0") {
		t.Fatalf("overlong line: %v", found)
	}
	for _, f := range [][]string{{planted}, {long}} {
		_, found := Files(f, secrets)
		if strings.Contains(strings.Join(found, " "), secrets[0]) {
			t.Fatal("a finding names the secret itself")
		}
	}
}
