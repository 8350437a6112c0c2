package registry

import (
	"testing"

	"github.com/agentledger/agentledger/ledger/wire"
	"github.com/agentledger/agentledger/verify/audit"
)

// TestAuditKindsAreWriteReasons checks that an auditor reports a broken
// write rule under the reason the ledger refuses it with. The audit
// package is pure and cannot import wire, so the two spell the values
// apart; this holds them together.
func TestAuditKindsAreWriteReasons(t *testing.T) {
	for _, c := range []struct{ kind, reason string }{
		{audit.KindBadSignature, wire.ReasonBadSignature},
		{audit.KindInvalidStatement, wire.ReasonInvalidStatement},
		{audit.KindNotAuthority, wire.ReasonNotAuthority},
		{audit.KindIssuerMismatch, wire.ReasonIssuerMismatch},
		{audit.KindNameTaken, wire.ReasonNameTaken},
		{audit.KindDIDRegistered, wire.ReasonDIDRegistered},
		{audit.KindContractIDTaken, wire.ReasonContractIDTaken},
		{audit.KindUnknownContract, wire.ReasonUnknownContract},
		{audit.KindNotIssuer, wire.ReasonNotIssuer},
		{audit.KindAlreadyRevoked, wire.ReasonAlreadyRevoked},
		{audit.KindUnregisteredSigner, wire.ReasonUnregisteredSigner},
		{audit.KindAgentMismatch, wire.ReasonAgentMismatch},
		{audit.KindScopeNotServed, wire.ReasonScopeNotServed},
		{audit.KindContractNotInLog, wire.ReasonContractNotInLog},
		{audit.KindNotAudience, wire.ReasonNotAudience},
	} {
		if c.kind != c.reason {
			t.Errorf("audit kind %q, ledger reason %q: one rule, two names", c.kind, c.reason)
		}
	}
}
