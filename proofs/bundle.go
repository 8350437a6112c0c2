package proofs

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// bundleHeader is the first line of a C2SP tlog-proof.
const bundleHeader = "c2sp.org/tlog-proof@v1"

// MaxBundleSize bounds the tlog-proof bundles [ParseBundle] accepts. A bundle
// whose extra line carries a 65,535-byte entry is under 90 KiB.
const MaxBundleSize = 1 << 20

// A Bundle is a C2SP tlog-proof: an offline-verifiable proof that an entry
// is in a log. Files holding one are named *.tlog-proof.
type Bundle struct {
	// Index is the entry's zero-based index in the log.
	Index uint64
	// Proof is the inclusion proof of the entry at Index in the tree of the
	// checkpoint.
	Proof InclusionProof
	// Extra is the opaque extra data, nil when the bundle has no extra line.
	// In agentledger it holds the entry bytes themselves (the DSSE envelope),
	// so the bundle is self-contained. It is not authenticated by itself:
	// [VerifyBundle] checks it against the proof.
	Extra []byte
	// Checkpoint is the log's signed checkpoint note, verbatim.
	Checkpoint []byte
}

// Marshal encodes b in the tlog-proof@v1 format. It writes the extra line
// when b.Extra is not nil, even if it is empty.
func (b Bundle) Marshal() []byte {
	var buf bytes.Buffer
	buf.Grow(len(bundleHeader) + 8 + base64.StdEncoding.EncodedLen(len(b.Extra)) + 30 + 45*len(b.Proof) + 1 + len(b.Checkpoint))
	buf.WriteString(bundleHeader + "\n")
	if b.Extra != nil {
		buf.WriteString("extra ")
		buf.WriteString(base64.StdEncoding.EncodeToString(b.Extra))
		buf.WriteString("\n")
	}
	fmt.Fprintf(&buf, "index %d\n", b.Index)
	for _, h := range b.Proof {
		buf.WriteString(h.String() + "\n")
	}
	buf.WriteString("\n")
	buf.Write(b.Checkpoint)
	return buf.Bytes()
}

// ParseBundle parses a tlog-proof@v1 bundle strictly:
//
//   - at most [MaxBundleSize] bytes;
//   - the first line is exactly "c2sp.org/tlog-proof@v1";
//   - an optional "extra <base64>" line, in strict standard base64;
//   - "index <N>", N in ASCII decimal with no sign and no leading zeros;
//   - zero to 64 proof hashes, one strict base64 32-byte hash per line;
//   - an empty line;
//   - the checkpoint: all the remaining bytes, which must form a well-formed
//     signed note (ending in a newline, no trailing bytes of any other kind)
//     of at most [MaxCheckpointSize] bytes whose text parses with
//     [ParseCheckpointBody].
//
// ParseBundle verifies no signature and no proof: use [VerifyBundle].
func ParseBundle(data []byte) (Bundle, error) {
	if len(data) > MaxBundleSize {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: %d bytes, limit %d", len(data), MaxBundleSize)
	}
	line, rest, ok := cutLine(data)
	if !ok || string(line) != bundleHeader {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: first line is not %q", bundleHeader)
	}
	var b Bundle
	line, rest, ok = cutLine(rest)
	if !ok {
		return Bundle{}, errors.New("malformed tlog-proof: missing index line")
	}
	if e, isExtra := bytes.CutPrefix(line, []byte("extra ")); isExtra {
		extra, err := decodeBase64(string(e))
		if err != nil {
			return Bundle{}, fmt.Errorf("malformed tlog-proof: extra: %w", err)
		}
		b.Extra = extra
		if line, rest, ok = cutLine(rest); !ok {
			return Bundle{}, errors.New("malformed tlog-proof: missing index line")
		}
	}
	idx, err := parseKeyedDecimal(line, "index")
	if err != nil {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: %w", err)
	}
	b.Index = idx
	hashes, rest, err := parseHashLines(rest)
	if err != nil {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: %w", err)
	}
	b.Proof = hashes
	if len(rest) > MaxCheckpointSize {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: checkpoint is %d bytes, limit %d", len(rest), MaxCheckpointSize)
	}
	body, err := noteBody(rest)
	if err != nil {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: checkpoint: %w", err)
	}
	if _, err := ParseCheckpointBody(body); err != nil {
		return Bundle{}, fmt.Errorf("malformed tlog-proof: %w", err)
	}
	b.Checkpoint = bytes.Clone(rest)
	return b, nil
}

// VerifyBundle checks a tlog-proof bundle whose extra data is a log entry:
// the checkpoint must open with [OpenCheckpoint] for origin and v, and the
// proof must show LeafHash(b.Extra) at b.Index under it. It returns the
// verified checkpoint. A bundle without extra data is refused, since there is
// no entry to check. A failing proof is reported as an [*InclusionError].
func VerifyBundle(b Bundle, origin string, v note.Verifier) (SignedCheckpoint, error) {
	if b.Extra == nil {
		return SignedCheckpoint{}, errors.New("verify tlog-proof: no extra data holding the entry")
	}
	cp, err := OpenCheckpoint(b.Checkpoint, origin, v)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("verify tlog-proof: %w", err)
	}
	if err := VerifyInclusion(cp, b.Index, LeafHash(b.Extra), b.Proof); err != nil {
		return SignedCheckpoint{}, err
	}
	return cp, nil
}
