package layout

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// reasonsHeading names the section of docs/protocol.md that lists every
// refusal reason.
const reasonsHeading = "Refusal reasons"

var (
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	// docRow is a table row whose first cell is one code in backquotes.
	docRow = regexp.MustCompile("^\\|\\s*`([^`]+)`\\s*\\|")
)

// TestReasonsDocumented keeps the reason constants and docs/protocol.md in
// step: every exported constant named Reason... whose value is a
// snake_case string literal has exactly one row in the "Refusal reasons"
// section, and every row there names such a constant.
func TestReasonsDocumented(t *testing.T) {
	root := moduleRoot(t)
	consts := collect(t, root)
	if len(consts) == 0 {
		t.Fatal("no Reason constants found; is the module root right?")
	}
	rows := documented(t, filepath.Join(root, "docs", "protocol.md"))

	var missing, twice, unknown []string
	for _, code := range slices.Sorted(maps.Keys(consts)) {
		switch n := rows[code]; {
		case n == 0:
			missing = append(missing, code+" ("+strings.Join(consts[code], ", ")+")")
		case n > 1:
			twice = append(twice, code+" ("+strconv.Itoa(n)+" rows)")
		}
	}
	for _, code := range slices.Sorted(maps.Keys(rows)) {
		if _, ok := consts[code]; ok {
			continue
		}
		unknown = append(unknown, code)
	}
	if len(missing) > 0 {
		t.Errorf("reason constants with no row in docs/protocol.md %q:\n\t%s", reasonsHeading, strings.Join(missing, "\n\t"))
	}
	if len(twice) > 0 {
		t.Errorf("reasons with more than one row in docs/protocol.md %q:\n\t%s", reasonsHeading, strings.Join(twice, "\n\t"))
	}
	if len(unknown) > 0 {
		t.Errorf("rows in docs/protocol.md %q that name no Reason constant:\n\t%s", reasonsHeading, strings.Join(unknown, "\n\t"))
	}
}

// moduleRoot returns the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// collect parses every non-test Go file of the module. It returns the
// snake_case values of exported Reason... constants, each with the
// constants that hold it.
func collect(t *testing.T, root string) map[string][]string {
	t.Helper()
	consts := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for code, name := range reasonConsts(f) {
			consts[code] = append(consts[code], rel+"."+name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return consts
}

// reasonConsts returns the snake_case values of f's exported constants
// named Reason..., keyed by value. A constant defined by another (such as
// ReasonNotFound = wire.ReasonNotFound) has no literal and is the other's
// code, counted where that one is defined.
func reasonConsts(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !id.IsExported() || !strings.HasPrefix(id.Name, "Reason") || i >= len(vs.Values) {
					continue
				}
				if v, ok := stringLit(vs.Values[i]); ok && snakeCase.MatchString(v) {
					out[v] = id.Name
				}
			}
		}
	}
	return out
}

// stringLit returns the value of a string literal node.
func stringLit(n ast.Node) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// documented reads the reasons section of the protocol document: how many
// rows name each code.
func documented(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]int{}
	in, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasSuffix(line, " "+reasonsHeading)
			found = found || in
			continue
		}
		if !in {
			continue
		}
		if m := docRow.FindStringSubmatch(line); m != nil && snakeCase.MatchString(m[1]) {
			rows[m[1]]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s has no section headed %q", path, reasonsHeading)
	}
	return rows
}
