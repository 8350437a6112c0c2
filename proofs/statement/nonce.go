package statement

import "time"

// NonceWindow is the window of the nonce rule, the one rule about nonces
// that agents enforce and auditors check:
//
//	Two actions signed by one agent, for one caller, with one nonce,
//	whose times are less than NonceWindow apart, break the rule.
//
// The rule reads nothing but the two entries' agent, caller, nonce and
// time fields, so an auditor checks it from the log alone. An agent's
// guard keeps it by remembering each nonce it approves until
// NonceReusableAt of the approval's recorded time (agents/guard has the
// derivation). Nothing about the request's own signature times enters the
// rule: a caller chooses those, and a rule that depended on them would let
// a caller put an honest agent in breach.
//
// NonceWindow is the width of the window in which one signed request is
// accepted at the default skew (agents/httpsig: created within 30 s of the
// callee's clock, either side), so an auditor also sees nearly every
// replay of one signed request that an agent's lost store let through.
// Honest callers take a fresh random nonce for every request and never
// come near the rule.
const NonceWindow = time.Minute

// NoncesClash reports whether two uses of one nonce by one caller at one
// agent, recorded at times a and b, break the nonce rule: whether they are
// less than NonceWindow apart, in either order. It is symmetric, and
// NoncesClash(t, t) holds.
func NoncesClash(a, b time.Time) bool {
	d := a.Sub(b) // saturates, so times centuries apart do not clash
	return d < NonceWindow && d > -NonceWindow
}

// NonceReusableAt is the earliest time at which a second use of a nonce
// used at t does not clash with it: NoncesClash(t, u) is false for every u
// at or after NonceReusableAt(t), and true just before it.
func NonceReusableAt(t time.Time) time.Time { return t.Add(NonceWindow) }
