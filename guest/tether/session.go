package main

import (
	"os"
	"sync"
	"syscall"
	"time"
)

// outputDrainLimit bounds how long output is awaited after a process is gone: a daemonised child may
// hold the pipes open for ever.
const outputDrainLimit = 500 * time.Millisecond

// outputSink is where a session's output frames go: the log port for session 0, control otherwise.
type outputSink interface {
	send(typ byte, session uint32, body []byte) error
}

// session is one process started by the tether (session 0: the container's main process).
type session struct {
	id   uint32
	pid  int
	tty  bool
	sink outputSink

	master  *os.File // pty master when tty
	stdin   *os.File // write end of the stdin pipe, nil when stdin is /dev/null or a pty
	stdout  *os.File // read ends of the output pipes when not tty
	stderr  *os.File
	readers []*os.File // output sources, closed to abandon output held open by daemonised children

	stdinQueue chan stdinOp
	done       chan struct{}
	outputs    sync.WaitGroup
	closeOnce  sync.Once
}

type stdinOp struct {
	data  []byte
	close bool
}

func newSession(id uint32, tty bool, sink outputSink) *session {
	return &session{id: id, tty: tty, sink: sink, stdinQueue: make(chan stdinOp, 256), done: make(chan struct{})}
}

// expectOutput records the output sources before the process starts, so that an exit reaped before
// startIO runs still waits for (and drains) the output.
func (s *session) expectOutput() {
	if s.tty {
		s.readers = []*os.File{s.master}
	} else {
		s.readers = []*os.File{s.stdout, s.stderr}
	}
	s.outputs.Add(len(s.readers))
}

// startIO begins copying output to frames and host stdin to the process; the caller sends STARTED
// first so that a reader of either port sees STARTED before any output.
func (s *session) startIO() {
	if s.tty {
		go s.pump(s.master, typeStdout)
	} else {
		go s.pump(s.stdout, typeStdout)
		go s.pump(s.stderr, typeStderr)
	}
	go s.feedStdin()
}

func (s *session) pump(r *os.File, typ byte) {
	defer s.outputs.Done()
	// 16 KiB keeps each frame inside one 32 KiB virtio-console write, so QEMU appends it to the log
	// file in one piece even if it is killed mid-stream.
	buf := make([]byte, 16*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.sink.send(typ, s.id, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// feedStdin writes queued host stdin in order, off the control port's reader so that a process that
// does not read its stdin cannot stall signals and other sessions.
func (s *session) feedStdin() {
	for {
		select {
		case <-s.done:
			return
		case op := <-s.stdinQueue:
			switch {
			case s.tty && op.close:
				// A pty has no half-close: EOT makes a reader in canonical mode see end of file.
				s.master.Write([]byte{4})
			case s.tty:
				s.master.Write(op.data)
			case s.stdin == nil:
			case op.close:
				s.stdin.Close()
			default:
				s.stdin.Write(op.data)
			}
		}
	}
}

func (s *session) queueStdin(op stdinOp) {
	select {
	case s.stdinQueue <- op:
	case <-s.done:
	}
}

// signal delivers signo to the process, or to its process group when it owns a tty (like a terminal).
func (s *session) signal(signo syscall.Signal) error {
	if s.tty {
		return syscall.Kill(-s.pid, signo)
	}
	return syscall.Kill(s.pid, signo)
}

func (s *session) resize(rows, cols uint16) error {
	if !s.tty {
		return nil
	}
	return setWinsize(s.master, rows, cols)
}

// drainOutput waits for the output to reach EOF, at most outputDrainLimit, then releases the files.
func (s *session) drainOutput() {
	drained := make(chan struct{})
	go func() { s.outputs.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputDrainLimit):
	}
	s.release()
	<-drained
}

// release closes everything the tether holds for this session; pending reads and writes return at
// once (the files are non-blocking and owned by Go's poller, so Close interrupts them).
func (s *session) release() {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, r := range s.readers {
			r.Close()
		}
		if s.stdin != nil {
			s.stdin.Close()
		}
	})
}

func exitCodeOf(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
