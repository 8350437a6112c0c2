package proofs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// evidenceHeader is the first line of the consistency evidence format.
const evidenceHeader = "agentledger/consistency-evidence@v1"

// MaxEvidenceSize bounds the consistency evidence accepted by
// [ParseInconsistencyEvidence]: two checkpoints of at most
// [MaxCheckpointSize] bytes, at most 64 proof hashes, and a few short lines.
const MaxEvidenceSize = 64 << 10

// maxProofHashes is the longest RFC 6962 proof for a tree of up to 2^64
// leaves. Inclusion proofs need at most 64 hashes; a consistency proof needs
// at most 64 as well, and more is never valid, so longer lists are refused.
const maxProofHashes = 64

// MarshalEvidence encodes the inconsistency as text an operator can store
// and check again offline: the two signed checkpoints and the proof that
// failed to connect them. See the package documentation for the format.
func (e *InconsistencyError) MarshalEvidence() []byte {
	var b bytes.Buffer
	b.WriteString(evidenceHeader + "\n")
	fmt.Fprintf(&b, "old %d\n", e.Old.Size)
	fmt.Fprintf(&b, "new %d\n", e.New.Size)
	for _, h := range e.Proof {
		b.WriteString(h.String() + "\n")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "old-note %d\n", len(e.Old.Note))
	b.Write(e.Old.Note)
	fmt.Fprintf(&b, "new-note %d\n", len(e.New.Note))
	b.Write(e.New.Note)
	return b.Bytes()
}

// ParseInconsistencyEvidence parses evidence written by
// [InconsistencyError.MarshalEvidence]. It returns the old and new signed
// checkpoint notes and the proof.
//
// It checks the structure only: the notes must be well-formed signed notes
// whose checkpoint bodies have the stated sizes and the same origin. It does
// NOT verify signatures. To re-check the evidence, open both notes with
// [OpenCheckpoint] and the log's key, then call [VerifyConsistency].
func ParseInconsistencyEvidence(b []byte) (old, new []byte, p ConsistencyProof, err error) {
	if len(b) > MaxEvidenceSize {
		return nil, nil, nil, fmt.Errorf("malformed evidence: %d bytes, limit %d", len(b), MaxEvidenceSize)
	}
	rest := b
	line, rest, ok := cutLine(rest)
	if !ok || string(line) != evidenceHeader {
		return nil, nil, nil, fmt.Errorf("malformed evidence: first line is not %q", evidenceHeader)
	}
	var sizes [2]uint64
	for i, key := range []string{"old", "new"} {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, nil, nil, fmt.Errorf("malformed evidence: missing %s size", key)
		}
		if sizes[i], err = parseKeyedDecimal(line, key); err != nil {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %w", err)
		}
	}
	p, rest, err = parseHashLines(rest)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("malformed evidence: %w", err)
	}
	var notes [2][]byte
	var origins [2]string
	for i, key := range []string{"old-note", "new-note"} {
		line, rest, ok = cutLine(rest)
		if !ok {
			return nil, nil, nil, fmt.Errorf("malformed evidence: missing %s", key)
		}
		n, err := parseKeyedDecimal(line, key)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %w", err)
		}
		if n > MaxCheckpointSize || n > uint64(len(rest)) {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %s length %d out of range", key, n)
		}
		notes[i], rest = bytes.Clone(rest[:n]), rest[n:]
		body, err := noteBody(notes[i])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %s: %w", key, err)
		}
		c, err := ParseCheckpointBody(body)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %s: %w", key, err)
		}
		if c.Size != sizes[i] {
			return nil, nil, nil, fmt.Errorf("malformed evidence: %s has size %d, header says %d", key, c.Size, sizes[i])
		}
		origins[i] = c.Origin
	}
	if len(rest) != 0 {
		return nil, nil, nil, fmt.Errorf("malformed evidence: %d trailing bytes", len(rest))
	}
	if origins[0] != origins[1] {
		return nil, nil, nil, fmt.Errorf("malformed evidence: checkpoints of different logs %q and %q", origins[0], origins[1])
	}
	return notes[0], notes[1], p, nil
}

// cutLine splits b after its first newline. It returns the line without the
// newline, the rest, and whether a newline was found.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	return b[:i], b[i+1:], true
}

// parseKeyedDecimal parses a line of the form "<key> <decimal>".
func parseKeyedDecimal(line []byte, key string) (uint64, error) {
	v, ok := bytes.CutPrefix(line, []byte(key+" "))
	if !ok {
		return 0, fmt.Errorf("want line %q, got %q", key+" <number>", truncate(line))
	}
	n, err := parseDecimal(string(v))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// parseHashLines parses zero or more lines of base64 hashes ended by an
// empty line, and returns the hashes and what follows the empty line.
func parseHashLines(b []byte) ([]Hash, []byte, error) {
	hashes := []Hash{}
	for {
		line, rest, ok := cutLine(b)
		if !ok {
			return nil, nil, errors.New("missing empty line after the proof hashes")
		}
		b = rest
		if len(line) == 0 {
			return hashes, b, nil
		}
		if len(hashes) == maxProofHashes {
			return nil, nil, fmt.Errorf("more than %d proof hashes", maxProofHashes)
		}
		h, err := ParseHash(string(line))
		if err != nil {
			return nil, nil, fmt.Errorf("proof hash %d: %w", len(hashes)+1, err)
		}
		hashes = append(hashes, h)
	}
}

// truncate shortens b for quoting in an error message.
func truncate(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "..." + strconv.Itoa(len(b)-max) + " more bytes"
	}
	return string(b)
}
