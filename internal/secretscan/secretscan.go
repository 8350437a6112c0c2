// Package secretscan looks for secrets in log files: private keys in any
// of the forms they could leak in, the log's signing key, and customer
// data. It reports where a secret was found, never the secret itself.
package secretscan

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentledger/agentledger/internal/keyfile"
)

// Secrets is what must never appear in a log: every private key in
// keyFiles (each line of its PEM body, its seed in base64 and in hex),
// the log's note signing key in noteKeyFile (skipped if ""), and extra.
func Secrets(keyFiles []string, noteKeyFile string, extra ...string) ([]string, error) {
	secrets := append([]string(nil), extra...)
	for _, p := range keyFiles {
		key, err := keyfile.Read(p)
		if err != nil {
			return nil, err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if len(line) > 20 && !strings.HasPrefix(line, "-----") {
				secrets = append(secrets, line)
			}
		}
		secrets = append(secrets, base64.StdEncoding.EncodeToString(key.Seed()), hex.EncodeToString(key.Seed()))
	}
	if noteKeyFile == "" {
		return secrets, nil
	}
	noteKey, err := os.ReadFile(noteKeyFile)
	if err != nil {
		return nil, err
	}
	return append(secrets, strings.TrimSpace(string(noteKey))), nil
}

// Files counts the lines of files and names each secret found, by file,
// line and the secret's number in secrets. A file that cannot be read to
// its end is a finding too: what was not scanned is not known clean.
func Files(files, secrets []string) (lines int, found []string) {
	for _, path := range files {
		n, hits := file(path, secrets)
		lines += n
		for _, h := range hits {
			found = append(found, filepath.Base(path)+": "+h)
		}
	}
	return lines, found
}

func file(path string, secrets []string) (lines int, hits []string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, []string{"unreadable: " + err.Error()}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		lines++
		for i, sec := range secrets {
			if strings.Contains(sc.Text(), sec) {
				hits = append(hits, fmt.Sprintf("line %d holds secret #%d", lines, i))
			}
		}
	}
	if err := sc.Err(); err != nil {
		hits = append(hits, fmt.Sprintf("unreadable after line %d: %v", lines, err))
	}
	return lines, hits
}
