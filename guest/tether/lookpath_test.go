package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func makeRoot(t *testing.T) string {
	root := t.TempDir()
	for _, d := range []string{"bin", "usr/bin", "etc", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "bin/busybox"), []byte("x"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("x"), 0o644)
	// Absolute links must resolve inside the root, not on the machine running the test.
	os.Symlink("/bin/busybox", filepath.Join(root, "bin/sh"))
	os.Symlink("/bin", filepath.Join(root, "usr/bin/up"))
	os.Symlink("../../../../../etc", filepath.Join(root, "data/escape"))
	return root
}

func TestFindExecutable(t *testing.T) {
	root := makeRoot(t)
	if p, err := findExecutable(root, "/", "sh", "/usr/bin:/bin"); err != nil || p != "/bin/sh" {
		t.Fatalf("sh: %q %v", p, err)
	}
	if p, err := findExecutable(root, "/", "/bin/sh", ""); err != nil || p != "/bin/sh" {
		t.Fatalf("/bin/sh: %q %v", p, err)
	}
	_, err := findExecutable(root, "/", "fakeCommand", defaultPath)
	if err == nil || err.code != 127 || err.message != `exec: "fakeCommand": executable file not found in $PATH` {
		t.Fatalf("fakeCommand: %+v", err)
	}
	_, err = findExecutable(root, "/", "/etc/passwd", defaultPath)
	if err == nil || err.code != 126 {
		t.Fatalf("/etc/passwd: %+v", err)
	}
	_, err = findExecutable(root, "/", "/nope", defaultPath)
	if err == nil || err.code != 127 {
		t.Fatalf("/nope: %+v", err)
	}
}

func TestResolveInRootStaysInside(t *testing.T) {
	root := makeRoot(t)
	p, err := resolveInRoot(root, "/data/escape/passwd")
	if err != nil || p != filepath.Join(root, "etc/passwd") {
		t.Fatalf("got %q %v", p, err)
	}
	p, err = resolveInRoot(root, "/usr/bin/up/sh")
	if err != nil || p != filepath.Join(root, "bin/busybox") {
		t.Fatalf("got %q %v", p, err)
	}
	p, err = resolveInRoot(root, "/new/dir")
	if err != nil || !strings.HasSuffix(p, "/new/dir") || !strings.HasPrefix(p, root) {
		t.Fatalf("got %q %v", p, err)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "PATH=/bin"}, []string{"PATH=/x", "B=2"})
	if strings.Join(got, ",") != "A=1,PATH=/x,B=2" {
		t.Fatalf("got %v", got)
	}
}
