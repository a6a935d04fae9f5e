package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestContainerPathKeepsTheFollowMarkers(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/": "/", "etc//passwd": "/etc/passwd", "/a/b/": "/a/b/", "a/b/.": "/a/b/.", "/a/../../b": "/b"} {
		if got := containerPath(in); got != want {
			t.Errorf("containerPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// root/: etc/passwd, data/ (file.txt, link → /etc absolute, rel → file.txt), escape → /
func fixtureRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "data"), 0o750))
	must(os.WriteFile(filepath.Join(root, "data/file.txt"), []byte("hello"), 0o640))
	must(os.Lchown(filepath.Join(root, "data/file.txt"), 1000, 1001))
	must(os.Symlink("/etc", filepath.Join(root, "data/link")))
	must(os.Symlink("file.txt", filepath.Join(root, "data/rel")))
	must(os.Link(filepath.Join(root, "data/file.txt"), filepath.Join(root, "data/hard.txt")))
	must(os.Symlink("/", filepath.Join(root, "escape")))
	return root
}

func kindOf(err error) string {
	var fe *fileError
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return ""
}

func TestStatPathFollowsOnlyWhereDockerDoes(t *testing.T) {
	root := fixtureRoot(t)
	st, _, err := statPath(root, "/data/file.txt")
	if err != nil || st.Name != "file.txt" || st.Size != 5 || st.Mode != 0o640 || st.LinkTarget != "" {
		t.Fatalf("file: %+v %v", st, err)
	}
	st, _, err = statPath(root, "/data/link")
	if err != nil || st.Mode&os.ModeSymlink == 0 || st.LinkTarget != "/etc" || st.Name != "link" {
		t.Fatalf("symlink: %+v %v", st, err)
	}
	st, _, err = statPath(root, "/data/link/")
	if err != nil || !st.Mode.IsDir() || st.Name != "link" {
		t.Fatalf("symlink with a trailing slash is followed: %+v %v", st, err)
	}
	st, _, err = statPath(root, "/escape/etc/passwd")
	if err != nil || st.Size == 0 {
		t.Fatalf("absolute links resolve inside root: %+v %v", st, err)
	}
	if _, _, err = statPath(root, "/nonexistent"); kindOf(err) != "NotFound" {
		t.Fatalf("missing: %v", err)
	}
	if _, _, err = statPath(root, "/data/file.txt/x"); kindOf(err) != "NotFound" {
		t.Fatalf("below a file: %v", err)
	}
}

func archiveOf(t *testing.T, root, p string) []byte {
	t.Helper()
	st, host, err := statPath(root, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeArchive(host, st, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArchiveRoundTripKeepsOwnersModesAndLinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to keep owners")
	}
	src := fixtureRoot(t)
	tarball := archiveOf(t, src, "/data")
	names := []string{}
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	want := []string{"data/", "data/file.txt", "data/hard.txt", "data/link", "data/rel"}
	if len(names) != len(want) {
		t.Fatalf("entries %v", names)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %v, want %v", names, want)
		}
	}
	dst := fixtureRoot(t)
	os.MkdirAll(filepath.Join(dst, "target"), 0o755)
	if err := extractArchive(dst, "/target", bytes.NewReader(tarball), extractOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dst, "target/data/file.txt"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != 0o640 || st.Uid != 1000 || st.Gid != 1001 || st.Nlink != 2 {
		t.Fatalf("file.txt: mode %v uid %d gid %d nlink %d", fi.Mode(), st.Uid, st.Gid, st.Nlink)
	}
	if target, _ := os.Readlink(filepath.Join(dst, "target/data/link")); target != "/etc" {
		t.Fatalf("symlink kept as a symlink: %q", target)
	}
	if dir, _ := os.Stat(filepath.Join(dst, "target/data")); dir.Mode().Perm() != 0o750 {
		t.Fatalf("directory mode %v", dir.Mode())
	}
	// A single file is one entry named after the request.
	single := archiveOf(t, src, "/data/rel")
	hdr, _ := tar.NewReader(bytes.NewReader(single)).Next()
	if hdr.Name != "rel" || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != "file.txt" {
		t.Fatalf("single entry %+v", hdr)
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func TestExtractStaysInsideRoot(t *testing.T) {
	root := fixtureRoot(t)
	hostMarker := filepath.Join(t.TempDir(), "outside")
	// Through an absolute symlink already in the container, and up with "..": both land in root.
	tarball := tarOf(t,
		&tar.Header{Name: "link/planted", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "../../../../" + hostMarker, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		&tar.Header{Name: "newdir/sub/file", Typeflag: tar.TypeReg, Mode: 0o600, Size: 2},
	)
	if err := extractArchive(root, "/data", bytes.NewReader(tarball), extractOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/planted", "data" + hostMarker, "data/newdir/sub/file"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Lstat(hostMarker); err == nil {
		t.Fatal("an entry escaped the root")
	}
	// Extracting into a symlink that points at a directory is allowed (Docker follows it).
	if err := extractArchive(root, "/escape/data", bytes.NewReader(tarOf(t, &tar.Header{Name: "via", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})), extractOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "data/via")); err != nil {
		t.Fatal(err)
	}
}

func TestExtractRefusals(t *testing.T) {
	root := fixtureRoot(t)
	if err := extractArchive(root, "/data/file.txt", bytes.NewReader(nil), extractOptions{}); kindOf(err) != "InvalidParameter" {
		t.Fatalf("into a file: %v", err)
	}
	if err := extractArchive(root, "/missing", bytes.NewReader(nil), extractOptions{}); kindOf(err) != "NotFound" {
		t.Fatalf("into nothing: %v", err)
	}
	fileOverDir := tarOf(t, &tar.Header{Name: "data", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	if err := extractArchive(root, "/", bytes.NewReader(fileOverDir), extractOptions{noOverwriteDirNonDir: true}); kindOf(err) != "InvalidParameter" {
		t.Fatalf("file over a directory: %v", err)
	}
	// Without the flag the file replaces the directory, as in Docker.
	if err := extractArchive(root, "/", bytes.NewReader(fileOverDir), extractOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(filepath.Join(root, "data")); !fi.Mode().IsRegular() {
		t.Fatalf("data is %v", fi.Mode())
	}
	if os.Geteuid() == 0 {
		who := identity{uid: 1000, gid: 1001}
		if err := extractArchive(root, "/", bytes.NewReader(tarOf(t, &tar.Header{Name: "owned", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})), extractOptions{chown: &who}); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Lstat(filepath.Join(root, "owned"))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1001 {
			t.Fatalf("copyUIDGID owner %d:%d", st.Uid, st.Gid)
		}
	}
}
