package main

import (
	"os"
	"path"
	"syscall"
)

// launchSpec is a process to start inside the container root.
type launchSpec struct {
	argv      []string
	env       []string
	cwd       string
	user      string
	groups    []string
	tty       bool
	openStdin bool
	rows      uint16
	cols      uint16
}

// launch starts a process chrooted into root, registered with the reaper before it can be reaped.
// The caller starts the session's I/O (startIO) once it has announced the process.
func (t *tether) launch(root string, id uint32, spec launchSpec, sink outputSink) (*session, *startError) {
	if len(spec.argv) == 0 {
		return nil, startFailed("no command specified")
	}
	who, err := resolveUserInRoot(root, spec.user)
	if err != nil {
		return nil, startFailed("%v", err)
	}
	extra, err := resolveGroupsInRoot(root, spec.groups)
	if err != nil {
		return nil, startFailed("%v", err)
	}
	who.groups = append(who.groups, extra...)
	env := spec.env
	pathEnv, hasPath := envValue(env, "PATH")
	if !hasPath {
		pathEnv = defaultPath
		env = append(env, "PATH="+defaultPath)
	}
	if _, ok := envValue(env, "HOME"); !ok {
		env = append(env, "HOME="+who.home)
	}
	cwd := spec.cwd
	if cwd == "" {
		cwd = "/"
	}
	cwd = path.Clean("/" + cwd)
	if _, err := mountPointInRoot(root, cwd); err != nil {
		return nil, startFailed("mkdir %s: %v", cwd, err)
	}
	exe, serr := findExecutable(root, cwd, spec.argv[0], pathEnv)
	if serr != nil {
		return nil, serr
	}

	s := newSession(id, spec.tty, sink)
	stdio, parentEnds, childEnds, err := openStdio(root, s, spec)
	if err != nil {
		return nil, startFailed("%v", err)
	}
	attr := &syscall.ProcAttr{
		Dir:   cwd,
		Env:   env,
		Files: stdio,
		Sys: &syscall.SysProcAttr{
			Chroot:     root,
			Setsid:     true,
			Setctty:    spec.tty,
			Ctty:       0,
			Credential: &syscall.Credential{Uid: who.uid, Gid: who.gid, Groups: who.groups},
		},
	}
	s.expectOutput()
	t.procMu.Lock()
	pid, err := syscall.ForkExec(exe, spec.argv, attr)
	if err == nil {
		s.pid = pid
		t.byPid[pid] = s
	}
	t.procMu.Unlock()
	closeAll(childEnds)
	if err != nil {
		closeAll(parentEnds)
		return nil, execFailure(spec.argv[0], err)
	}
	return s, nil
}

// openStdio prepares fds 0-2 for the child. parentEnds are indexed like the child's fds (nil where
// the tether keeps nothing); childEnds are closed in the tether once the child has them.
func openStdio(root string, s *session, spec launchSpec) (stdio []uintptr, parentEnds, childEnds []*os.File, err error) {
	if spec.tty {
		master, slave, err := openPty(root + "/dev/pts")
		if err != nil {
			return nil, nil, nil, err
		}
		if err := setWinsize(master, spec.rows, spec.cols); err != nil {
			master.Close()
			slave.Close()
			return nil, nil, nil, err
		}
		s.master = master
		fd := slave.Fd()
		return []uintptr{fd, fd, fd}, []*os.File{master}, []*os.File{slave}, nil
	}
	parentEnds = make([]*os.File, 3)
	fail := func(e error) ([]uintptr, []*os.File, []*os.File, error) {
		closeAll(parentEnds)
		closeAll(childEnds)
		return nil, nil, nil, e
	}
	if spec.openStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		parentEnds[0], s.stdin = w, w
		childEnds = append(childEnds, r)
	} else {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, null)
	}
	for i := 1; i <= 2; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		parentEnds[i] = r
		childEnds = append(childEnds, w)
	}
	s.stdout, s.stderr = parentEnds[1], parentEnds[2]
	// Fd() also puts each child end back into blocking mode, as a child expects.
	return []uintptr{childEnds[0].Fd(), childEnds[1].Fd(), childEnds[2].Fd()}, parentEnds, childEnds, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
