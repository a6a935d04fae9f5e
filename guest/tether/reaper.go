package main

import (
	"os"
	"os/signal"
	"syscall"
)

// reapChildren is PID 1's duty: collect every exited process, including orphans re-parented to the
// tether, and hand the sessions' own processes to onExit. It is the only caller of wait4.
func (t *tether) reapChildren(onExit func(*session, syscall.WaitStatus)) {
	sigchld := make(chan os.Signal, 16)
	signal.Notify(sigchld, syscall.SIGCHLD)
	go func() {
		for range sigchld {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
				// launch holds procMu from fork until the pid is registered, so a fast exit is not missed.
				t.procMu.Lock()
				s := t.byPid[pid]
				delete(t.byPid, pid)
				helper := t.helpers[pid]
				delete(t.helpers, pid)
				t.procMu.Unlock()
				if s != nil {
					go onExit(s, ws)
				}
				if helper != nil {
					helper <- ws // buffered: never blocks the reaper
				}
			}
		}
	}()
}

// forkHelper starts a helper process the reaper knows: PID 1's reaper is the only wait4 caller, so a
// helper's exit status reaches the returned channel (buffered) instead of a wait of the caller's own.
// procMu is held from the fork until the pid is registered, so a fast exit is not missed.
func (t *tether) forkHelper(path string, argv []string, attr *syscall.ProcAttr) (int, chan syscall.WaitStatus, error) {
	exited := make(chan syscall.WaitStatus, 1)
	t.procMu.Lock()
	defer t.procMu.Unlock()
	pid, err := syscall.ForkExec(path, argv, attr)
	if err == nil {
		t.helpers[pid] = exited
	}
	return pid, exited, err
}

// absorbSignals keeps signals sent to PID 1 (from inside the container, say) from killing the tether:
// Go's default for SIGTERM and friends is to exit, and init exiting panics the kernel. Handled (not
// ignored) signals reset to their defaults in exec'd children, so the container's processes are unaffected.
func absorbSignals() {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	go func() {
		for range ch {
		}
	}()
}
