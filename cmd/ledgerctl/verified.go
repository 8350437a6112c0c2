package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs/did"
)

// The ledger's registry answers (GET /v1/agents, /v1/contracts) are claims:
// a name, a DID, scopes, a revocation status. Each claim comes with the
// tlog-proof of the entry it is read from. Nothing here trusts a claim
// until that proof verifies under the log key and the signed entry it
// carries says exactly what the claim says.

// checkAgentArg refuses, as a usage error, an agent argument that is
// neither a did:key nor could be a name.
func checkAgentArg(c *cli.Context, flag, s string) error {
	if strings.HasPrefix(s, "did:") {
		if _, err := did.Parse(s); err != nil {
			return usageErrorf(c, "%s %s: %w", flag, quoteShort(s), err)
		}
		return nil
	}
	if s == "" || strings.ContainsAny(s, "/?#% ") {
		return usageErrorf(c, "%s %s: want an agent's name or did:key", flag, quoteShort(s))
	}
	return nil
}

// authorityFlag is --authority, the did:key that must have signed
// registrations and contracts.
func authorityFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "authority",
		Usage:   "also check that registrations and contracts are signed by this `DID` (a did:key, or a file holding one such as DIR/authority.did)",
		EnvVars: []string{"LEDGER_AUTHORITY"},
	}
}

// loadAuthority returns the did:key of --authority, or "" when it is not
// given. It takes the DID itself or the path of a file holding it.
func loadAuthority(c *cli.Context) (string, error) {
	arg := strings.TrimSpace(c.String("authority"))
	if arg == "" {
		return "", nil
	}
	if _, err := did.Parse(arg); err == nil {
		return arg, nil
	}
	data, err := fileio.ReadLimit(arg, maxKeyFile, "authority file")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageErrorf(c, "--authority %s is neither a did:key nor an existing file", quoteShort(arg))
		}
		return "", err
	}
	s := strings.TrimSpace(string(data))
	if _, err := did.Parse(s); err != nil {
		return "", withHint(fmt.Errorf("authority file %s: %w", arg, err), "init writes the authority's did:key to DIR/authority.did")
	}
	return s, nil
}

// signerNote says what a signer was checked against.
func signerNote(signer, authority string) string {
	if authority == "" {
		return signer + " (not checked against an authority: give --authority)"
	}
	return signer + " (the authority)"
}

// openVerified returns what a command that prints what the ledger says
// needs to check it first: the authority to hold signers to (may be ""),
// the log's verifier, and a client.
func openVerified(c *cli.Context) (string, note.Verifier, *client.Client, error) {
	authority, err := loadAuthority(c)
	if err != nil {
		return "", nil, nil, err
	}
	v, err := loadVerifier(c)
	if err != nil {
		return "", nil, nil, err
	}
	cl, err := newClient(c)
	if err != nil {
		return "", nil, nil, err
	}
	return authority, v, cl, nil
}
