package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentledger/agentledger/internal/secretscan"
	"github.com/agentledger/agentledger/internal/stack"
	"github.com/agentledger/agentledger/ledger/server"
)

// TestDemoLogsHoldNoSecrets runs the full demo (the ledger and the four
// agents, orders with a card and an address, every attack) and scans its
// output and every process's log for the private keys it made, the log's
// signing key, the card numbers and the customer's address and email.
func TestDemoLogsHoldNoSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	var out bytes.Buffer
	if code := run([]string{"ledgerctl", "demo", "--data", dir}, nil, &out, &out); code != 0 {
		t.Fatalf("demo exited %d:\n%s", code, out.String())
	}
	printed := filepath.Join(t.TempDir(), "demo.out")
	if err := os.WriteFile(printed, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	pems, _ := filepath.Glob(filepath.Join(dir, "agents", "*.pem"))
	pems = append(pems, filepath.Join(dir, server.FileAuthorityKey))
	if len(pems) != 6 {
		t.Fatalf("want the authority's and five parties' keys, found %v", pems)
	}
	secrets, err := secretscan.Secrets(pems, filepath.Join(dir, server.FileLogKey), stack.CustomerData()...)
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	if len(logs) < 5 {
		t.Fatalf("want the ledger's and four agents' logs, found %v", logs)
	}
	lines, found := secretscan.Files(append(logs, printed), secrets)
	for _, f := range found {
		t.Error(f)
	}
	// The scan saw real traffic: refusals and approvals were logged.
	if lines < 30 {
		t.Fatalf("only %d lines scanned", lines)
	}
	// And the scan can find a secret: plant one.
	planted := filepath.Join(t.TempDir(), "planted.log")
	if err := os.WriteFile(planted, []byte(`{"msg":"card 4242424242424242"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, found := secretscan.Files([]string{planted}, secrets); len(found) != 1 {
		t.Fatalf("a planted card number was found %d times", len(found))
	}
}
