package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// On vSphere (docs/tether-protocol.md, "On vSphere") the VM has no virtio-serial ports: one COM port,
// which ESXi carries to the VCH over TCP (a network serial port), takes both channels. The boot
// medium says so on the kernel command line; the QEMU backend's direct boot never does.
const (
	transportArg = "bonneville.transport=serial"
	serialDevice = "/dev/ttyS0"
	// logFrameFlag marks a frame meant for the log port when both share one stream.
	logFrameFlag byte = 0x80
	// The kernel's SMBIOS system UUID: vSphere's VM BIOS UUID, which the host sets from the container id.
	systemUUIDFile = "/sys/class/dmi/id/product_uuid"
	// CRTSCTS (hardware flow control), which the syscall package does not name.
	crtscts = 0x80000000
	cbaud   = 0x100f
)

// serialTransport reports whether the kernel command line asks for the serial transport.
func serialTransport() bool {
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return false
	}
	for _, arg := range strings.Fields(string(raw)) {
		if arg == transportArg {
			return true
		}
	}
	return false
}

// vmIdentity is the VM's BIOS UUID as 32 lower-case hex digits: the first 32 of the container id
// (the host made the VM with that UUID), which HELLO carries so the VCH can tell its connections apart.
func vmIdentity() string {
	raw, err := os.ReadFile(systemUUIDFile)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(raw)), "-", ""))
}

// bootID names this boot of the tether (the kernel's random boot id), so the engine can tell which of
// a container's starts its log's records belong to (journal.go).
func bootID() string {
	raw, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if id := strings.ReplaceAll(strings.TrimSpace(string(raw)), "-", ""); err == nil && id != "" {
		return id
	}
	return fmt.Sprintf("%x", time.Now().UnixNano())
}

// openSerial opens the COM port blocking and in raw mode: no echo, no line discipline, no signals
// from bytes, 8 bits — the frames are binary.
func openSerial(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var t syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s: TCGETS: %w", path, errno)
	}
	makeRaw(&t)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCSETS, uintptr(unsafe.Pointer(&t))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s: TCSETS: %w", path, errno)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// makeRaw is cfmakeraw(3), at 115200 baud (a network serial port ignores the rate).
func makeRaw(t *syscall.Termios) {
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON | syscall.IXOFF
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB | cbaud | crtscts
	t.Cflag |= syscall.CS8 | syscall.CREAD | syscall.CLOCAL | syscall.B115200
	t.Ispeed = syscall.B115200
	t.Ospeed = syscall.B115200
	t.Cc[syscall.VMIN] = 1
	t.Cc[syscall.VTIME] = 0
}
