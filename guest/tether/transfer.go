package main

// The host's file requests (STAT, TOP, ARCHIVE_GET, ARCHIVE_PUT) on the control port. File work runs
// in a `tether files` helper chrooted into the container's root (files.go); its tar bytes travel as
// DATA frames under credit-based flow control, so that neither side holds more than a window of a
// large file and a slow reader never stalls the control port for other sessions.

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// transferWindow is the credit each side starts with: bytes the peer may send before any CREDIT.
	transferWindow = 256 * 1024
	transferChunk  = 32 * 1024
	// transferStall abandons a transfer whose peer neither reads nor sends for this long (a host
	// that went away mid-copy, say).
	transferStall = 5 * time.Minute
)

// fileErrorReply is ERROR for file requests: Docker's generic 125, plus the kind of failure.
type fileErrorReply struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Kind    string `json:"kind"`
}

// transfer is one file request in flight.
type transfer struct {
	id        uint32
	mu        sync.Mutex
	credit    int64    // ARCHIVE_GET: bytes the host will still accept
	queue     [][]byte // ARCHIVE_PUT: host bytes not yet written to the helper
	ended     bool     // ARCHIVE_PUT: the host's stream is complete
	cancelled bool
	pid       int
	wake      chan struct{}
}

func (x *transfer) notify() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// await blocks until ready (called under mu) holds, the transfer is cancelled, or the peer stalls.
func (x *transfer) await(ready func() bool) bool {
	deadline := time.Now().Add(transferStall)
	for {
		x.mu.Lock()
		if x.cancelled {
			x.mu.Unlock()
			return false
		}
		if ready() {
			x.mu.Unlock()
			return true
		}
		x.mu.Unlock()
		select {
		case <-x.wake:
		case <-time.After(time.Until(deadline)):
			x.cancel()
			return false
		}
	}
}

func (x *transfer) cancel() {
	x.mu.Lock()
	x.cancelled = true
	pid := x.pid
	x.mu.Unlock()
	if pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	x.notify()
}

// helperProc is a running `tether files` process; the reaper delivers its exit on exited.
type helperProc struct {
	pid    int
	stdin  *os.File // nil unless asked for
	stdout *os.File
	stderr chan []byte
	exited chan syscall.WaitStatus
}

// spawnFilesHelper starts `tether files args…` from the tether's own binary; the helper chroots itself.
func (t *tether) spawnFilesHelper(args []string, withStdin bool) (*helperProc, error) {
	var parentEnds, childEnds []*os.File
	fail := func(err error) (*helperProc, error) { closeAll(parentEnds); closeAll(childEnds); return nil, err }
	h := &helperProc{stderr: make(chan []byte, 1)}
	var in *os.File
	if withStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		h.stdin, in = w, r
		parentEnds, childEnds = append(parentEnds, w), append(childEnds, r)
	} else {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return fail(err)
		}
		in = null
		childEnds = append(childEnds, null)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	parentEnds, childEnds = append(parentEnds, outR), append(childEnds, outW)
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	parentEnds, childEnds = append(parentEnds, errR), append(childEnds, errW)
	h.stdout = outR
	attr := &syscall.ProcAttr{Env: []string{}, Files: []uintptr{in.Fd(), outW.Fd(), errW.Fd()}}
	h.pid, h.exited, err = t.forkHelper("/proc/self/exe", append([]string{"tether", filesCommand}, args...), attr)
	closeAll(childEnds)
	childEnds = nil
	if err != nil {
		return fail(err)
	}
	go func() { b, _ := io.ReadAll(errR); errR.Close(); h.stderr <- b }()
	return h, nil
}

