// Package wire holds the JSON bodies of the ledger's HTTP API, shared by
// the server (package httpapi) and the client (package client). Hashes are
// standard base64; entries are base64 of the envelope bytes; proofs are
// C2SP tlog-proof text.
package wire

import "time"

// Error is every error answer: {"error":"<code>","message":"..."}.
type Error struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Appended answers POST /v1/entries.
type Appended struct {
	Index    uint64 `json:"index"`
	LeafHash string `json:"leaf_hash"`
}

// Entry is an entry as the JSON API returns it.
type Entry struct {
	Index    uint64 `json:"index"`
	LeafHash string `json:"leaf_hash"`
	Entry    []byte `json:"entry"` // base64 in JSON
}

// Inclusion is an inclusion proof as the JSON API returns it.
type Inclusion struct {
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
}

// Consistency is a consistency proof as the JSON API returns it.
type Consistency struct {
	Old   uint64   `json:"old"`
	New   uint64   `json:"new"`
	Proof []string `json:"proof"`
}

// Agent is a registered agent. Proof is the C2SP tlog-proof of its
// registration entry under the checkpoint of size CheckedSize.
type Agent struct {
	Name        string    `json:"name"`
	DID         string    `json:"did"`
	Risk        string    `json:"risk"`
	Serves      []string  `json:"serves"` // [] when it serves nothing
	Time        time.Time `json:"time"`
	Index       uint64    `json:"index"`
	Proof       string    `json:"proof"`
	CheckedSize uint64    `json:"checked_size"`
}

// Contract is a contract with its revocation status. Proof is the
// tlog-proof of the contract entry; each revocation carries its own.
// Revoked and Revocations speak for the log up to CheckedSize, the size of
// the checkpoint every proof in the answer is under.
type Contract struct {
	ID          string       `json:"id"`
	Index       uint64       `json:"index"`
	LeafHash    string       `json:"leaf_hash"`
	Issuer      string       `json:"issuer"`
	Subject     string       `json:"subject"`
	Audience    string       `json:"audience"`
	Scopes      []string     `json:"scopes"`
	NotBefore   time.Time    `json:"not_before"`
	Expires     time.Time    `json:"expires"`
	Time        time.Time    `json:"time"`
	Proof       string       `json:"proof"`
	Revoked     bool         `json:"revoked"`
	Revocations []Revocation `json:"revocations"`
	CheckedSize uint64       `json:"checked_size"`
}

// Revocation is one revocation of a contract, with its proof.
type Revocation struct {
	Index  uint64    `json:"index"`
	Signer string    `json:"signer"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
	Proof  string    `json:"proof"`
}

// Agents answers GET /v1/agents.
type Agents struct {
	Agents      []Agent `json:"agents"`
	CheckedSize uint64  `json:"checked_size"`
}

// Contracts answers GET /v1/contracts.
type Contracts struct {
	Contracts   []Contract `json:"contracts"`
	CheckedSize uint64     `json:"checked_size"`
}
