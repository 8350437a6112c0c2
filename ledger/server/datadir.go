package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/agentledger/agentledger/internal/fileio"
	"github.com/agentledger/agentledger/internal/keyfile"
	"github.com/agentledger/agentledger/ledger"
	"github.com/agentledger/agentledger/proofs/did"
)

// The files of a data directory, relative to it (see the package
// documentation).
const (
	FileLogKey       = "log.key"       // the log's note signer key, 0600
	FileLogPub       = "log.pub"       // its note verifier key, 0644
	FileAuthorityKey = "authority.pem" // the authority's PKCS#8 Ed25519 key, 0600
	FileAuthorityDID = "authority.did" // the authority's did:key, 0644
	DirStore         = "db"            // the log's Badger store
)

// maxKeyFile bounds log.key and authority.did, each under 200 bytes.
const maxKeyFile = 4 << 10

// Init creates a new, empty log named origin in dir: the directory (mode
// 0700) if it does not exist, the log's note key pair, the authority's key
// and did:key, and the store. It returns the log's note verifier key and
// the authority's did:key.
//
// Init never overwrites: it refuses, with an error wrapping ErrLogExists,
// a dir that holds any file of a log or a non-empty store directory. If it
// fails after creating anything, it removes what it created (dir itself,
// if it created dir).
func Init(dir, origin string) (vkey, authority string, err error) {
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
		if err := fileio.WriteNew(path, data, perm); err != nil {
			return err
		}
		created = append(created, path)
		return nil
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("generating the log key: %w", err)
	}
	if err := create(FileLogKey, []byte(skey+"\n"), 0o600); err != nil {
		return "", "", err
	}
	if err := create(FileLogPub, []byte(vkey+"\n"), 0o644); err != nil {
		return "", "", err
	}

	key, err := keyfile.Generate()
	if err != nil {
		return "", "", err
	}
	authority = did.FromPublicKey(key.Public().(ed25519.PublicKey))
	keyPath := filepath.Join(dir, FileAuthorityKey)
	if err := keyfile.Write(keyPath, key); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", keyPath, err)
	}
	created = append(created, keyPath)
	if err := create(FileAuthorityDID, []byte(authority+"\n"), 0o644); err != nil {
		return "", "", err
	}

	dbPath := filepath.Join(dir, DirStore)
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
	for _, name := range []string{FileLogKey, FileLogPub, FileAuthorityKey, FileAuthorityDID} {
		path := filepath.Join(dir, name)
		if _, err := os.Lstat(path); err == nil {
			return classify(ErrLogExists, fmt.Errorf("%s already holds a log: %s exists", dir, path))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", path, err)
		}
	}
	store := filepath.Join(dir, DirStore)
	entries, err := os.ReadDir(store)
	if err == nil && len(entries) > 0 {
		return classify(ErrLogExists, fmt.Errorf("%s already holds a log store: %s is not empty", dir, store))
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", store, err)
	}
	return nil
}

// readSigner loads the log's note signer key from path, refusing a file
// that group or others may read. Errors never contain the key.
func readSigner(path string) (note.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, classify(ErrNotDataDir, fmt.Errorf("reading the log key: %w", err))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, classify(ErrLogKeyExposed, fmt.Errorf("log key %s has mode %#o and may be read by others", path, perm))
	}
	data, err := fileio.ReadLimit(path, maxKeyFile, "log key")
	if err != nil {
		return nil, err
	}
	defer clear(data)
	signer, err := note.NewSigner(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("log key %s: not a note signer key: %w", path, err)
	}
	return signer, nil
}

// readAuthority loads the authority's did:key from path.
func readAuthority(path string) (ed25519.PublicKey, error) {
	data, err := fileio.ReadLimit(path, maxKeyFile, "authority did file")
	if err != nil {
		return nil, classify(ErrNotDataDir, err)
	}
	pub, err := did.Parse(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("authority did file %s: %w", path, err)
	}
	return pub, nil
}
