package keyfile

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// Write creates path with mode 0600 and writes key to it as a PKCS#8 PEM
// block, then syncs the file and its directory. It never replaces an
// existing file: if path exists, the error wraps fs.ErrExist. If writing
// fails after the file was created, the file is removed.
func Write(path string, key ed25519.PrivateKey) (err error) {
	data, err := Marshal(key)
	if err != nil {
		return err
	}
	defer clear(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing key file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a new directory entry durable. Platforms and file systems
// that cannot sync a directory are tolerated.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing key file directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("syncing key file directory: %w", err)
	}
	return nil
}

// Read loads an Ed25519 private key written by Write (or by openssl
// genpkey). It refuses a file that is not a regular file, one larger than
// MaxSize, one whose mode grants any permission to group or others
// (ErrInsecurePermissions; not checked on Windows, where modes do not
// reflect access control), and contents Parse refuses (ErrMalformed).
func Read(path string) (ed25519.PrivateKey, error) {
	// Stat before opening so that a FIFO or device is refused rather than
	// opened (opening a FIFO blocks).
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading key file %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	defer f.Close()
	// Check what was opened, not what the path named a moment ago.
	ofi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if !os.SameFile(fi, ofi) || !ofi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading key file %s: changed while opening", path)
	}
	if err := checkMode(path, ofi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("key file %s: %w: larger than %d bytes", path, ErrMalformed, MaxSize)
	}
	key, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// checkMode refuses a mode that grants group or others any permission.
func checkMode(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := mode.Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %#o, want 0600 (chmod 600 %s)", ErrInsecurePermissions, path, perm, path)
	}
	return nil
}
