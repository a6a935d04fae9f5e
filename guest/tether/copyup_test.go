package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCopyUpFillsAnEmptyVolumeOnly(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o750)
	os.WriteFile(filepath.Join(src, "sub", "a"), []byte("hello"), 0o640)
	os.Link(filepath.Join(src, "sub", "a"), filepath.Join(src, "b"))
	os.Symlink("sub/a", filepath.Join(src, "link"))
	os.Chmod(src, 0o711)
	if err := copyUp(src, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "sub", "a")); string(got) != "hello" {
		t.Fatalf("content %q", got)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "link")); target != "sub/a" {
		t.Fatalf("symlink %q", target)
	}
	var a, b syscall.Stat_t
	syscall.Stat(filepath.Join(dst, "sub", "a"), &a)
	syscall.Stat(filepath.Join(dst, "b"), &b)
	if a.Ino != b.Ino {
		t.Fatal("hard link not kept")
	}
	for path, mode := range map[string]os.FileMode{dst: 0o711, filepath.Join(dst, "sub"): 0o750, filepath.Join(dst, "sub", "a"): 0o640} {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != mode {
			t.Fatalf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	// A volume with content is not touched again.
	os.WriteFile(filepath.Join(src, "new"), []byte("x"), 0o644)
	if err := copyUp(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "new")); err == nil {
		t.Fatal("copied into a volume that was not empty")
	}
}
