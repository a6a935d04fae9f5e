package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	ioctlTIOCGPTN   = 0x80045430
	ioctlTIOCSPTLCK = 0x40045431
)

type winsize struct {
	rows, cols, xpixel, ypixel uint16
}

// openPty allocates a pty pair in the devpts instance mounted at ptsDir (the container's own
// /dev/pts, so the process sees its tty as /dev/pts/N). The master is non-blocking so that Go's
// poller can read it and a Close unblocks a pending read.
func openPty(ptsDir string) (master *os.File, slave *os.File, err error) {
	mfd, err := syscall.Open(ptsDir+"/ptmx", syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open ptmx: %w", err)
	}
	var unlock int32
	if err := ioctl(mfd, ioctlTIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
		syscall.Close(mfd)
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	var n uint32
	if err := ioctl(mfd, ioctlTIOCGPTN, uintptr(unsafe.Pointer(&n))); err != nil {
		syscall.Close(mfd)
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slavePath := ptsDir + "/" + strconv.Itoa(int(n))
	sfd, err := syscall.Open(slavePath, syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		syscall.Close(mfd)
		return nil, nil, fmt.Errorf("open %s: %w", slavePath, err)
	}
	return os.NewFile(uintptr(mfd), "ptmx"), os.NewFile(uintptr(sfd), slavePath), nil
}

func setWinsize(f *os.File, rows, cols uint16) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	ws := winsize{rows: rows, cols: cols}
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = conn.Control(func(fd uintptr) {
		ioErr = ioctl(int(fd), syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws)))
	})
	if err != nil {
		return err
	}
	return ioErr
}