// finish waits for the helper and reports its failure (nil when it succeeded).
func (h *helperProc) finish() *fileErrorReply {
	h.stdout.Close()
	stderr := <-h.stderr
	ws := <-h.exited
	h.pid = 0
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	var fe fileError
	if json.Unmarshal(stderr, &fe) != nil || fe.Message == "" {
		fe = fileError{Kind: "System", Message: "file helper failed: " + strings.TrimSpace(string(stderr))}
		if ws.Signaled() {
			fe.Message = "file helper killed by " + ws.Signal().String()
		}
	}
	return &fileErrorReply{Message: fe.Message, Code: 125, Kind: fe.Kind}
}

// beginTransfer registers session id for a file request; false (after answering ERROR) when the
// container is not running or the session is taken.
func (t *tether) beginTransfer(id uint32) (*transfer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	refuse := func(kind, msg string) (*transfer, bool) {
		t.sendControl(typeError, id, fileErrorReply{Message: msg, Code: 125, Kind: kind})
		return nil, false
	}
	switch {
	case id == 0:
		return refuse("InvalidParameter", "file requests are numbered from 1")
	case t.state != stateRunning:
		return refuse("Conflict", "container is not running")
	case t.sessions[id] != nil || t.transfers[id] != nil:
		return refuse("InvalidParameter", "session is in use")
	}
	x := &transfer{id: id, credit: transferWindow, wake: make(chan struct{}, 1)}
	t.transfers[id] = x
	return x, true
}

func (t *tether) endTransfer(x *transfer) {
	t.mu.Lock()
	if t.transfers[x.id] == x {
		delete(t.transfers, x.id)
	}
	t.mu.Unlock()
}

func (t *tether) transfer(id uint32) *transfer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.transfers[id]
}

type fileRequest struct {
	Path                 string `json:"path"`
	NoOverwriteDirNonDir bool   `json:"noOverwriteDirNonDir"`
	CopyUIDGID           bool   `json:"copyUIDGID"`
}

// startFileRequest handles TOP, STAT, ARCHIVE_GET and ARCHIVE_PUT; the work runs off the reader.
func (t *tether) startFileRequest(typ byte, id uint32, payload []byte) {
	var req fileRequest
	if typ != typeTop {
		if err := json.Unmarshal(payload, &req); err != nil {
			t.sendControl(typeError, id, fileErrorReply{Message: "invalid request: " + err.Error(), Code: 125, Kind: "InvalidParameter"})
			return
		}
	}
	x, ok := t.beginTransfer(id)
	if !ok {
		return
	}
	go func() {
		defer t.endTransfer(x)
		switch typ {
		case typeTop:
			list := listProcesses("/proc", containerRoot, float64(time.Now().UnixNano())/1e9)
			t.sendControl(typeResult, id, list)
		case typeStat:
			t.statFile(x, req)
		case typeArchiveGet:
			t.sendArchive(x, req)
		case typeArchivePut:
			t.receiveArchive(x, req)
		}
	}()
}

func (t *tether) helperFailed(x *transfer, err error) {
	t.sendControl(typeError, x.id, fileErrorReply{Message: err.Error(), Code: 125, Kind: "System"})
}

// startTransferHelper starts the files helper for a streaming transfer and records its pid, so that
// CANCEL can stop it; on failure the host has been told and nil is returned.
func (t *tether) startTransferHelper(x *transfer, args []string, withStdin bool) *helperProc {
	h, err := t.spawnFilesHelper(args, withStdin)
	if err != nil {
		t.helperFailed(x, err)
		return nil
	}
	x.mu.Lock()
	x.pid = h.pid
	x.mu.Unlock()
	return h
}

func (t *tether) statFile(x *transfer, req fileRequest) {
	h, err := t.spawnFilesHelper([]string{"stat", "-root", containerRoot, "-path", req.Path}, false)
	if err != nil {
		t.helperFailed(x, err)
		return
	}
	out, _ := io.ReadAll(h.stdout)
	if fail := h.finish(); fail != nil {
		t.sendControl(typeError, x.id, fail)
		return
	}
	t.control.send(typeResult, x.id, []byte(strings.TrimSpace(string(out))))
}

