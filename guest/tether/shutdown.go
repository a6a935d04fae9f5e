package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

const (
	killWait         = time.Second
	finalControlWait = 2 * time.Second
)

// finishContainer ends the VM after session 0 exited or failed to start: stop what is left, leave the
// writable disk clean, report the fate on both ports, power off. EXIT therefore also means "the
// container's disks are consistent" — except for an ephemeral container, whose disks the host
// destroys next: it reports at once. `steps` (nil: none) times it into an EXIT's "steps".
func (t *tether) finishContainer(typ byte, body interface{}, steps *stepTimer) {
	t.finishing.Do(func() {
		t.mu.Lock()
		ephemeral := t.config != nil && t.config.Ephemeral
		t.state = stateExited
		if r, ok := body.(exitReply); ok {
			code := r.Code
			t.exitCode = &code
		}
		var sessions []*session
		for _, s := range t.sessions {
			sessions = append(sessions, s)
		}
		t.mu.Unlock()

		killAllProcesses(killWait)
		for _, s := range sessions {
			s.release()
		}
		steps.mark("kill")
		// Disks the host destroys right after (--rm without volumes) need no flushing first.
		if !ephemeral {
			syscall.Sync()
			for _, err := range t.mounts.unmountAll() {
				fmt.Fprintf(os.Stderr, "tether: %v\n", err)
			}
			syscall.Sync()
			steps.mark("flush")
		}
		if r, ok := body.(exitReply); ok && steps != nil {
			r.Steps = steps.String()
			body = r
		}
		t.sendLog(typ, 0, body)
		if err := t.control.sendWithin(finalControlWait, typ, 0, mustJSON(body)); err != nil {
			fmt.Fprintf(os.Stderr, "tether: %v\n", err)
		}
		if t.journal != nil {
			// The engine may be away: the VM stays up, the exit held, until an engine has it on disk.
			<-t.journal.acknowledged()
		}
		powerOffNow()
	})
}

// killAllProcesses SIGKILLs everything but PID 1 and waits (bounded) until no child is left. Every
// user process is the tether's child or, orphaned, re-parented to it; kill(-1, 0) cannot tell this
// because it also counts kernel threads. Reaping here races the reaper harmlessly: the VM is ending.
func killAllProcesses(limit time.Duration) {
	syscall.Kill(-1, syscall.SIGKILL)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.ECHILD {
			return
		}
		if pid <= 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// powerOffNow resets the VM; QEMU runs with -no-reboot, so its process exits.
func powerOffNow() {
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	// Only reached if reboot failed; PID 1 must never return.
	select {}
}
