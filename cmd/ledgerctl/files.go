package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/ledger/client"
)

// maxInputFile bounds every file ledgerctl reads whole: payloads, entries,
// checkpoints, bundles and evidence. The formats' own limits are smaller
// still and are checked by their parsers.
const maxInputFile = 1 << 20

// maxKeyFile bounds a file holding a note verifier key, which is under
// 200 bytes.
const maxKeyFile = 4 << 10

// readFileLimit reads the regular file at path, refusing one larger than
// limit bytes. what names the file in errors ("payload file").
func readFileLimit(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s %s: not a regular file", what, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s %s is larger than the limit of %s", what, path, byteSize(limit))
	}
	return data, nil
}

// byteSize writes n in the largest binary unit that divides it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader sees the old file or the whole new
// one, never a part. The file gets mode perm.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// signerKeyPrefix starts every note signer (private) key.
const signerKeyPrefix = "PRIVATE+KEY+"

// loadVerifier returns the log's note verifier from the value of --log-key:
// either the verifier key itself ("<origin>+<hash>+<base64>") or the path
// of a file holding it, such as the log.pub that init writes. Surrounding
// whitespace is ignored. A signer key is refused without being echoed.
func loadVerifier(c *cli.Context) (note.Verifier, error) {
	if err := requireFlags(c, "log-key"); err != nil {
		return nil, err
	}
	arg := strings.TrimSpace(c.String("log-key"))
	if strings.HasPrefix(arg, signerKeyPrefix) {
		return nil, withHint(errors.New("--log-key is a private signer key, not a verifier key"),
			"give the log's public verifier key, printed by init and kept in log.pub",
			"the signer key you typed may now be in your shell history: consider it exposed")
	}
	if v, err := note.NewVerifier(arg); err == nil {
		return v, nil
	}
	data, err := readFileLimit(arg, maxKeyFile, "log key file")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, withHint(fmt.Errorf("--log-key %s is neither a verifier key nor an existing file", quoteShort(arg)),
				"a verifier key looks like <origin>+<8 hex digits>+<base64>; init prints it and writes it to DIR/log.pub")
		}
		return nil, err
	}
	key := strings.TrimSpace(string(data))
	if strings.HasPrefix(key, signerKeyPrefix) {
		return nil, withHint(fmt.Errorf("log key file %s holds a private signer key, not a verifier key", arg),
			"use the log.pub file that init wrote next to log.key")
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, withHint(fmt.Errorf("log key file %s: not a note verifier key: %w", arg, err),
			"a verifier key looks like <origin>+<8 hex digits>+<base64>")
	}
	return v, nil
}

// quoteShort quotes s for an error message, cut short if long.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// newClient returns a client for the ledger named by --ledger. A missing
// or malformed URL is a usage error.
func newClient(c *cli.Context) (*client.Client, error) {
	if err := requireFlags(c, "ledger"); err != nil {
		return nil, err
	}
	cl, err := client.New(c.String("ledger"), nil)
	if err != nil {
		return nil, usageErrorf(c, "--ledger: %w", err)
	}
	return cl, nil
}

// ledgerFlag is --ledger, the base URL of a ledger's HTTP API.
func ledgerFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "ledger",
		Usage:   "base `URL` of the ledger, e.g. http://127.0.0.1:7420",
		EnvVars: []string{"LEDGER_URL"},
	}
}

// logKeyFlag is --log-key, the log's note verifier key or a file with it.
func logKeyFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "log-key",
		Usage:   "the log's verifier key `VKEY` (origin+hash+base64), or a file holding it such as DIR/log.pub",
		EnvVars: []string{"LEDGER_LOG_KEY"},
	}
}
