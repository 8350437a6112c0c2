// Package fileio reads and writes the project's own files safely: a read
// is bounded in size and refuses what is not a regular file, a write is
// atomic (a reader sees the old file or the whole new one, never a part)
// and durable (fsynced before the rename), and a new file is never put in
// place of an existing one.
package fileio

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ReadLimit reads the regular file at path, refusing one larger than limit
// bytes. what names the file in errors ("payload file").
func ReadLimit(path string, limit int64, what string) ([]byte, error) {
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
		return nil, fmt.Errorf("%s %s is larger than the limit of %s", what, path, ByteSize(limit))
	}
	return data, nil
}

// ByteSize writes n in the largest binary unit that divides it.
func ByteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// WriteAtomic writes data to path through a temporary file in the same
// directory, fsynced, and a rename, so a reader sees the old file or the
// whole new one, never a part. The file gets mode perm.
func WriteAtomic(path string, data []byte, perm fs.FileMode) (err error) {
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
	if err = fill(f, path, data, perm); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteNew creates path with mode perm (whatever the umask), writes data
// and fsyncs it. It never replaces an existing file: if path exists, the
// error wraps fs.ErrExist. If writing fails after the file was created,
// the file is removed.
func WriteNew(path string, data []byte, perm fs.FileMode) (err error) {
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
	return fill(f, path, data, perm)
}

// fill writes data to f, a file just created for path, gives it mode perm
// (the umask may have narrowed the mode it was created with), fsyncs it
// and closes it. Errors name path.
func fill(f *os.File, path string, data []byte, perm fs.FileMode) error {
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
