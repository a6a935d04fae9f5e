// Command tether is PID 1 of every Bonneville container VM: it loads the virtio drivers, talks to the
// host over two virtio-serial ports (docs/tether-protocol.md), builds the container's root and runs
// its processes. Run as `tether files …` it is instead a one-shot file helper for `docker cp` (files.go);
// run as bonneville-dhcp-event, udhcpc's event script for the public network (public_network.go).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

const portWait = 10 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == warmExitCommand && os.Getpid() != 1 {
		os.Exit(0)
	}
	if filepath.Base(os.Args[0]) == dhcpEventName {
		os.Exit(runDhcpEvent(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == filesCommand {
		os.Exit(runFilesHelper(os.Args[2:]))
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "tether: must run as PID 1 of a container VM")
		os.Exit(2)
	}
	syscall.Umask(0o022)
	if err := mountEarly(); err != nil {
		fatal(err)
	}
	attachConsole()
	raiseFileLimit()
	absorbSignals()

	t := newTether()
	t.reapChildren(t.onProcessExit)
	if err := loadModules(); err != nil {
		// Keep going: the ports may still work, and the host then learns why something is missing.
		fmt.Fprintf(os.Stderr, "tether: %v\n", err)
	}
	if serialTransport() {
		serveSerial(t)
		return
	}
	control, err := openPort(controlPortName)
	if err != nil {
		fatal(err)
	}
	logPort, err := openPort(logPortName)
	if err != nil {
		fatal(err)
	}
	t.control = &port{mu: &sync.Mutex{}, file: control, dropWhenNoHost: true}
	t.log = &port{mu: &sync.Mutex{}, file: logPort, stampTime: true}
	serveFrames(control, t.handle, func(err error) { t.diag("control port: %v", err) })
}

// serveSerial runs both channels over the COM port (vSphere): log frames carry logFrameFlag in their
// type. A serial line cannot tell whether a host is on the other end, so frames are written whatever
// (ESXi drops them while no VCH listens); HELLO, with the VM's identity, goes out first, since the
// VCH cannot know which VM a new connection is until the tether speaks.
func serveSerial(t *tether) {
	if err := loadOnDemand(vsphereModules...); err != nil {
		fmt.Fprintf(os.Stderr, "tether: %v\n", err)
	}
	line, err := openSerial(serialDevice)
	if err != nil {
		fatal(err)
	}
	lock := &sync.Mutex{}
	t.identity = vmIdentity()
	t.boot = bootID()
	t.journal = newLogJournal(journalByteLimit, journalChunkLimit)
	t.control = &port{mu: lock, file: line}
	t.log = &journalSink{journal: t.journal}
	go t.journalSender(t.control, t.journal)
	t.sendHello()
	serveFramesFrom(line, true, t.handle, func(err error) { t.diag("serial line: %v", err) })
}

func openPort(name string) (*os.File, error) {
	dev, err := findPortDevice(name, portWait)
	if err != nil {
		return nil, err
	}
	return openBlocking(dev)
}

// attachConsole points fds 0-2 at /dev/console: the kernel opens it for init only if the initramfs
// has the node, and ours does not need to.
func attachConsole() {
	fd, err := syscall.Open("/dev/console", syscall.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return
	}
	for target := 0; target <= 2; target++ {
		if fd != target {
			syscall.Dup3(fd, target, 0)
		}
	}
	if fd > 2 {
		syscall.Close(fd)
	}
}

// raiseFileLimit gives containers Docker's usual open-file limit instead of the kernel's 1024.
func raiseFileLimit() {
	limit := syscall.Rlimit{Cur: 1048576, Max: 1048576}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit)
}

// fatal reports on the console and powers off: PID 1 exiting would only panic the kernel.
func fatal(err error) {
	fmt.Fprintf(os.Stderr, "tether: fatal: %v\n", err)
	powerOffNow()
}
