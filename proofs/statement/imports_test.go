package statement

import (
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/importcheck"
)

// TestNoIO keeps the package pure: its non-test files may import only the
// packages below, none of which does I/O or touches storage. ("io" is
// there for the io.Reader that NewContractID takes.)
func TestNoIO(t *testing.T) {
	importcheck.Allow(t,
		"bytes",
		"crypto/ed25519",
		"encoding/hex",
		"encoding/json",
		"errors",
		"fmt",
		"io",
		"maps",
		"slices",
		"time",
		"unicode",
		"unicode/utf8",
		"github.com/agentledger/agentledger/proofs/did",
		"github.com/agentledger/agentledger/proofs/envelope",
		"github.com/agentledger/agentledger/proofs",
		"github.com/agentledger/agentledger/proofs/scope",
	)
}
