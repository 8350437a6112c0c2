// Package layout holds the tests that keep the module's architecture what
// docs/architecture.md says it is: which layer may import what, and the
// package list itself.
package layout

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/agentledger/agentledger"

// goList runs go list in the module root with args and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s", dir)
	}
	return dir
}

// deps lists what the non-test code of the packages matching pattern
// depends on, directly or not.
func deps(t *testing.T, pattern string) []string {
	return goList(t, "-deps", pattern)
}

// TestProofsIsPure: proofs/... does no I/O and touches no storage, so that
// a verifier can check evidence offline with it alone. (Its packages'
// exact imports are held to allowlists by their own TestNoIO.)
func TestProofsIsPure(t *testing.T) {
	forbidden := []string{"os", "os/exec", "net", "net/http", "io/fs", "path/filepath", "syscall", "database/sql"}
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./proofs/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if slices.Contains(forbidden, imp) {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
	for _, d := range deps(t, "./proofs/...") {
		if strings.Contains(d, "badger") || (strings.HasPrefix(d, module+"/") && !strings.HasPrefix(d, module+"/proofs")) {
			t.Errorf("proofs/... depends on %s", d)
		}
	}
}

// TestVerifyIsSmall: verify/... imports nothing from the ledger's server
// side, from the agents, or from Badger, so an auditor can vendor it.
func TestVerifyIsSmall(t *testing.T) {
	for _, d := range deps(t, "./verify/...") {
		if strings.HasPrefix(d, module+"/ledger") || strings.HasPrefix(d, module+"/agents") ||
			strings.HasPrefix(d, module+"/cmd") || strings.Contains(d, "badger") {
			t.Errorf("verify/... depends on %s", d)
		}
	}
}

// TestMerkleMathsOnlyThroughProofs: the compact range and RFC 6962
// hashing are used through package proofs (and by verify), never built
// again by hand elsewhere.
func TestMerkleMathsOnlyThroughProofs(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, module+"/proofs") || strings.HasPrefix(pkg, module+"/verify") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if imp == "github.com/transparency-dev/merkle/compact" || imp == "github.com/transparency-dev/merkle/rfc6962" {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}

// TestNothingImportsTestSupport: product code never imports
// internal/testkit (test files may). The one exception is the hostile
// benchmark, which drives the attack clients the tests use.
func TestNothingImportsTestSupport(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, module+"/internal/testkit") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if pkg == module+"/internal/bench" && imp == module+"/internal/testkit/attack" {
				continue
			}
			if strings.HasPrefix(imp, module+"/internal/testkit") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}

// TestArchitectureListsEveryPackage: the package list in
// docs/architecture.md is go list ./..., no more and no less.
func TestArchitectureListsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := documentedPackages(doc)
	if len(listed) == 0 {
		t.Fatal("docs/architecture.md has no package list (a ``` block after \"## Packages\")")
	}
	var want []string
	for _, p := range goList(t, "./...") {
		want = append(want, strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
	}
	for _, p := range want {
		if !slices.Contains(listed, p) {
			t.Errorf("docs/architecture.md does not list %s", p)
		}
	}
	for _, p := range listed {
		if !slices.Contains(want, p) {
			t.Errorf("docs/architecture.md lists %s, which is not a package", p)
		}
	}
}

// documentedPackages reads the first code block after the "## Packages"
// heading: each line that starts in the first column names a package
// directory (a trailing "/" is dropped); indented lines continue the
// description of the one above.
func documentedPackages(doc []byte) []string {
	var out []string
	inSection, inBlock := false, false
	first := regexp.MustCompile(`^([a-z][a-z0-9/_-]*)`)
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			if inSection {
				return out
			}
			inSection = strings.HasPrefix(line, "## Packages")
		case inSection && strings.HasPrefix(line, "```"):
			if inBlock {
				return out
			}
			inBlock = true
		case inBlock:
			if m := first.FindStringSubmatch(line); m != nil {
				out = append(out, strings.TrimSuffix(m[1], "/"))
			}
		}
	}
	return out
}
