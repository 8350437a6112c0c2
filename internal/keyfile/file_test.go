package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteRead(t *testing.T) {
	key := mustGenerate(t)
	path := filepath.Join(t.TempDir(), "agent.key")
	if err := Write(path, key); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %#o, want 0600", fi.Mode().Perm())
	}
	got, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !got.Equal(key) {
		t.Error("Read returned a different key")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := Marshal(key); string(data) != string(want) {
		t.Errorf("file holds\n%s\nwant\n%s", data, want)
	}
}

func TestWriteRefusesExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.key")
	first := mustGenerate(t)
	if err := Write(path, first); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, mustGenerate(t)); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Write: %v, want fs.ErrExist", err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(first) {
		t.Error("second Write replaced the key")
	}

	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(other, first); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write over a file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(other); string(b) != "keep me" {
		t.Errorf("file changed to %q", b)
	}
	if err := Write(dir, first); err == nil {
		t.Error("Write over a directory succeeded")
	}
}

// TestWriteRefusesSymlink checks that Write does not follow a symlink,
// even a dangling one, to create a file somewhere else.
func TestWriteRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.key")
	link := filepath.Join(dir, "agent.key")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make symlinks: %v", err)
	}
	if err := Write(link, mustGenerate(t)); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write through a dangling symlink: %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink target was created (%v)", err)
	}
}

func TestWriteRefusesBadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.key")
	if err := Write(path, make([]byte, 32)); err == nil {
		t.Fatal("Write of a 32-byte key succeeded")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file left behind after a refused Write (%v)", err)
	}
	if err := Write(filepath.Join(t.TempDir(), "missing", "agent.key"), mustGenerate(t)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write into a missing directory: %v, want fs.ErrNotExist", err)
	}
}

func TestReadRefusesInsecurePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not reflect access control on windows")
	}
	key := mustGenerate(t)
	dir := t.TempDir()
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o610, 0o601, 0o666, 0o777, 0o704, 0o440} {
		path := filepath.Join(dir, strings.TrimPrefix(mode.String(), "-"))
		if err := Write(path, key); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if !errors.Is(err, ErrInsecurePermissions) || got != nil {
			t.Errorf("Read of a %#o file: %v, want ErrInsecurePermissions", mode, err)
			continue
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("error %q does not say how to fix it", err)
		}
	}
	for _, mode := range []fs.FileMode{0o600, 0o400, 0o700} {
		path := filepath.Join(dir, "ok"+strings.TrimPrefix(mode.String(), "-"))
		if err := Write(path, key); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err != nil {
			t.Errorf("Read of a %#o file: %v", mode, err)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	if _, err := Read(filepath.Join(dir, "missing.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := Read(dir); err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("Read of a directory: %v, want a not-a-regular-file error", err)
	}
	big := write("big.key", append([]byte(rfc8410Private), make([]byte, MaxSize)...))
	if _, err := Read(big); !errors.Is(err, ErrMalformed) {
		t.Errorf("Read of an oversize file: %v, want ErrMalformed", err)
	}
	for _, name := range []string{"openssl-rsa.pem", "openssl-p256.pem", "openssl-x25519.pem", "openssh-ed25519.key", "openssl-ed25519.pub.pem"} {
		path := write(name, fixture(t, name))
		if _, err := Read(path); !errors.Is(err, ErrMalformed) {
			t.Errorf("Read(%s): %v, want ErrMalformed", name, err)
		}
	}
	empty := write("empty.key", nil)
	if _, err := Read(empty); !errors.Is(err, ErrMalformed) {
		t.Errorf("Read of an empty file: %v, want ErrMalformed", err)
	}
}

func TestReadOpenSSLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openssl.pem")
	if err := os.WriteFile(path, fixture(t, "openssl-ed25519.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	pub, err := ParsePublic(fixture(t, "openssl-ed25519.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(key.Public()) {
		t.Error("key does not match its openssl public key")
	}
}
