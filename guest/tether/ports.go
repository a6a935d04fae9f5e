package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	controlPortName = "bonneville.control"
	logPortName     = "bonneville.log"
	virtioPortsDir  = "/sys/class/virtio-ports"
)

// findPortDevice waits until the virtio-serial port with this name has a device node.
func findPortDevice(name string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		entries, _ := os.ReadDir(virtioPortsDir)
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(virtioPortsDir, e.Name(), "name"))
			if err != nil || strings.TrimSpace(string(raw)) != name {
				continue
			}
			dev := "/dev/" + e.Name()
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("virtio-serial port %q did not appear within %s", name, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openBlocking opens a port without O_NONBLOCK and wraps it without letting Go's poller switch it
// to non-blocking: a blocking write to a virtio port returns only once the hypervisor took the bytes.
func openBlocking(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// port is one channel to the host: a virtio-serial port, or half of the serial line both channels
// share on vSphere (then both halves hold one lock; the log half is the journal's, journal.go).
// Writes of whole frames are serialised.
type port struct {
	mu   *sync.Mutex
	file *os.File
	// stampTime prefixes every payload with the guest's unix-ns clock (the log port's format).
	stampTime bool
	// dropWhenNoHost: a write to a port whose host end is closed blocks until a host connects, so the
	// control port drops frames instead while nobody listens (the log port carries what must survive).
	dropWhenNoHost bool
}

func (p *port) send(typ byte, session uint32, body []byte) error {
	payload := body
	if p.stampTime {
		payload = make([]byte, 8+len(body))
		binary.BigEndian.PutUint64(payload[:8], uint64(time.Now().UnixNano()))
		copy(payload[8:], body)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeLocked(typ, session, payload)
}

// writeLocked writes one frame; the caller holds p.mu.
func (p *port) writeLocked(typ byte, session uint32, payload []byte) error {
	if p.dropWhenNoHost && !hostConnected(p.file) {
		return nil
	}
	_, err := p.file.Write(encodeFrame(typ, session, payload))
	return err
}

// sendWithin is send with an upper bound on how long the caller waits (used on the way to power-off,
// when a host that vanished mid-write must not keep the VM alive).
func (p *port) sendWithin(limit time.Duration, typ byte, session uint32, body []byte) error {
	done := make(chan error, 1)
	go func() { done <- p.send(typ, session, body) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("write to %s still blocked after %s", p.file.Name(), limit)
	}
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const pollHup = 0x10

// hostConnected asks the virtio console driver, which reports POLLHUP while the host end is closed.
func hostConnected(f *os.File) bool {
	pfd := pollFd{fd: int32(f.Fd()), events: 0}
	_, _, errno := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&pfd)), 1, 0)
	if errno != 0 {
		return true
	}
	return pfd.revents&pollHup == 0
}

// serveFrames reads host frames for ever. A read of 0 bytes means no host is connected: the partial
// frame is dropped and the port re-read every 100 ms (poll reports it readable the whole time).
func serveFrames(f *os.File, handle func(frame), onCorrupt func(error)) {
	serveFramesFrom(f, false, handle, onCorrupt)
}

// serveFramesFrom is serveFrames; resync: the line may lose bytes (a serial port), so a frame that
// cannot start where the decoder is makes it look further instead of dropping what it holds.
func serveFramesFrom(f *os.File, resync bool, handle func(frame), onCorrupt func(error)) {
	var dec frameDecoder
	buf := make([]byte, 64*1024)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			dec.push(buf[:n])
			for {
				if resync {
					fr, ok, skipped := dec.nextResync(hostFrameType)
					if skipped > 0 {
						onCorrupt(fmt.Errorf("skipped %d bytes that started no frame", skipped))
					}
					if !ok {
						break
					}
					handle(fr)
					continue
				}
				fr, ok, derr := dec.next()
				if derr != nil {
					onCorrupt(derr)
					break
				}
				if !ok {
					break
				}
				handle(fr)
			}
			continue
		}
		if err != nil || n == 0 {
			dec.reset()
			time.Sleep(100 * time.Millisecond)
		}
	}
}
