package proofs

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoIO keeps the package pure: its non-test files may import only the
// packages below, none of which does I/O or touches storage.
func TestNoIO(t *testing.T) {
	allowed := map[string]bool{
		"bytes":                       true,
		"crypto/sha256":               true,
		"encoding/base64":             true,
		"encoding/binary":             true,
		"errors":                      true,
		"fmt":                         true,
		"math/bits":                   true,
		"strconv":                     true,
		"strings":                     true,
		"unicode/utf8":                true,
		"golang.org/x/mod/sumdb/note": true,
		"github.com/transparency-dev/merkle/compact": true,
		"github.com/transparency-dev/merkle/proof":   true,
		"github.com/transparency-dev/merkle/rfc6962": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if !allowed[path] {
				t.Errorf("%s imports %q; package proofs must stay free of I/O", name, path)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
