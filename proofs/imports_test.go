package proofs

import (
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/importcheck"
)

// TestNoIO keeps the package pure: its non-test files may import only the
// packages below, none of which does I/O or touches storage.
func TestNoIO(t *testing.T) {
	importcheck.Allow(t,
		"bytes",
		"crypto/sha256",
		"encoding/base64",
		"encoding/binary",
		"errors",
		"fmt",
		"math/bits",
		"strconv",
		"strings",
		"unicode/utf8",
		"golang.org/x/mod/sumdb/note",
		"github.com/transparency-dev/merkle/compact",
		"github.com/transparency-dev/merkle/proof",
		"github.com/transparency-dev/merkle/rfc6962",
	)
}
