package main

import (
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// findExecutable resolves argv[0] inside the container root with Docker's semantics: a name with a
// slash is used as is (relative to cwd), anything else is searched in the config's PATH. It returns
// the path to hand to execve after chroot.
func findExecutable(root, cwd, name, pathEnv string) (string, *startError) {
	if name == "" {
		return "", startFailed("no command specified")
	}
	if strings.Contains(name, "/") {
		full := name
		if !strings.HasPrefix(name, "/") {
			full = path.Join(cwd, name)
		}
		if err := checkExecutable(root, full); err != nil {
			if os.IsNotExist(err) {
				return "", &startError{message: fmt.Sprintf("exec: %q: stat %s: no such file or directory", name, name), code: codeNotFound}
			}
			return "", execFailure(name, err)
		}
		return name, nil
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		candidate := path.Join(dir, name)
		if !strings.HasPrefix(candidate, "/") {
			candidate = path.Join(cwd, candidate)
		}
		if checkExecutable(root, candidate) == nil {
			return candidate, nil
		}
	}
	return "", &startError{message: fmt.Sprintf("exec: %q: executable file not found in $PATH", name), code: codeNotFound}
}

// checkExecutable is the PATH-search test: a regular file with some execute bit.
func checkExecutable(root, containerPath string) error {
	hostPath, err := resolveInRoot(root, containerPath)
	if err != nil {
		return err
	}
	fi, err := os.Stat(hostPath)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	if fi.Mode()&0o111 == 0 {
		return syscall.EACCES
	}
	return nil
}

// envValue returns the last value of key in a KEY=VALUE list (later entries win, as in execve users).
func envValue(env []string, key string) (string, bool) {
	value, found := "", false
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			value, found = kv[len(key)+1:], true
		}
	}
	return value, found
}

// mergeEnv overlays extra onto base, replacing variables of the same name.
func mergeEnv(base, extra []string) []string {
	out := []string{}
	index := map[string]int{}
	for _, list := range [][]string{base, extra} {
		for _, kv := range list {
			key := kv
			if i := strings.IndexByte(kv, '='); i >= 0 {
				key = kv[:i]
			}
			if at, ok := index[key]; ok {
				out[at] = kv
				continue
			}
			index[key] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
