package wire

// The reasons the ledger's HTTP API refuses with, in the "error" field of
// Error. They are the API's contract with its clients: a value never
// changes once published, and every one is listed, with its status, in
// docs/protocol.md, "Refusal reasons". Clients compare Error.Error (and
// client.APIError.Code) against these constants, never against literals.
//
// The write rules' reasons are decided by package ledger/registry, which
// refuses with these constants; they live here so that a client can name
// them without importing the server.
const (
	// ReasonNotAuthority: a registration or contract not signed by the
	// authority (403).
	ReasonNotAuthority = "not_authority"
	// ReasonNameTaken: a registration of a name already registered (409).
	ReasonNameTaken = "name_taken"
	// ReasonDIDRegistered: a registration of a DID already registered
	// (409).
	ReasonDIDRegistered = "did_registered"
	// ReasonIssuerMismatch: a contract whose issuer is not its signer
	// (400).
	ReasonIssuerMismatch = "issuer_mismatch"
	// ReasonUnknownSubject: a contract whose subject is not a registered
	// agent (400).
	ReasonUnknownSubject = "unknown_subject"
	// ReasonUnknownAudience: a contract whose audience is not a registered
	// agent (400).
	ReasonUnknownAudience = "unknown_audience"
	// ReasonScopeNotServed: a contract granting a scope whose action its
	// audience's registration does not serve (400).
	ReasonScopeNotServed = "scope_not_served"
	// ReasonContractIDTaken: a contract whose id is already in the log
	// (409).
	ReasonContractIDTaken = "contract_id_taken"
	// ReasonUnknownContract: a revocation of a leaf hash that is no
	// contract in the log (400).
	ReasonUnknownContract = "unknown_contract"
	// ReasonNotIssuer: a revocation signed by neither the authority nor
	// the contract's issuer (403).
	ReasonNotIssuer = "not_issuer"
	// ReasonAlreadyRevoked: a revocation of a contract already revoked
	// (409).
	ReasonAlreadyRevoked = "already_revoked"
	// ReasonUnregisteredSigner: an action whose signer is not a
	// registered agent (403).
	ReasonUnregisteredSigner = "unregistered_signer"
	// ReasonAgentMismatch: an action whose agent is not its signer (403).
	ReasonAgentMismatch = "agent_mismatch"
	// ReasonContractNotInLog: an action whose contract reference (index
	// and leaf hash) names no contract in the log (400).
	ReasonContractNotInLog = "contract_not_in_log"
	// ReasonNotAudience: an action whose signer is not the audience of
	// the contract it names (403).
	ReasonNotAudience = "not_audience"
	// ReasonUnknownKind: an envelope of no known statement kind (400).
	ReasonUnknownKind = "unknown_kind"
	// ReasonInvalidStatement: a statement that does not parse strictly
	// (400).
	ReasonInvalidStatement = "invalid_statement"
)

// The reasons of the API itself: the envelope, the transport, storage and
// the read endpoints.
const (
	// ReasonMalformedEnvelope: the entry is not a canonical DSSE envelope
	// (400).
	ReasonMalformedEnvelope = "malformed_envelope"
	// ReasonBadSignature: the envelope's signature does not verify (401).
	ReasonBadSignature = "bad_signature"
	// ReasonTooLarge: the body is over 64 KiB, or the entry over 65,535
	// bytes (413).
	ReasonTooLarge = "too_large"
	// ReasonBadBody: the request body could not be read (400).
	ReasonBadBody = "bad_body"
	// ReasonRateLimited: the entry's signer is over its write rate (429,
	// with Retry-After).
	ReasonRateLimited = "rate_limited"
	// ReasonForbidden, ReasonInvalidEntry and ReasonConflict answer a
	// write-rule refusal of a class that carries no reason of its own
	// (403, 400, 409). The write rules always give one; these are the
	// fallback.
	ReasonForbidden    = "forbidden"
	ReasonInvalidEntry = "invalid_entry"
	ReasonConflict     = "conflict"
	// ReasonStorageUnavailable: a storage fault, or no commit within its
	// deadline; the entry was not acknowledged and a retry may succeed
	// (503).
	ReasonStorageUnavailable = "storage_unavailable"
	// ReasonStorageFailed: storage failed in a way that needs a restart of
	// the ledger (503).
	ReasonStorageFailed = "storage_failed"
	// ReasonStorageStalled: a commit has not finished in time (503, from
	// /readyz).
	ReasonStorageStalled = "storage_stalled"
	// ReasonCanceled: the request ended before its commit answered; the
	// entry may still be appended (503).
	ReasonCanceled = "canceled"
	// ReasonUnavailable: the ledger is shutting down (503).
	ReasonUnavailable = "unavailable"
	// ReasonNotReady: no checkpoint has been published yet (503).
	ReasonNotReady = "not_ready"
	// ReasonInternal: an error the ledger did not expect (500).
	ReasonInternal = "internal"
	// ReasonNotFound: no entry, agent or contract of that index, hash, name
	// or id, or no such endpoint (404).
	ReasonNotFound = "not_found"
	// ReasonNotInCheckpoint: the entry exists but no checkpoint covers it
	// yet (404).
	ReasonNotInCheckpoint = "not_in_checkpoint"
	// ReasonBeyondTree: an index or size beyond the tree (400).
	ReasonBeyondTree = "beyond_tree"
	// ReasonBadIndex, ReasonBadHash, ReasonBadSize, ReasonBadQuery,
	// ReasonBadLimit and ReasonBadTilePath: a path or query parameter that
	// does not parse (400).
	ReasonBadIndex    = "bad_index"
	ReasonBadHash     = "bad_hash"
	ReasonBadSize     = "bad_size"
	ReasonBadQuery    = "bad_query"
	ReasonBadLimit    = "bad_limit"
	ReasonBadTilePath = "bad_tile_path"
)
