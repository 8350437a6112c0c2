package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
	"github.com/agentledger/agentledger/proofs/envelope"
)

func appendCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "append",
		Usage:     "sign a statement as a DSSE envelope and append it to a ledger",
		UsageText: "ledgerctl append --ledger URL --key FILE --type KIND --payload FILE",
		Description: "Signs the statement in the payload file with the key as a DSSE envelope\n" +
			"of the given kind (registration, contract, revocation or action),\n" +
			"submits it, and prints its index and leaf hash once the ledger has\n" +
			"durably committed it. Submitting the same envelope again prints the\n" +
			"existing index and says duplicate. Envelopes are at most 65,535 bytes.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl append --ledger http://127.0.0.1:7420 --key ./log/authority.pem \\\n" +
			"      --type registration --payload agent.json\n" +
			"  index 0\n" +
			"  leaf hash 3q2+7w...=\n" +
			"\n" +
			"With --envelope-out FILE the signed envelope is saved too, so that\n" +
			"verify-inclusion --entry FILE can later prove it is in the log.",
		Flags: []cli.Flag{
			ledgerFlag(),
			&cli.StringFlag{
				Name:    "key",
				Usage:   "sign with the Ed25519 key in `FILE` (PKCS#8 PEM, mode 0600)",
				EnvVars: []string{"LEDGER_KEY"},
			},
			&cli.StringFlag{
				Name:    "type",
				Usage:   "the statement's `KIND`: registration, contract, revocation or action",
				EnvVars: []string{"LEDGER_ENTRY_TYPE"},
			},
			&cli.StringFlag{
				Name:    "payload",
				Usage:   "the statement JSON to sign, read from `FILE`",
				EnvVars: []string{"LEDGER_PAYLOAD"},
			},
			&cli.StringFlag{
				Name:    "envelope-out",
				Usage:   "also save the signed envelope, the entry's exact bytes, to `FILE` (for verify-inclusion --entry)",
				EnvVars: []string{"LEDGER_ENVELOPE_OUT"},
			},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "ledger", "key", "type", "payload"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			kind, err := envelope.ParseKind(c.String("type"))
			if err != nil {
				return usageErrorf(c, "--type %s: want registration, contract, revocation or action", quoteShort(c.String("type")))
			}
			cl, err := newClient(c)
			if err != nil {
				return err
			}
			key, err := readKey(c.String("key"))
			if err != nil {
				return err
			}
			payload, err := fileio.ReadLimit(c.String("payload"), maxInputFile, "payload file")
			if err != nil {
				return err
			}
			env, err := envelope.Sign(kind, payload, key)
			if err != nil {
				if errors.Is(err, envelope.ErrTooLarge) {
					return withHint(fmt.Errorf("payload too large: %w", err),
						fmt.Sprintf("a signed envelope may be at most %d bytes; its payload, base64-encoded, must fit with the signature", envelope.MaxSize))
				}
				return err
			}
			if path := c.String("envelope-out"); path != "" {
				if err := fileio.WriteAtomic(path, env, 0o644); err != nil {
					return err
				}
			}
			res, err := cl.Append(c.Context, env)
			if err != nil {
				return explainRefusal(err)
			}
			if res.Duplicate {
				fmt.Fprintf(s.out, "duplicate: the ledger already held this entry\n")
			}
			fmt.Fprintf(s.out, "index %d\nleaf hash %s\n", res.Index, res.LeafHash)
			return nil
		},
	}
}

// explainRefusal adds hints to a ledger's refusal of an entry.
func explainRefusal(err error) error {
	var api *client.APIError
	if !errors.As(err, &api) {
		return withHint(fmt.Errorf("submitting the entry: %w", err), "is the ledger running at --ledger?")
	}
	err = fmt.Errorf("entry refused: %w", err)
	if h, ok := refusalHints[api.Code]; ok {
		return withHint(err, h)
	}
	return err
}

// refusalHints tell what to do about each of the ledger's refusal codes.
var refusalHints = map[string]string{
	"not_authority":       "only the log's authority key (DIR/authority.pem, made by init) writes registrations and contracts",
	"bad_signature":       "the envelope's signature did not verify; was it changed after signing?",
	"malformed_envelope":  "an entry is a canonical DSSE envelope as 'ledgerctl append' signs it",
	"too_large":           "entries are at most 65,535 bytes",
	"unavailable":         "the ledger could not store the entry; retry later",
	"invalid_statement":   "the payload must be a statement of --type with every required field, \"v\":1 and no unknown fields; see docs/protocol.md",
	"name_taken":          "agent names are unique; choose another name (ledgerctl agent list shows those taken)",
	"did_registered":      "that key is already registered under another name; an agent has one key, so make a new key for a new agent",
	"unknown_subject":     "a contract's subject (the caller) must be a registered agent: register it first (ledgerctl agent register)",
	"unknown_audience":    "a contract's audience (the callee) must be a registered agent: register it first (ledgerctl agent register)",
	"issuer_mismatch":     "a contract's issuer must be the did:key of the key that signs it (ledgerctl keys did KEYFILE)",
	"contract_id_taken":   "contract ids are unique: make a fresh one of 128 random bits, as 'ledgerctl contract issue' does",
	"unknown_contract":    "a revocation names the leaf hash of a contract entry in this log (ledgerctl contract show ID)",
	"not_issuer":          "only the authority or the contract's issuer may revoke a contract",
	"already_revoked":     "the contract is already revoked; nothing more to do",
	"unregistered_signer": "only a registered agent writes actions, signed with its own key: register it (ledgerctl agent register)",
	"agent_mismatch":      "an agent writes only its own actions: the statement's \"agent\" must be the signer's did:key (ledgerctl keys did KEYFILE)",
	"unknown_kind":        "--type is registration, contract, revocation or action",
}
