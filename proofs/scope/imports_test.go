package scope

import (
	"testing"

	"github.com/agentledger/agentledger/internal/testkit/importcheck"
)

// TestNoIO keeps the package pure: its non-test files may import only the
// packages below, none of which does I/O or touches storage.
func TestNoIO(t *testing.T) {
	importcheck.Allow(t,
		"errors",
		"fmt",
		"math",
		"sort",
		"strconv",
		"strings",
	)
}
