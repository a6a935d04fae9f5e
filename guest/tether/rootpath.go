package main

import (
	"errors"
	"os"
	"path"
	"strings"
	"syscall"
)

const maxSymlinkHops = 40

// resolveInRoot turns a path as the container sees it into a path the tether can open, following
// symlinks as if root were "/" so that an absolute link in the image never escapes into the guest's
// own filesystem. Missing trailing components are kept as they are (the result may not exist).
func resolveInRoot(root, p string) (string, error) {
	pending := strings.Split(p, "/")
	resolved := "/"
	hops := 0
	for len(pending) > 0 {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		candidate := path.Join(resolved, part)
		fi, err := os.Lstat(root + candidate)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				resolved = path.Join(append([]string{candidate}, pending...)...)
				return root + path.Clean("/"+resolved), nil
			}
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			resolved = candidate
			continue
		}
		hops++
		if hops > maxSymlinkHops {
			return "", syscall.ELOOP
		}
		target, err := os.Readlink(root + candidate)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = "/"
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	if resolved == "/" {
		return root, nil
	}
	return root + resolved, nil
}
