package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadContractsReadsInNameOrderAndBoundsTheCount(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b" + ContractExt, "a" + ContractExt, "ignored.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadContracts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0]) != "a"+ContractExt || string(got[1]) != "b"+ContractExt {
		t.Fatalf("ReadContracts = %q, want the two proofs in name order", got)
	}
	if _, err := ReadContracts(filepath.Join(dir, "a"+ContractExt)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("ReadContracts(a file) = %v, want not a directory", err)
	}
	for i := range MaxContracts {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("c%04d%s", i, ContractExt)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadContracts(dir); err == nil || !strings.Contains(err.Error(), "at most 1000") {
		t.Errorf("ReadContracts(%d proofs) = %v, want refused", MaxContracts+2, err)
	}
}
