package main

// The file operations behind `docker cp` (STAT, ARCHIVE_GET, ARCHIVE_PUT), with Docker's path rules:
// a path is absolute in the container; its parent is resolved with symlinks followed inside root, its
// last element is not, unless the path ends in "/" or "/." (then it names what a symlink points to).
// They run in a helper process chrooted into the container's root (files.go), and resolve inside
// root as well, so that they behave the same when called on a plain directory (the unit tests).

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// pathStat is Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header). Mode is Go's
// os.FileMode, which is what the docker CLI decodes.
type pathStat struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       os.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget"`
}

// fileError carries the kind of failure to the host, which maps it to an HTTP status.
type fileError struct {
	Kind    string `json:"kind"` // NotFound, InvalidParameter, System
	Message string `json:"message"`
}

func (e *fileError) Error() string { return e.Message }

func notFoundError(p string) *fileError {
	return &fileError{Kind: "NotFound", Message: fmt.Sprintf("no such file or directory: %s", p)}
}

// classify turns a filesystem error into a fileError; ENOTDIR counts as missing (a parent is a file).
func classify(p string, err error) error {
	var fe *fileError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return notFoundError(p)
	}
	return &fileError{Kind: "System", Message: err.Error()}
}

// containerPath makes p absolute and clean, keeping a trailing "/" or "/." (they mean "follow").
func containerPath(p string) string {
	clean := path.Clean("/" + p)
	switch {
	case clean == "/":
		return "/"
	case strings.HasSuffix(p, "/."):
		return clean + "/."
	case strings.HasSuffix(p, "/"):
		return clean + "/"
	}
	return clean
}

// inRoot resolves a container path fully (every symlink followed) to a path under root.
func inRoot(root, p string) (string, error) {
	resolved, err := resolveInRoot(root, p)
	if resolved == "" && err == nil {
		return "/", nil // root "" (chrooted helper) resolving "/"
	}
	return resolved, err
}

// locate resolves abs the way Docker does: the parent fully, the last element only after "/" or "/.".
func locate(root, abs string) (string, error) {
	dir, base := path.Split(abs)
	parent, err := inRoot(root, dir)
	if err != nil || base == "" || base == "." {
		return parent, err
	}
	return strings.TrimSuffix(parent, "/") + "/" + base, nil
}

// statPath is Docker's StatPath: lstat of the located path; a symlink's target fully resolved in root.
func statPath(root, p string) (pathStat, string, error) {
	abs := containerPath(p)
	host, err := locate(root, abs)
	if err != nil {
		return pathStat{}, "", classify(p, err)
	}
	fi, err := os.Lstat(host)
	if err != nil {
		return pathStat{}, "", classify(p, err)
	}
	st := pathStat{Name: path.Base(abs), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime()}
	if abs != "/" && strings.HasSuffix(abs, "/.") {
		st.Name = path.Base(path.Dir(abs))
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := inRoot(root, abs)
		if err != nil {
			return pathStat{}, "", classify(p, err)
		}
		st.LinkTarget = "/" + strings.TrimPrefix(strings.TrimPrefix(target, root), "/")
	}
	return st, host, nil
}

