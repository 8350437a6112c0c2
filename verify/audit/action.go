package audit

import (
	"errors"

	"github.com/agentledger/agentledger/proofs/scope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// The action rules (§9): what the agent that signed an action entry
// should have checked before it acted, the nonce rule, the served
// actions, and the refund rule (refunds.go).

func (e *Engine) action(c *checker, signer string, a *statement.Action, entry []byte) {
	if _, ok := e.s.Agents[signer]; !ok {
		c.add(KindUnregisteredSigner, "", "%s is not a registered agent", signer)
		return
	}
	if a.Agent != signer {
		c.add(KindAgentMismatch, "", "the statement names %s, the signer is %s", a.Agent, signer)
		return
	}
	if agent := e.s.Agents[signer]; !scope.Serves(agent.Serves, a.Action) {
		c.add(KindActionNotServed, "", "%s does not serve %s (it serves %s)", agent.Name, a.Action, scope.DescribeServed(agent.Serves))
	}
	e.authorized(c, signer, a)
	c.vs = append(c.vs, e.s.Charges.Apply(c.index, entry, a)...)
}

// authorized checks what an agent checks before it acts (§9).
func (e *Engine) authorized(c *checker, signer string, a *statement.Action) {
	if _, ok := e.s.Agents[a.Caller]; !ok {
		c.add(KindUnregisteredIdentity, ReasonCaller, "caller %s is not registered before index %d", a.Caller, c.index)
	}
	e.nonce(c, a)
	ct, leaf, ok := e.contractAt(c, a.Contract)
	if !ok {
		return
	}
	if signer != ct.Audience {
		c.add(KindNotAudience, "", "signer %s is not the contract's audience %s", signer, ct.Audience)
	}
	if a.Caller != ct.Subject {
		c.add(KindNotSubject, "", "caller %s is not the contract's subject %s", a.Caller, ct.Subject)
	}
	sc := statement.Contract{NotBefore: ct.NotBefore, Expires: ct.Expires}
	if err := sc.ValidAt(a.Time, e.skew); err != nil {
		reason := ReasonExpired
		if errors.Is(err, statement.ErrNotYetValid) {
			reason = ReasonNotYetValid
		}
		c.add(KindOutsideValidity, reason, "%v", err)
	}
	if idx, ok := e.s.Revoked[leaf]; ok {
		c.add(KindAfterRevocation, "", "contract at index %d was revoked at index %d", ct.Index, idx)
	}
	if d := scope.Grants(ct.Scopes, a.Request()); !d.Allowed {
		c.add(KindNotCovered, string(d.Reason), "%s", d.Detail)
	}
}

// nonce checks the nonce rule (statement.NonceWindow), the one the
// agents' guards keep: an action breaks it if an earlier action of the
// same agent for the same caller, with the same nonce, has a recorded time
// less than NonceWindow from its own, before or after. Every use is kept,
// so the rule holds pairwise whatever order the times come in; the
// violation names the first clashing use.
func (e *Engine) nonce(c *checker, a *statement.Action) {
	key := a.Caller + "|" + a.Agent + "|" + a.Nonce
	uses := e.s.Nonces[key]
	for _, u := range uses {
		if statement.NoncesClash(u.Time, a.Time) {
			c.add(KindNonceReused, "", "nonce %q from %s was used at index %d, recorded %v apart, within the nonce window of %v",
				a.Nonce, a.Caller, u.Index, a.Time.Sub(u.Time).Abs(), statement.NonceWindow)
			break
		}
	}
	e.s.Nonces[key] = append(uses, NonceUse{Index: c.index, Time: a.Time})
}

// servesOf is the list of a registration's served actions the state
// keeps: never nil, so that a state written before registrations served
// anything is told apart (Resume).
func servesOf(r *statement.Registration) []string {
	return append([]string{}, r.Serves...)
}

// contractAt returns the contract ref names, if it took effect at a lower
// index than the action, and reports contract_not_in_log otherwise.
func (e *Engine) contractAt(c *checker, ref statement.ContractRef) (Contract, string, bool) {
	if ref.Index >= c.index {
		c.add(KindContractNotInLog, ReasonLaterIndex, "contract index %d is not before the action's %d", ref.Index, c.index)
		return Contract{}, "", false
	}
	leaf, ok := e.byIndex[ref.Index]
	if !ok {
		c.add(KindContractNotInLog, ReasonNotAContract, "entry %d is not a contract in force in the log", ref.Index)
		return Contract{}, "", false
	}
	if want := ref.LeafHash.String(); leaf != want {
		c.add(KindContractNotInLog, ReasonLeafMismatch, "entry %d has leaf hash %s, not %s", ref.Index, leaf, want)
		return Contract{}, "", false
	}
	return e.s.Contracts[leaf], leaf, true
}
