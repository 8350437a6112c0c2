package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/proofs/did"
)

func keysCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "keys",
		Usage:     "create Ed25519 key files and show their did:key",
		UsageText: "ledgerctl keys generate|did|public ...",
		Description: "Key files hold one Ed25519 private key as PKCS#8 PEM, mode 0600 (the\n" +
			"format of 'openssl genpkey -algorithm ed25519'). Every identity is the\n" +
			"did:key of its public key.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl keys generate -o agent.pem\n" +
			"  did:key:z6Mk...\n" +
			"  $ ledgerctl keys did agent.pem",
		Action: groupAction,
		Subcommands: []*cli.Command{
			{
				Name:      "generate",
				Usage:     "create a new key file and print its did:key",
				UsageText: "ledgerctl keys generate -o FILE",
				Description: "Writes a new Ed25519 key to FILE (PKCS#8 PEM, mode 0600) and prints\n" +
					"its did:key. It never replaces an existing file.\n" +
					"\n" +
					"Example:\n" +
					"  $ ledgerctl keys generate -o agent.pem\n" +
					"  did:key:z6Mk...",
				Flags: []cli.Flag{
					&cli.StringFlag{
						Name:    "output",
						Aliases: []string{"o"},
						Usage:   "write the key to `FILE`",
						EnvVars: []string{"LEDGER_KEY_OUTPUT"},
					},
				},
				Action: func(c *cli.Context) error {
					if err := requireFlags(c, "output"); err != nil {
						return err
					}
					if c.Args().Present() {
						return usageErrorf(c, "unexpected argument %q", c.Args().First())
					}
					key, err := keyfile.Generate()
					if err != nil {
						return err
					}
					path := c.String("output")
					if err := keyfile.Write(path, key); err != nil {
						if errors.Is(err, fs.ErrExist) {
							return withHint(fmt.Errorf("%s already exists", path),
								"keys generate never replaces a key file; choose another -o")
						}
						return err
					}
					fmt.Fprintln(s.out, did.FromPublicKey(key.Public().(ed25519.PublicKey)))
					return nil
				},
			},
			{
				Name:      "did",
				Usage:     "print the did:key of a key file",
				UsageText: "ledgerctl keys did FILE",
				Description: "Reads the private key in FILE (PKCS#8 PEM, which must not be readable\n" +
					"by group or others) and prints the did:key of its public key.\n" +
					"\n" +
					"Example:\n" +
					"  $ ledgerctl keys did agent.pem\n" +
					"  did:key:z6Mk...",
				Action: func(c *cli.Context) error {
					key, err := readKeyArg(c)
					if err != nil {
						return err
					}
					fmt.Fprintln(s.out, did.FromPublicKey(key.Public().(ed25519.PublicKey)))
					return nil
				},
			},
			{
				Name:      "public",
				Usage:     "print the public key of a key file as PKIX PEM",
				UsageText: "ledgerctl keys public FILE",
				Description: "Reads the private key in FILE and prints its public key as a PKIX\n" +
					"\"PUBLIC KEY\" PEM block, the format of 'openssl pkey -pubout'.\n" +
					"\n" +
					"Example:\n" +
					"  $ ledgerctl keys public agent.pem > agent.pub.pem",
				Action: func(c *cli.Context) error {
					key, err := readKeyArg(c)
					if err != nil {
						return err
					}
					pemBytes, err := keyfile.MarshalPublic(key.Public().(ed25519.PublicKey))
					if err != nil {
						return err
					}
					_, err = s.out.Write(pemBytes)
					return err
				},
			},
		},
	}
}

// readKeyArg reads the private key file named by the command's single
// argument.
func readKeyArg(c *cli.Context) (ed25519.PrivateKey, error) {
	if c.NArg() != 1 {
		return nil, usageErrorf(c, "want exactly one key FILE argument, got %d", c.NArg())
	}
	return readKey(c.Args().First())
}

// readKey reads a private key file, with hints for the usual mistakes.
func readKey(path string) (ed25519.PrivateKey, error) {
	key, err := keyfile.Read(path)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, keyfile.ErrInsecurePermissions):
		return nil, withHint(err, fmt.Sprintf("run: chmod 600 %s", path))
	case errors.Is(err, keyfile.ErrMalformed):
		return nil, withHint(err, "a key file is an Ed25519 PKCS#8 PEM, as written by 'ledgerctl keys generate'")
	}
	return nil, err
}
