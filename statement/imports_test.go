package statement

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoIO keeps the package pure: its non-test files may import only the
// packages below, none of which does I/O or touches storage. ("io" is
// there for the io.Reader that NewContractID takes.)
func TestNoIO(t *testing.T) {
	allowed := map[string]bool{
		"bytes":                                  true,
		"encoding/hex":                           true,
		"encoding/json":                          true,
		"errors":                                 true,
		"fmt":                                    true,
		"io":                                     true,
		"maps":                                   true,
		"slices":                                 true,
		"time":                                   true,
		"unicode":                                true,
		"unicode/utf8":                           true,
		"github.com/agentledger/agentledger/did": true,
		"github.com/agentledger/agentledger/envelope": true,
		"github.com/agentledger/agentledger/proofs":   true,
		"github.com/agentledger/agentledger/scope":    true,
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
				t.Errorf("%s imports %q; package statement must stay free of I/O", name, path)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