// sendArchive: RESULT with the path's stat, DATA frames of tar within the host's credit, then an
// empty DATA (the end) or ERROR.
func (t *tether) sendArchive(x *transfer, req fileRequest) {
	h := t.startTransferHelper(x, []string{"get", "-root", containerRoot, "-path", req.Path}, false)
	if h == nil {
		return
	}
	r := bufio.NewReaderSize(h.stdout, transferChunk)
	header, err := r.ReadBytes('\n')
	if err != nil {
		if fail := h.finish(); fail != nil {
			t.sendControl(typeError, x.id, fail)
		} else {
			t.helperFailed(x, io.ErrUnexpectedEOF)
		}
		return
	}
	t.control.send(typeResult, x.id, header[:len(header)-1])
	buf := make([]byte, transferChunk)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			need := int64(n)
			if !x.await(func() bool { return x.credit >= need }) {
				break
			}
			x.mu.Lock()
			x.credit -= need
			x.mu.Unlock()
			t.control.send(typeData, x.id, buf[:n])
		}
		if rerr != nil {
			break
		}
	}
	fail := h.finish()
	x.mu.Lock()
	x.pid = 0
	cancelled := x.cancelled
	x.mu.Unlock()
	switch {
	case cancelled:
	case fail != nil:
		t.sendControl(typeError, x.id, fail)
	default:
		t.control.send(typeData, x.id, nil)
	}
}

// receiveArchive: DATA frames from the host go to the helper's stdin, each acknowledged with CREDIT
// once written; an empty DATA ends the stream. RESULT ({}) or ERROR follows once the helper is done.
func (t *tether) receiveArchive(x *transfer, req fileRequest) {
	args := []string{"put", "-root", containerRoot, "-path", req.Path}
	if req.NoOverwriteDirNonDir {
		args = append(args, "-no-overwrite-dir-non-dir")
	}
	t.mu.Lock()
	user := t.config.User
	t.mu.Unlock()
	if req.CopyUIDGID && user != "" {
		args = append(args, "-chown-user", user)
	}
	h := t.startTransferHelper(x, args, true)
	if h == nil {
		return
	}
	go func() {
		defer h.stdin.Close()
		for {
			var chunk []byte
			var end bool
			if !x.await(func() bool { return len(x.queue) > 0 || x.ended }) {
				return
			}
			x.mu.Lock()
			if len(x.queue) > 0 {
				chunk, x.queue = x.queue[0], x.queue[1:]
			} else {
				end = true
			}
			x.mu.Unlock()
			if end {
				return
			}
			if _, err := h.stdin.Write(chunk); err != nil {
				return // the helper gave up; its exit says why
			}
			credit := make([]byte, 4)
			binary.BigEndian.PutUint32(credit, uint32(len(chunk)))
			t.control.send(typeCredit, x.id, credit)
		}
	}()
	fail := h.finish()
	x.mu.Lock()
	x.pid = 0 // reaped: a later cancel must not signal whoever gets the pid next
	x.mu.Unlock()
	x.cancel() // stops the writer if the helper ended first
	switch {
	case fail != nil:
		t.sendControl(typeError, x.id, fail)
	default:
		t.control.send(typeResult, x.id, []byte("{}"))
	}
}

// onTransferFrame handles DATA, CREDIT and CANCEL for a file request; frames for a finished one are
// dropped (they crossed its end on the wire).
func (t *tether) onTransferFrame(f frame) {
	x := t.transfer(f.session)
	if x == nil {
		return
	}
	switch f.typ {
	case typeHostData:
		x.mu.Lock()
		if len(f.payload) == 0 {
			x.ended = true
		} else {
			x.queue = append(x.queue, f.payload)
		}
		x.mu.Unlock()
		x.notify()
	case typeHostCredit:
		if len(f.payload) >= 4 {
			x.mu.Lock()
			x.credit += int64(binary.BigEndian.Uint32(f.payload))
			x.mu.Unlock()
			x.notify()
		}
	case typeCancel:
		x.cancel()
	}
}
