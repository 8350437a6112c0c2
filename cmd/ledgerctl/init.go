package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs/did"
)

// The files of a log's data directory.
const (
	fileLogKey       = "log.key"       // note signer key, 0600
	fileLogPub       = "log.pub"       // note verifier key, 0644
	fileAuthorityKey = "authority.pem" // PKCS#8 Ed25519 key, 0600
	fileAuthorityDID = "authority.did" // the authority's did:key, 0644
	dirDB            = "db"            // the Badger store
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
			vkey, authority, err := initLog(c.String("data"), origin)
			if err != nil {
				return err
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

// initLog creates a log in dir and returns its verifier key and the
// authority's did:key. It refuses a dir that already holds any part of a
// log; on failure it removes what it created.
func initLog(dir, origin string) (vkey, authority string, err error) {
	if err := checkNoLog(dir); err != nil {
		return "", "", err
	}
	createdDir := false
	if _, statErr := os.Stat(dir); errors.Is(statErr, fs.ErrNotExist) {
		createdDir = true
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("creating data directory: %w", err)
	}
	var created []string
	defer func() {
		if err == nil {
			return
		}
		if createdDir {
			os.RemoveAll(dir)
			return
		}
		for i := len(created) - 1; i >= 0; i-- {
			os.RemoveAll(created[i])
		}
	}()
	create := func(name string, data []byte, perm fs.FileMode) error {
		path := filepath.Join(dir, name)
		if err := writeNewFile(path, data, perm); err != nil {
			return err
		}
		created = append(created, path)
		return nil
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("generating the log key: %w", err)
	}
	if err := create(fileLogKey, []byte(skey+"\n"), 0o600); err != nil {
		return "", "", err
	}
	if err := create(fileLogPub, []byte(vkey+"\n"), 0o644); err != nil {
		return "", "", err
	}

	key, err := keyfile.Generate()
	if err != nil {
		return "", "", err
	}
	authority = did.FromPublicKey(key.Public().(ed25519.PublicKey))
	keyPath := filepath.Join(dir, fileAuthorityKey)
	if err := keyfile.Write(keyPath, key); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", keyPath, err)
	}
	created = append(created, keyPath)
	if err := create(fileAuthorityDID, []byte(authority+"\n"), 0o644); err != nil {
		return "", "", err
	}

	dbPath := filepath.Join(dir, dirDB)
	if _, statErr := os.Stat(dbPath); errors.Is(statErr, fs.ErrNotExist) {
		created = append(created, dbPath)
	}
	if err := ledger.Create(dbPath, origin); err != nil {
		return "", "", err
	}
	return vkey, authority, nil
}

// checkNoLog refuses a directory holding any file of a log, or a non-empty
// store directory.
func checkNoLog(dir string) error {
	for _, name := range []string{fileLogKey, fileLogPub, fileAuthorityKey, fileAuthorityDID} {
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); err == nil {
			return withHint(fmt.Errorf("%s already holds a log: %s exists", dir, path),
				"init never overwrites a log; choose another --data directory")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", path, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, dirDB))
	if err == nil && len(entries) > 0 {
		return withHint(fmt.Errorf("%s already holds a log store: %s is not empty", dir, filepath.Join(dir, dirDB)),
			"init never overwrites a log; choose another --data directory")
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", filepath.Join(dir, dirDB), err)
	}
	return nil
}

// writeNewFile creates path with mode perm and writes data, refusing to
// replace an existing file.
func writeNewFile(path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// The umask may have narrowed perm; the public files are meant to be
	// readable.
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
