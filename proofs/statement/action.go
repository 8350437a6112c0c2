package statement

import (
	"time"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/scope"
)

// Limits on an action's nonce, in bytes.
const (
	MinNonceLen = 16
	MaxNonceLen = 128
)

// ArgsDigestPrefix starts every args_digest; 64 lower-case hex digits of
// the SHA-256 of the request body follow it.
const ArgsDigestPrefix = "sha256:"

const kindAction = "action"

// EntryRef names a log entry: its index and its RFC 6962 leaf hash. The
// leaf hash makes the reference check itself: an entry with another hash
// at that index is not the one named.
type EntryRef struct {
	Index    uint64
	LeafHash proofs.Hash
}

// ContractRef is an EntryRef naming a contract entry.
type ContractRef = EntryRef

// Action records an action an agent approved, before it acts. The
// approving agent signs it.
//
//   - agent: the approving agent's did:key (the signer);
//   - caller: the did:key of the agent that asked; the agent itself for
//     an action it takes on its own initiative, which only a standing
//     grant (Contract.Standing) can cover;
//   - contract: {"index":N,"leaf_hash":"<base64>"}, the contract relied on;
//   - action: the scope name asked for, resource:action
//     (scope.ParseAction);
//   - args_digest: "sha256:" and 64 lower-case hex digits;
//   - amount and currency (optional, both or neither): an int64 >= 0 of
//     minor units, and an upper-case ISO 4217 code scope.Exponent knows;
//   - quantity (optional): an int64 >= 0;
//   - target (optional): {"index":N,"leaf_hash":"<base64>"}, an earlier
//     action entry this action acts on; a payment:refund names the
//     action entry of the charge it refunds (docs/protocol.md §10);
//   - nonce: the request's nonce, MinNonceLen to MaxNonceLen characters
//     of [A-Za-z0-9_-];
//   - time: when it was approved.
type Action struct {
	Agent      string
	Caller     string
	Contract   ContractRef
	Action     string
	ArgsDigest string
	Amount     *int64
	Currency   string
	Quantity   *int64
	Target     *EntryRef
	Nonce      string
	Time       time.Time
}

type entryRefJSON struct {
	Index    uint64 `json:"index"`
	LeafHash string `json:"leaf_hash"`
}

type actionJSON struct {
	V          int           `json:"v"`
	Agent      string        `json:"agent"`
	Caller     string        `json:"caller"`
	Contract   entryRefJSON  `json:"contract"`
	Action     string        `json:"action"`
	ArgsDigest string        `json:"args_digest"`
	Amount     *int64        `json:"amount,omitempty"`
	Currency   string        `json:"currency,omitempty"`
	Quantity   *int64        `json:"quantity,omitempty"`
	Target     *entryRefJSON `json:"target,omitempty"`
	Nonce      string        `json:"nonce"`
	Time       string        `json:"time"`
}

// The fields of an action and of its contract reference. They are
// functions so that no caller can change them.
func actionFields() []string {
	return []string{"v", "agent", "caller", "contract", "action", "args_digest", "nonce", "time"}
}
func actionOptional() []string { return []string{"amount", "currency", "quantity", "target"} }
func entryRefFields() []string { return []string{"index", "leaf_hash"} }

// ParseAction parses an action statement. Errors wrap ErrInvalid.
func ParseAction(b []byte) (*Action, error) {
	o, err := decodeStatement(kindAction, b, actionFields(), actionOptional())
	if err != nil {
		return nil, err
	}
	a := &Action{
		Agent:  o.str("agent"),
		Caller: o.str("caller"),
	}
	ref := o.object("contract", entryRefFields())
	a.Contract = ContractRef{Index: ref.uint("index"), LeafHash: ref.hash("leaf_hash")}
	if ref.err != nil {
		return nil, ref.err
	}
	a.Action = o.str("action")
	a.ArgsDigest = o.str("args_digest")
	a.Amount = o.optInt("amount")
	if o.has("currency") {
		a.Currency = o.str("currency")
		if o.err == nil && a.Currency == "" {
			// Marshal leaves an empty currency out, so refuse it here.
			o.fail("currency", "empty")
		}
	}
	a.Quantity = o.optInt("quantity")
	if o.has("target") {
		t := o.object("target", entryRefFields())
		a.Target = &EntryRef{Index: t.uint("index"), LeafHash: t.hash("leaf_hash")}
		if t.err != nil {
			return nil, t.err
		}
	}
	a.Nonce = o.str("nonce")
	a.Time = o.time("time")
	if o.err != nil {
		return nil, o.err
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Marshal checks a and writes its canonical JSON. Errors wrap ErrInvalid.
func (a *Action) Marshal() ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	var target *entryRefJSON
	if a.Target != nil {
		target = &entryRefJSON{Index: a.Target.Index, LeafHash: a.Target.LeafHash.String()}
	}
	return marshal(kindAction, actionJSON{
		V: 1, Agent: a.Agent, Caller: a.Caller,
		Contract:   entryRefJSON{Index: a.Contract.Index, LeafHash: a.Contract.LeafHash.String()},
		Action:     a.Action,
		ArgsDigest: a.ArgsDigest,
		Amount:     a.Amount, Currency: a.Currency, Quantity: a.Quantity, Target: target,
		Nonce: a.Nonce, Time: formatTime(a.Time),
	})
}

func (a *Action) validate() error {
	if err := checkDID(kindAction, "agent", a.Agent); err != nil {
		return err
	}
	if err := checkDID(kindAction, "caller", a.Caller); err != nil {
		return err
	}
	if err := checkHash(kindAction, "contract.leaf_hash", a.Contract.LeafHash); err != nil {
		return err
	}
	if _, _, err := scope.ParseAction(a.Action); err != nil {
		return invalid(kindAction, "action", "%w", err)
	}
	if len(a.ArgsDigest) != len(ArgsDigestPrefix)+64 || a.ArgsDigest[:len(ArgsDigestPrefix)] != ArgsDigestPrefix ||
		!isLowerHex(a.ArgsDigest[len(ArgsDigestPrefix):], 64) {
		return invalid(kindAction, "args_digest", "%s is not sha256:<64 lower-case hex digits>", quote(a.ArgsDigest))
	}
	switch {
	case a.Amount == nil && a.Currency != "":
		return invalid(kindAction, "amount", "missing with currency")
	case a.Amount != nil && a.Currency == "":
		return invalid(kindAction, "currency", "missing with amount")
	case a.Amount != nil:
		if *a.Amount < 0 {
			return invalid(kindAction, "amount", "negative")
		}
		if _, ok := scope.Exponent(a.Currency); !ok {
			return invalid(kindAction, "currency", "%s is not a known upper-case ISO 4217 code", quote(a.Currency))
		}
	}
	if a.Quantity != nil && *a.Quantity < 0 {
		return invalid(kindAction, "quantity", "negative")
	}
	if a.Target != nil {
		if err := checkHash(kindAction, "target.leaf_hash", a.Target.LeafHash); err != nil {
			return err
		}
	}
	if !validNonce(a.Nonce) {
		return invalid(kindAction, "nonce", "not %d to %d characters of [A-Za-z0-9_-]", MinNonceLen, MaxNonceLen)
	}
	return checkTime(kindAction, "time", a.Time)
}

func validNonce(s string) bool {
	if len(s) < MinNonceLen || len(s) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
