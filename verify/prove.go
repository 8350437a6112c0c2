package verify

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/proofs"
	"github.com/agentledger/agentledger/proofs/envelope"
	"github.com/agentledger/agentledger/proofs/statement"
)

// Why ProveEntry refuses. Each error it returns wraps exactly one.
var (
	// ErrMalformedProof: the bytes are not a C2SP tlog-proof.
	ErrMalformedProof = errors.New("malformed proof")
	// ErrProofNotVerified: the proof does not prove its entry under a
	// checkpoint the log key signed (the checkpoint's signature, its
	// origin, or the inclusion proof fails). Inclusion failures also
	// wrap a *proofs.InclusionError that keeps the evidence.
	ErrProofNotVerified = errors.New("proof does not verify")
	// ErrBadEntry: the proved entry is not a well-formed envelope whose
	// signature verifies and whose statement parses.
	ErrBadEntry = errors.New("invalid entry")
	// ErrWrongKind: the proved entry is not of the kind asked for.
	ErrWrongKind = errors.New("entry of another kind")
	// ErrWrongSigner: the proved entry is not signed by the key asked for.
	ErrWrongSigner = errors.New("entry of another signer")
)

// Want is what a proved entry must be beyond well formed. A zero field is
// not checked.
type Want struct {
	Kind   envelope.Kind // the statement kind
	Signer string        // the did:key that signed the envelope
}

// A ProvedEntry is a log entry established by its tlog-proof: it is in the
// log at Index under Checkpoint, which the log key signed, and its envelope
// is signed by Envelope.KeyID.
type ProvedEntry struct {
	Index      uint64
	LeafHash   proofs.Hash
	Entry      []byte             // the envelope's bytes, as logged
	Envelope   *envelope.Envelope // its signature verified
	Statement  any                // *statement.Registration, *Contract, *Revocation or *Action
	Checkpoint proofs.SignedCheckpoint
}

// ProveEntry is the one way to prove a log entry from a tlog-proof whose
// extra data is the entry (protocol.md §5): the proof parses, it proves the
// entry under a checkpoint signed by logKey (whose name is the log's
// origin), the entry is a canonical DSSE envelope whose signature
// verifies, its statement parses strictly, and it is of want's kind and
// signer. It does no I/O.
func ProveEntry(bundle []byte, logKey note.Verifier, want Want) (*ProvedEntry, error) {
	b, err := proofs.ParseBundle(bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedProof, err)
	}
	return ProveBundle(b, logKey, want)
}

// ProveBundle is ProveEntry for a bundle already parsed.
func ProveBundle(b proofs.Bundle, logKey note.Verifier, want Want) (*ProvedEntry, error) {
	cp, err := proofs.VerifyBundle(b, logKey.Name(), logKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProofNotVerified, err)
	}
	env, err := envelope.Parse(b.Extra)
	if err != nil {
		return nil, fmt.Errorf("%w: the proved entry %d is not an envelope: %w", ErrBadEntry, b.Index, err)
	}
	if want.Kind != "" && env.Kind != want.Kind {
		return nil, fmt.Errorf("%w: the proved entry %d is a %s, not a %s", ErrWrongKind, b.Index, env.Kind, want.Kind)
	}
	if want.Signer != "" && env.KeyID != want.Signer {
		return nil, fmt.Errorf("%w: the proved entry %d is signed by %s, not %s", ErrWrongSigner, b.Index, env.KeyID, want.Signer)
	}
	if _, err := env.Verify(); err != nil {
		return nil, fmt.Errorf("%w: the proved entry %d: %w", ErrBadEntry, b.Index, err)
	}
	st, err := statement.Parse(env.Kind, env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: the proved entry %d: %w", ErrBadEntry, b.Index, err)
	}
	return &ProvedEntry{Index: b.Index, LeafHash: proofs.LeafHash(b.Extra), Entry: b.Extra, Envelope: env,
		Statement: st, Checkpoint: cp}, nil
}

// ErrOtherProof: a log answered the proof of another entry, or under
// another tree size, than the one asked for.
var ErrOtherProof = errors.New("proof of another entry than asked")

// BundleSource serves the tlog-proofs of a log's entries under the
// checkpoint of a tree size, or the latest for size 0 (ledger/client.Client
// does).
type BundleSource interface {
	Bundle(ctx context.Context, index, size uint64) ([]byte, error)
}

// FetchProved fetches the tlog-proof of the entry at index under the
// checkpoint of tree size size (0: the latest) and proves it with
// ProveEntry. The proof must be of that index and, when size is not 0, of
// that tree size (else the error wraps ErrOtherProof). It returns the
// proved entry and the tlog-proof's bytes.
func FetchProved(ctx context.Context, src BundleSource, index, size uint64, logKey note.Verifier, want Want) (*ProvedEntry, []byte, error) {
	raw, err := src.Bundle(ctx, index, size)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching the proof of entry %d: %w", index, err)
	}
	b, err := proofs.ParseBundle(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformedProof, err)
	}
	if b.Index != index {
		return nil, nil, fmt.Errorf("%w: asked for entry %d, the proof is of entry %d", ErrOtherProof, index, b.Index)
	}
	e, err := ProveBundle(b, logKey, want)
	if err != nil {
		return nil, nil, err
	}
	if size != 0 && e.Checkpoint.Size != size {
		return nil, nil, fmt.Errorf("%w: asked for tree size %d, the proof is under tree size %d", ErrOtherProof, size, e.Checkpoint.Size)
	}
	return e, raw, nil
}
