package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/fileio"
)

// allCommands returns every command of the app with its full name.
func allCommands(prefix string, cmds []*cli.Command) map[string]*cli.Command {
	out := map[string]*cli.Command{}
	for _, c := range cmds {
		name := strings.TrimSpace(prefix + " " + c.Name)
		out[name] = c
		for n, sub := range allCommands(name, c.Subcommands) {
			out[n] = sub
		}
	}
	return out
}

// TestEveryFlagHasAnEnvVar enforces the CLI convention: every flag can be
// set by a LEDGER_* environment variable, unique within its command.
func TestEveryFlagHasAnEnvVar(t *testing.T) {
	app := newApp(nil, io.Discard, io.Discard)
	for name, c := range allCommands("", app.Commands) {
		seen := map[string]string{}
		for _, f := range c.Flags {
			ev, ok := f.(interface{ GetEnvVars() []string })
			if !ok || len(ev.GetEnvVars()) == 0 {
				t.Errorf("%s: flag --%s has no environment variable", name, f.Names()[0])
				continue
			}
			for _, v := range ev.GetEnvVars() {
				if !strings.HasPrefix(v, "LEDGER_") {
					t.Errorf("%s: flag --%s: environment variable %s does not start with LEDGER_", name, f.Names()[0], v)
				}
				if other, dup := seen[v]; dup {
					t.Errorf("%s: flags --%s and --%s share %s", name, other, f.Names()[0], v)
				}
				seen[v] = f.Names()[0]
			}
		}
	}
}

// TestEveryCommandTeachesByExample checks that each command that does
// something has a description with an example invocation.
func TestEveryCommandTeachesByExample(t *testing.T) {
	app := newApp(nil, io.Discard, io.Discard)
	for name, c := range allCommands("", app.Commands) {
		if c.Action == nil {
			continue
		}
		if !strings.Contains(c.Description, "Example") || !strings.Contains(c.Description, "ledgerctl "+strings.Fields(name)[0]) {
			t.Errorf("%s: description has no example invocation", name)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args    []string
		want    int
		wantErr string
	}{
		{[]string{"--help"}, exitOK, ""},
		{[]string{"nope"}, exitUsage, `ledgerctl: error: unknown command "nope"`},
		{[]string{"init", "--nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"init", "--data", filepath.Join(dir, "x")}, exitUsage, "missing required flag --origin"},
		{[]string{"keys", "did", filepath.Join(dir, "missing.pem")}, exitFailed, "no such file"},
	} {
		var stdout, stderr bytes.Buffer
		got := run(append([]string{"ledgerctl"}, tc.args...), nil, &stdout, &stderr)
		if got != tc.want {
			t.Errorf("ledgerctl %v: exit %d, want %d (stderr %q)", tc.args, got, tc.want, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.wantErr) {
			t.Errorf("ledgerctl %v: stderr %q does not contain %q", tc.args, stderr.String(), tc.wantErr)
		}
	}
}

func TestHintsFollowTheChain(t *testing.T) {
	inner := withHint(errors.New("inner"), "fix the inner thing")
	outer := withHint(fmt.Errorf("outer: %w", inner), "fix the outer thing")
	var stderr bytes.Buffer
	if code := report(&stderr, outer); code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	want := "ledgerctl: error: outer: inner\n" +
		"ledgerctl: hint: fix the outer thing\n" +
		"ledgerctl: hint: fix the inner thing\n"
	if stderr.String() != want {
		t.Errorf("report wrote\n%s\nwant\n%s", stderr.String(), want)
	}
	if code := report(io.Discard, fmt.Errorf("wrapped: %w", usageError("bad"))); code != exitUsage {
		t.Errorf("a wrapped usage error exits %d, want %d", code, exitUsage)
	}
}

func TestReadFileLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, make([]byte, 11), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fileio.ReadLimit(path, 11, "test file"); err != nil {
		t.Errorf("file at the limit: %v", err)
	}
	_, err := fileio.ReadLimit(path, 10, "test file")
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 10 bytes") {
		t.Errorf("file over the limit: got %v", err)
	}
	if _, err := fileio.ReadLimit(dir, 10, "test file"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: got %v", err)
	}
}

func TestWriteFileAtomicLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "addr")
	for _, content := range []string{"127.0.0.1:1\n", "127.0.0.1:22\n"} {
		if err := fileio.WriteAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the written one", len(entries))
	}
	if err := fileio.WriteAtomic(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