// writeArchive tars what p names: a directory with its contents under the directory's own name, or a
// single entry (a file, a symlink as a symlink). Entries are named after the requested name, not the
// resolved one, as in Docker.
func writeArchive(host string, st pathStat, w io.Writer) error {
	tw := tar.NewWriter(w)
	rebase := st.Name
	if rebase == "/" {
		rebase = "."
	}
	links := map[[2]uint64]string{}
	add := func(file, name string, fi os.FileInfo) error {
		if fi.Mode()&os.ModeSocket != 0 {
			return nil // tar has no sockets; Docker skips them too
		}
		var link string
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(file)
			if err != nil {
				return err
			}
			link = target
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		// Names of owners are the container's business; numbers are what extraction uses.
		hdr.Uname, hdr.Gname = "", ""
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && sys.Nlink > 1 {
			key := [2]uint64{uint64(sys.Dev), sys.Ino}
			if first, seen := links[key]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[key] = name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
			return nil
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	}
	fi, err := os.Lstat(host)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		if err := add(host, rebase, fi); err != nil {
			return err
		}
		return tw.Close()
	}
	// Walk never follows symlinks: a link to a directory is archived as a link.
	err = filepath.Walk(host, func(file string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(host, file)
		return add(file, path.Join(rebase, filepath.ToSlash(rel)), fi)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// extractOptions are the PUT query's: Docker refuses to replace a directory with a non-directory
// (and the reverse) when noOverwriteDirNonDir; chown (copyUIDGID) gives everything one owner.
type extractOptions struct {
	noOverwriteDirNonDir bool
	chown                *identity
}

// extractArchive unpacks a tar into the directory p names (symlinks followed, even the last one).
// Every entry's parent is resolved inside root, so links already in the container, or planted by
// earlier entries, cannot lead outside it.
func extractArchive(root, p string, r io.Reader, opts extractOptions) error {
	abs := containerPath(p)
	dest, err := inRoot(root, abs)
	if err != nil {
		return classify(p, err)
	}
	fi, err := os.Lstat(dest)
	if err != nil {
		return classify(p, err)
	}
	if !fi.IsDir() {
		return &fileError{Kind: "InvalidParameter", Message: "extraction point is not a directory"}
	}
	type dirTime struct {
		path         string
		atime, mtime time.Time
	}
	var dirTimes []dirTime
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &fileError{Kind: "InvalidParameter", Message: fmt.Sprintf("invalid tar stream: %v", err)}
		}
		// Rooted and climbing names stay inside the destination: Clean against "/" drops the "..".
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if name == "" {
			continue // the destination itself
		}
		target, err := entryPath(root, abs, name)
		if err != nil {
			return err
		}
		if err := extractEntry(root, abs, target, hdr, tr, opts); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeDir {
			dirTimes = append(dirTimes, dirTime{target, accessTime(hdr), hdr.ModTime})
		}
	}
	// Directory times last: creating their entries changed them.
	for i := len(dirTimes) - 1; i >= 0; i-- {
		lutimes(dirTimes[i].path, dirTimes[i].atime, dirTimes[i].mtime)
	}
	// The sender may pad past the end-of-archive blocks: read it all so it never sees a closed pipe.
	io.Copy(io.Discard, r)
	return nil
}

// entryPath is where an entry named name (relative to the container directory abs) goes: its parent
// resolved in root and created when missing, its last element as it is.
func entryPath(root, abs, name string) (string, error) {
	parent, err := inRoot(root, path.Join(abs, path.Dir(name)))
	if err != nil {
		return "", classify(name, err)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", classify(name, err)
	}
	return strings.TrimSuffix(parent, "/") + "/" + path.Base(name), nil
}

// linkSource is the file a hard link entry names (relative to the destination, like every entry);
// link(2) does not follow a symlink there, so only its parent is resolved.
func linkSource(root, abs, linkname string) (string, error) {
	name := strings.TrimPrefix(path.Clean("/"+linkname), "/")
	parent, err := inRoot(root, path.Join(abs, path.Dir(name)))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(parent, "/") + "/" + path.Base(name), nil
}

func extractEntry(root, abs, target string, hdr *tar.Header, body io.Reader, opts extractOptions) error {
	isDir := hdr.Typeflag == tar.TypeDir
	if existing, err := os.Lstat(target); err == nil {
		if opts.noOverwriteDirNonDir && existing.IsDir() && !isDir {
			return &fileError{Kind: "InvalidParameter", Message: fmt.Sprintf("cannot overwrite directory %q with non-directory %q", containerName(root, target), hdr.Name)}
		}
		if opts.noOverwriteDirNonDir && !existing.IsDir() && isDir {
			return &fileError{Kind: "InvalidParameter", Message: fmt.Sprintf("cannot overwrite non-directory %q with directory %q", containerName(root, target), hdr.Name)}
		}
		if !(existing.IsDir() && isDir) {
			if err := os.RemoveAll(target); err != nil {
				return classify(hdr.Name, err)
			}
		}
	}
	mode := uint32(hdr.Mode) & 0o7777
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err = os.Mkdir(target, 0o700); os.IsExist(err) {
			err = nil
		}
	case tar.TypeReg, tar.TypeRegA:
		err = writeFile(target, body)
	case tar.TypeSymlink:
		err = os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		var source string
		if source, err = linkSource(root, abs, hdr.Linkname); err == nil {
			err = os.Link(source, target)
		}
	case tar.TypeChar:
		err = syscall.Mknod(target, syscall.S_IFCHR|mode, int(mkdev(hdr.Devmajor, hdr.Devminor)))
	case tar.TypeBlock:
		err = syscall.Mknod(target, syscall.S_IFBLK|mode, int(mkdev(hdr.Devmajor, hdr.Devminor)))
	case tar.TypeFifo:
		err = syscall.Mkfifo(target, mode)
	default:
		return nil // pax/global headers and the like carry nothing to create
	}
	if err != nil {
		return classify(hdr.Name, err)
	}
	if hdr.Typeflag == tar.TypeLink {
		return nil // shares the source's inode: owner, mode and times are the source's
	}
	uid, gid := hdr.Uid, hdr.Gid
	if opts.chown != nil {
		uid, gid = int(opts.chown.uid), int(opts.chown.gid)
	}
	if err := os.Lchown(target, uid, gid); err != nil {
		return classify(hdr.Name, err)
	}
	// After chown, which clears set-id bits; symlinks have no mode of their own.
	if hdr.Typeflag != tar.TypeSymlink {
		if err := syscall.Chmod(target, mode); err != nil {
			return classify(hdr.Name, err)
		}
	}
	if !isDir {
		lutimes(target, accessTime(hdr), hdr.ModTime)
	}
	return nil
}

func writeFile(target string, body io.Reader) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// containerName is target as the container sees it, for messages.
func containerName(root, target string) string {
	return "/" + strings.TrimPrefix(strings.TrimPrefix(target, root), "/")
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

func mkdev(major, minor int64) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi &^ 0xff) << 12) | ((ma &^ 0xfff) << 32)
}

const (
	atFdcwd           = -100
	atSymlinkNofollow = 0x100
)

// lutimes sets times without following a symlink (the syscall package has no Lutimes).
func lutimes(p string, atime, mtime time.Time) error {
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(atime.UnixNano()), syscall.NsecToTimespec(mtime.UnixNano())}
	name, err := syscall.BytePtrFromString(p)
	if err != nil {
		return err
	}
	fdcwd := atFdcwd
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fdcwd), uintptr(unsafe.Pointer(name)),
		uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofollow, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
