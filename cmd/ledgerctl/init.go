package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/agentledger/agentledger/ledger/server"
)

func dataFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "data",
		Usage:   "the log's data `DIR` (keys and the Badger store)",
		EnvVars: []string{"LEDGER_DATA"},
	}
}

func initCommand(s streams) *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create a new log: its signing key, the authority key and an empty store",
		UsageText: "ledgerctl init --data DIR --origin ORIGIN",
		Description: "Creates DIR (mode 0700) holding a new, empty log:\n" +
			"  log.key        the log's checkpoint signer key (note format, 0600)\n" +
			"  log.pub        its verifier key, which clients pass as --log-key\n" +
			"  authority.pem  the authority's Ed25519 key (PKCS#8, 0600)\n" +
			"  authority.did  the authority's did:key, which writes registrations,\n" +
			"                 contracts and revocations\n" +
			"  db/            the Badger store\n" +
			"ORIGIN names the log in every checkpoint, conventionally a URL-like\n" +
			"string without scheme. init never overwrites: it refuses a DIR that\n" +
			"already holds any part of a log.\n" +
			"\n" +
			"Example:\n" +
			"  $ ledgerctl init --data ./log --origin example.com/log\n" +
			"  log key: example.com/log+4a1b2c3d+AX...\n" +
			"  authority: did:key:z6Mk...",
		Flags: []cli.Flag{
			dataFlag(),
			&cli.StringFlag{
				Name:    "origin",
				Usage:   "the log's `ORIGIN`, its name in checkpoints (e.g. example.com/log)",
				EnvVars: []string{"LEDGER_ORIGIN"},
			},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlags(c, "data", "origin"); err != nil {
				return err
			}
			if c.Args().Present() {
				return usageErrorf(c, "unexpected argument %q", c.Args().First())
			}
			origin := c.String("origin")
			if err := checkOrigin(origin); err != nil {
				return usageErrorf(c, "--origin: %w", err)
			}
			vkey, authority, err := server.Init(c.String("data"), origin)
			if err != nil {
				return initHint(err)
			}
			fmt.Fprintf(s.out, "log key: %s\nauthority: %s\n", vkey, authority)
			return nil
		},
	}
}

// checkOrigin applies the note key name rules: a non-empty string of
// printable non-space characters without '+'.
func checkOrigin(origin string) error {
	if origin == "" {
		return errors.New("empty origin")
	}
	if strings.ContainsAny(origin, "+") {
		return fmt.Errorf("origin %s contains '+'", quoteShort(origin))
	}
	for _, r := range origin {
		if r <= ' ' || r == 0x7f || r > 0x7e && r < 0xa0 {
			return fmt.Errorf("origin %s contains a space or control character", quoteShort(origin))
		}
	}
	return nil
}

// initHint attaches to an error of server.Init the hint a person can act
// on.
func initHint(err error) error {
	if errors.Is(err, server.ErrLogExists) {
		return withHint(err, "init never overwrites a log; choose another --data directory")
	}
	return err
}
