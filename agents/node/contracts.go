package node

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/proofs"
)

// MaxContracts bounds how many contract proofs an agent loads.
const MaxContracts = 1000

// ContractExt is the file extension of the contract proofs an agent loads.
const ContractExt = ".tlog-proof"

// ReadContracts reads every *.tlog-proof file in dir, in name order, for
// Config.Contract: at most MaxContracts, each at most
// proofs.MaxBundleSize. The files are not checked here: the node proves
// each one when it starts.
func ReadContracts(dir string) ([][]byte, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"+ContractExt))
	if err != nil {
		return nil, err
	}
	if len(files) > MaxContracts {
		return nil, fmt.Errorf("%s holds %d contract proofs; at most %d are loaded", dir, len(files), MaxContracts)
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		b, err := fileio.ReadLimit(f, proofs.MaxBundleSize, "contract proof")
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
