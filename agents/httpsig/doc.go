// Package httpsig signs and verifies agentledger inter-agent HTTP requests.
//
// It implements one narrow profile of RFC 9421 (HTTP Message Signatures)
// with an RFC 9530 Content-Digest of the body. Every agent-to-agent call
// carries such a signature; a callee verifies it before anything else
// (DESIGN §4 step 1). The package works on an *http.Request and the exact
// body bytes only: it keeps no state and does no I/O. In particular it does
// not remember nonces: the caller MUST keep the (KeyID, Nonce) of every
// verified request in a replay store at least until Verified.ReplayUntil,
// and refuse a request whose nonce it has seen.
//
// # Profile
//
// A request signed under this profile carries four header fields:
//
//	Ledger-Contract: <opaque contract reference, set by the caller>
//	Content-Digest: sha-256=:<base64 SHA-256 of the body>:
//	Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-digest" "ledger-contract");created=<unix s>;expires=<unix s>;nonce="<nonce>";keyid="<did:key>";alg="ed25519";tag="agentledger"
//	Signature: sig1=:<base64 of the 64-byte Ed25519 signature>:
//
// The rules, all of which Verify enforces (a verifier MUST refuse anything
// else):
//
//   - Exactly one signature, labelled "sig1". Signature-Input and Signature
//     are RFC 9651 dictionaries in their canonical serialization (RFC 9651
//     §4, what any conforming serializer writes), which rules out duplicate
//     labels, duplicate parameters and insignificant whitespace, and makes
//     the "@signature-params" line of the signature base the exact wire text.
//   - The covered components are exactly the set "@method", "@authority",
//     "@path", "@query", "content-digest" and "ledger-contract", each once,
//     without component parameters. Sign writes them in that order; Verify
//     accepts any order (the order is itself signed). Any missing or extra
//     component is refused.
//   - The signature parameters are exactly created and expires (Integers,
//     Unix seconds), nonce, keyid, alg and tag (Strings), in any order; an
//     unknown parameter is refused. alg is "ed25519" (RFC 9421 §3.3.6) and
//     tag is "agentledger", which separates these signatures from any other
//     RFC 9421 use of the same key. keyid is the signer's did:key (package
//     did), from which the verification key is taken; no key lookup exists.
//   - expires > created, and expires - created <= MaxTTL. created lies
//     within Skew of the verifier's clock (either side) and expires + Skew is
//     not in the past. nonce is 16 to 128 characters of the base64url
//     alphabet (A-Z a-z 0-9 - _), as action statements record it; Sign's
//     default is 128 random bits in unpadded base64url.
//   - Content-Digest is exactly one member, sha-256, whose 32-byte value is
//     the SHA-256 of the body as received (RFC 9530 §2; an empty body has
//     the digest of the empty string). It is always recomputed from the body.
//   - Ledger-Contract is one non-empty field line of at most MaxContractLen
//     bytes. Its content is opaque here; Verified.Contract returns it.
//   - Signature-Input, Signature and Content-Digest are each at most
//     MaxHeaderLen bytes, and the body at most Verifier.MaxBody bytes.
//
// # Component values
//
// The signature base is built as in RFC 9421 §2.5: one line per covered
// component, `"<name>": <value>` and LF, then the line
// `"@signature-params": <inner list>` with no trailing LF. The values are:
//
//   - @method: the request method as sent (GET when empty, as net/http).
//   - @authority: the Host (req.Host, or req.URL.Host when empty) in the
//     normal form of RFC 9421 §2.2.3 and RFC 9110 §4.2.3: lower-cased,
//     and without the port when it is empty or the scheme's default (80
//     for http, 443 for https), so "127.0.0.1:80" signs as "127.0.0.1".
//     The signer takes the scheme from the URL; the verifier from the URL
//     when it is absolute, else https over TLS and http otherwise. Any
//     other port is kept.
//   - @path: the escaped (not percent-decoded) URL path, "/" when empty.
//   - @query: "?" followed by the raw query, "?" alone when there is none.
//   - content-digest, ledger-contract: the field lines' values with
//     surrounding whitespace removed, joined by ", " (RFC 9421 §2.1).
//
// A value containing a control character other than HTAB is refused, so a
// value cannot add lines to the signature base.
//
// # Verification order
//
// Verify runs every cheap check before the one Ed25519 verification: field
// sizes, structured-field parsing and canonical form, exactly one sig1,
// alg and tag, the parameter set, the covered component set, keyid as a
// did:key, the time window, the nonce, Content-Digest against the body, and
// only then builds the signature base and verifies. Each refusal wraps one
// of the Err* values; Reason maps it to a stable machine-readable string.
//
// # Example
//
// A POST of {"amount":1250} to http://payment.local:8443/v1/charge?dry=1,
// signed at Unix time 1700000000 by the key whose seed is 32 zero bytes,
// with nonce "AAAAAAAAAAAAAAAAAAAAAA" and Ledger-Contract "42:abc":
//
//	"@method": POST
//	"@authority": payment.local:8443
//	"@path": /v1/charge
//	"@query": ?dry=1
//	"content-digest": sha-256=:n7QBBcVicaydao2gpvWE3ZAdZuTVUIFoQWClvGCMewg=:
//	"ledger-contract": 42:abc
//	"@signature-params": ("@method" "@authority" "@path" "@query" "content-digest" "ledger-contract");created=1700000000;expires=1700000030;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";alg="ed25519";tag="agentledger"
//
// ExampleSigner_Sign shows the resulting header fields.
package httpsig
