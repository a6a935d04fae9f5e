package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// copyUp gives an empty volume what the image has at its mount point, as Docker does the first time a
// volume is mounted: the tree (modes, owners, times, symlinks, hard links, device nodes, fifos), and the
// directory's own owner and mode. A volume with anything in it is left alone. Extended attributes are
// not copied.
func copyUp(src, dst string) error {
	if entries, err := os.ReadDir(dst); err != nil || len(entries) > 0 {
		return err
	}
	info, err := os.Lstat(src)
	if err != nil || !info.IsDir() {
		return nil // nothing at the mount point in the image (or not a directory): nothing to copy
	}
	c := treeCopier{links: map[[2]uint64]string{}}
	if err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		return c.copyEntry(path, filepath.Join(dst, rel))
	}); err != nil {
		return err
	}
	// The volume's root takes the mount point's owner and mode; directory times last, as writing
	// into a directory changes its mtime.
	if err := copyMetadata(src, dst, info); err != nil {
		return err
	}
	for i := len(c.dirs) - 1; i >= 0; i-- {
		setTimes(c.dirs[i][0], c.dirs[i][1])
	}
	return nil
}

type treeCopier struct {
	// (device, inode) of a multiply linked file → its first copy, so later names become hard links.
	links map[[2]uint64]string
	// [source, destination] of every directory copied, parents first.
	dirs [][2]string
}

func (c *treeCopier) copyEntry(src, dst string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	st := info.Sys().(*syscall.Stat_t)
	if info.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if first, ok := c.links[key]; ok {
			return os.Link(first, dst)
		}
		c.links[key] = dst
	}
	switch mode := info.Mode(); {
	case mode.IsDir():
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		c.dirs = append(c.dirs, [2]string{src, dst})
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		return os.Lchown(dst, int(st.Uid), int(st.Gid))
	case mode.IsRegular():
		if err := copyFileContent(src, dst); err != nil {
			return err
		}
	case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
		if err := syscall.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return nil // sockets belong to a process, not to the image
	}
	return copyMetadata(src, dst, info)
}

func copyFileContent(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMetadata sets owner, then mode (chown clears set-id bits), then times.
func copyMetadata(src, dst string, info fs.FileInfo) error {
	st := info.Sys().(*syscall.Stat_t)
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := syscall.Chmod(dst, st.Mode&0o7777); err != nil {
		return err
	}
	if !info.IsDir() {
		setTimes(src, dst)
	}
	return nil
}

func setTimes(src, dst string) {
	var st syscall.Stat_t
	if err := syscall.Lstat(src, &st); err != nil {
		return
	}
	syscall.UtimesNano(dst, []syscall.Timespec{st.Atim, st.Mtim})
}
