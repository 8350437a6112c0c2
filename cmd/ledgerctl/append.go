package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/verified"
	"github.com/agentledger/agentledger/proofs"
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
						fmt.Sprintf("a signed envelope may be at most %d bytes; its payload, base64-encoded, must fit with the signature", proofs.MaxEntrySize))
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
				return verified.ExplainRefusal(err)
			}
			if res.Duplicate {
				fmt.Fprintf(s.out, "duplicate: the ledger already held this entry\n")
			}
			fmt.Fprintf(s.out, "index %d\nleaf hash %s\n", res.Index, res.LeafHash)
			return nil
		},
	}
}
