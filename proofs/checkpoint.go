package proofs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// MaxCheckpointSize bounds the signed checkpoint notes this package accepts,
// signatures included. A checkpoint without extension lines is under 200
// bytes; the bound leaves room for many witness cosignatures.
const MaxCheckpointSize = 16 << 10

// A Checkpoint is the body of a C2SP tlog-checkpoint: a log's origin, its
// tree size, and the RFC 6962 root hash of the tree at that size.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// Body returns the checkpoint's note text:
//
//	<origin>\n<size>\n<base64 root>\n
//
// It writes no extension lines.
func (c Checkpoint) Body() []byte {
	b := make([]byte, 0, len(c.Origin)+1+20+1+44+1)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Size, 10)
	b = append(b, '\n')
	b = append(b, c.Root.String()...)
	b = append(b, '\n')
	return b
}

// SignCheckpoint signs the checkpoint c as a C2SP signed note and returns the
// note's bytes. The signer's key name must be the checkpoint's origin, which
// is what [OpenCheckpoint] requires of the verifier.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("sign checkpoint: key name %q is not the origin %q", s.Name(), c.Origin)
	}
	body := c.Body()
	// Sign only what OpenCheckpoint would accept back.
	if _, err := ParseCheckpointBody(body); err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: string(body)}, s)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	if len(signed) > MaxCheckpointSize {
		return nil, fmt.Errorf("sign checkpoint: signed note is %d bytes, limit %d", len(signed), MaxCheckpointSize)
	}
	return signed, nil
}

// A SignedCheckpoint is a checkpoint whose signature has been verified, with
// the exact signed note kept as evidence. Values are made by [OpenCheckpoint];
// the functions that take one trust that its Note was verified and that the
// embedded Checkpoint is what the Note says.
type SignedCheckpoint struct {
	Checkpoint
	// Note is the signed note, byte for byte as it was verified.
	Note []byte
}

// OpenCheckpoint verifies the signed checkpoint note with v and parses it.
//
// The note must be at most [MaxCheckpointSize] bytes and carry a valid
// signature by v; signatures by other keys, such as witness cosignatures, are
// ignored, as the signed-note spec requires. The verifier's key name and the
// checkpoint's origin line must both equal origin. The body is parsed by
// [ParseCheckpointBody].
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (SignedCheckpoint, error) {
	if len(signed) > MaxCheckpointSize {
		return SignedCheckpoint{}, fmt.Errorf("open checkpoint: %d bytes, limit %d", len(signed), MaxCheckpointSize)
	}
	if v == nil {
		return SignedCheckpoint{}, errors.New("open checkpoint: no verifier")
	}
	if v.Name() != origin {
		return SignedCheckpoint{}, fmt.Errorf("open checkpoint: verifier key name %q is not the origin %q", v.Name(), origin)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("open checkpoint: %w", err)
	}
	c, err := ParseCheckpointBody([]byte(n.Text))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("open checkpoint: %w", err)
	}
	if c.Origin != origin {
		return SignedCheckpoint{}, fmt.Errorf("open checkpoint: origin %q, want %q", c.Origin, origin)
	}
	return SignedCheckpoint{Checkpoint: c, Note: bytes.Clone(signed)}, nil
}

// ParseCheckpointBody parses a checkpoint's note text, without any signature,
// strictly per C2SP tlog-checkpoint:
//
//   - the text is valid UTF-8 with no control characters but newlines, at
//     most [MaxCheckpointSize] bytes, and ends with a newline;
//   - the origin line is not empty;
//   - the size line is ASCII decimal with no sign and no leading zeros
//     ("0" is the empty tree);
//   - the root line is the standard base64 of exactly 32 bytes.
//
// Extension lines after the root are allowed, must not be empty, and are
// ignored.
func ParseCheckpointBody(body []byte) (Checkpoint, error) {
	if len(body) > MaxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: %d bytes, limit %d", len(body), MaxCheckpointSize)
	}
	if err := checkNoteText(body); err != nil {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: %w", err)
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return Checkpoint{}, errors.New("malformed checkpoint: text does not end with a newline")
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: %d lines, want at least 3", len(lines))
	}
	if len(lines[0]) == 0 {
		return Checkpoint{}, errors.New("malformed checkpoint: empty origin")
	}
	size, err := parseDecimal(string(lines[1]))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: size: %w", err)
	}
	root, err := ParseHash(string(lines[2]))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: root: %w", err)
	}
	for i, ext := range lines[3:] {
		if len(ext) == 0 {
			return Checkpoint{}, fmt.Errorf("malformed checkpoint: empty extension line %d", i+1)
		}
	}
	return Checkpoint{Origin: string(lines[0]), Size: size, Root: root}, nil
}

// checkNoteText applies the signed-note character rules: valid UTF-8 and no
// ASCII control characters other than newline.
func checkNoteText(b []byte) error {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if r < 0x20 && r != '\n' || r == 0x7f {
			return fmt.Errorf("control character %#x at byte %d", r, i)
		}
		i += n
	}
	return nil
}

// parseDecimal parses a uint64 written in canonical ASCII decimal: digits
// only, no sign, no leading zeros unless the number is 0.
func parseDecimal(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > 20 {
		return 0, fmt.Errorf("number of %d digits is too long", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// noteBody checks that signed is a well-formed signed note, without verifying
// any signature, and returns its text.
func noteBody(signed []byte) ([]byte, error) {
	_, err := note.Open(signed, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		if err == nil {
			err = errors.New("verified with no verifiers")
		}
		return nil, fmt.Errorf("malformed signed note: %w", err)
	}
	return []byte(unverified.Note.Text), nil
}
