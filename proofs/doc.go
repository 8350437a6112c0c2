// Package proofs is the pure cryptography of the agentledger transparency
// log: RFC 6962 Merkle tree hashes and proofs, C2SP checkpoints in signed
// notes, C2SP tlog-proof bundles, C2SP tlog-tiles paths and entry bundles,
// and a text format for evidence of an inconsistent log.
//
// The package does no I/O. Anything that needs stored data takes a
// [HashReader], which the provers call once per proof with every node they
// need. Each prover has a checker: [ProveInclusion] and [CheckInclusion],
// [ProveConsistency] and [CheckConsistency]. The proof computation is that of
// github.com/transparency-dev/merkle, and the proofs are interchangeable with
// those of golang.org/x/mod/sumdb/tlog.
//
// Every check failure wraps [ErrProofFailed]. Checks against signed
// checkpoints ([VerifyInclusion], [VerifyConsistency], [VerifyBundle]) return
// an [*InclusionError] or [*InconsistencyError] that keeps the evidence: the
// signed checkpoints, byte for byte, and the proof.
//
// # Hashing
//
// Hashes are SHA-256, per RFC 6962, section 2.1. A log entry's leaf hash is
// SHA-256(0x00 || entry); an interior node's hash is SHA-256(0x01 || left ||
// right); the empty tree's root is SHA-256 of no bytes. In agentledger an
// entry is a DSSE envelope's bytes exactly as stored. Text formats write a
// hash in standard base64 with padding (44 characters), and parsers accept
// only that canonical form.
//
// A [NodeID] (L, I) names the complete subtree over leaves [I<<L, (I+1)<<L).
// A tree of n leaves is stored as the hashes of its complete subtrees; its
// root and its proofs are computed from at most about 2·log₂(n) of them.
//
// # Checkpoints
//
// A checkpoint (C2SP tlog-checkpoint) is a signed note (C2SP signed-note)
// whose text is the log's origin, its tree size in decimal, and its root hash
// in base64, each on its own line, optionally followed by non-empty extension
// lines, which this package ignores. The signature lines follow a blank line:
// an em dash, the key name, and the base64 of a four-byte key hash and an
// Ed25519 signature of the text. The log's key name is its origin.
//
//	example.com/ledger
//	5
//	ii7ViYyVMrUss8/JH3IOusEasWyEafEphOEB4JSXozA=
//
//	— example.com/ledger +mV25LMl5dYf0Dv6ythvIV4lsNJuohbSjZOQbX46d9JBgDMYPZ8g+82o7nfGD5IQRlF7mqUaVRdtP4ZJqUZ7RiVBZQk=
//
// The size has no sign and no leading zeros ("0" is the empty tree). Signed
// checkpoints are bounded by [MaxCheckpointSize]. [OpenCheckpoint] ignores
// signatures by other keys, such as witness cosignatures.
//
// # Proof bundles
//
// A bundle (C2SP tlog-proof@v1, files named *.tlog-proof) proves offline that
// an entry is in the log. Its lines are: the header "c2sp.org/tlog-proof@v1";
// an optional "extra" line with the base64 of opaque data; "index" and the
// entry's index in decimal; the inclusion proof, one base64 hash per line
// from the leaf's sibling upwards; an empty line; and the signed checkpoint,
// verbatim. In agentledger the extra data is the entry itself, so a bundle is
// self-contained. Here is the proof that "two" is entry 2 of a log of five
// entries, "zero" to "four":
//
//	c2sp.org/tlog-proof@v1
//	extra dHdv
//	index 2
//	Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=
//	iiq+yu+Pz0GJ9OZMFdfUJhwUJRvf4oYcY90ek68bmUs=
//	9xWrP6pdBx5uKsS7mU1b9zWUPcw3mdoNCF55gM+5M2o=
//
//	example.com/ledger
//	5
//	ii7ViYyVMrUss8/JH3IOusEasWyEafEphOEB4JSXozA=
//
//	— example.com/ledger +mV25LMl5dYf0Dv6ythvIV4lsNJuohbSjZOQbX46d9JBgDMYPZ8g+82o7nfGD5IQRlF7mqUaVRdtP4ZJqUZ7RiVBZQk=
//
// The first proof hash is the leaf hash of "three", the second the hash of
// the subtree over "zero" and "one", and the third the leaf hash of "four".
// Starting from LeafHash("two"), each is hashed in on the side the index
// dictates (right, left, right), and the result is the checkpoint's root.
// [ParseBundle] accepts at most 64 proof hashes and [MaxBundleSize] bytes,
// enough for an extra line carrying a 65,535-byte entry.
//
// # Consistency evidence
//
// Evidence of misbehaviour is only what no single append-only tree can
// explain: one tree size with two roots, or a consistency proof from the
// smaller tree to the larger that fails. A checkpoint carries no time, so a
// pair whose "new" tree is the smaller is no evidence: [VerifyConsistency]
// refuses it with [ErrOutOfOrder], and the same two honest checkpoints in
// either order never yield an [InconsistencyError].
//
// When two checkpoints signed by one log cannot be connected, an
// [InconsistencyError] can be written out with
// [InconsistencyError.MarshalEvidence] and read back with
// [ParseInconsistencyEvidence]. The format is agentledger's own:
//
//	agentledger/consistency-evidence@v1
//	old <old tree size>
//	new <new tree size>
//	<base64 hash>          (zero to 64 lines: the consistency proof)
//	<empty line>
//	old-note <length in bytes>
//	<the old signed checkpoint, exactly that many bytes>
//	new-note <length in bytes>
//	<the new signed checkpoint, exactly that many bytes>
//
// Numbers are decimal without leading zeros, and nothing follows the new
// note. The signed notes are length-prefixed because they contain blank lines
// and end in signature lines. The sizes repeat what the notes say and must
// agree with them. The whole is bounded by [MaxEvidenceSize]. The first line
// is versioned to leave room for a v2. For example, a log that signed a
// checkpoint over "zero", "one", "two" and then one over "zero", "ONE",
// "two", "three" yields:
//
//	agentledger/consistency-evidence@v1
//	old 3
//	new 4
//	qxq38Hx8j+Dv9LpvqlPH5EEukaWZFT6KpOAb7s5beCU=
//	Zx8UbF5HHooag6PCFM5LqQe486WIjRTMjNPOdbsS75Q=
//	ERAP2NxOY3YOayAe5KSqpwuv7OhieuOWFe6oQQKAqoo=
//
//	old-note 183
//	example.com/ledger
//	3
//	A9jN2rnQIZbqXtL42/AQnTXSHwcp5YXyeuKU7VUuwys=
//
//	— example.com/ledger +mV25BFoaAbb98WBFBm+WzKWfDs5qjK40GruVDlM6+L17h8Y4QM0dL62615lAqzzIxwn1tCr0lKgZbtK68bCKpuU9Qg=
//	new-note 183
//	example.com/ledger
//	4
//	a3VQIZgtAK2cMa9NKjHO2ApcJPsM1u/hu9dgOi1RaTo=
//
//	— example.com/ledger +mV25Bvp2bAzw6H054nXPRSL+hzH3zv+6jQJxFUiZaUn4vW1xjdxrKuv1v/HR7bVzdd3mOnHLPM2DVLm1rnlfD805As=
//
// To check evidence offline, open both notes with [OpenCheckpoint] and the
// log's key, then run [VerifyConsistency] on them and the proof. Evidence
// whose old size is larger than its new size parses, but it proves nothing.
//
// # Tiles
//
// A log serves its tree as C2SP tlog-tiles. A [Tile] names a hash tile,
// "tile/<L>/<N>", or an entry bundle, "tile/entries/<N>", with the suffix
// ".p/<W>" when the tile is partial (W of 1 to 255 hashes or entries). N is
// written in groups of three digits, all but the last prefixed with "x":
// index 1234067 is "x001/x234/067". Each tile at level L holds up to 256
// hashes of subtrees of height 8·L. An entry bundle is the entries in order,
// each as a big-endian uint16 length and then the bytes, so an entry is at
// most 65,535 bytes ([MaxEntrySize]).
package proofs
