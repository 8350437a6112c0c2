// Package verified is the ledger's client side for those who must not
// trust the ledger: it asks a ledger (through ledger/client) and believes
// an answer only once the proof that comes with it establishes it.
//
// A checkpoint counts once the log key's signature on it verifies; an
// entry once its tlog-proof proves it under such a checkpoint
// (verify.ProveEntry); a registry answer (an agent, a contract, its
// revocations) once every field the ledger claims is what the proved,
// signed entry says. Anything else is an error that names the mismatch.
// Appends are followed by the proof that the entry appended is the entry
// logged.
//
// Errors carry hints for a person (package hint): what to check, and
// DistrustHint when a ledger's answer contradicts its own proof.
package verified
