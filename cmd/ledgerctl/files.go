package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/ledger/client"
)

// maxInputFile bounds every file ledgerctl reads whole: payloads, entries,
// checkpoints, bundles and evidence. The formats' own limits are smaller
// still and are checked by their parsers.
const maxInputFile = 1 << 20

// maxKeyFile bounds a file holding a note verifier key, which is under
// 200 bytes.
const maxKeyFile = 4 << 10

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
	data, err := fileio.ReadLimit(arg, maxKeyFile, "log key file")
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

// newProgress is a progress bar of total steps on stderr, shown only on a
// terminal.
func newProgress(s streams, total int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(s.err),
		progressbar.OptionSetVisibility(isTerminal(s.err)), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}
