package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// setClock sets the guest wall clock from the host's (unix ms); the VM has no reliable RTC time.
func setClock(unixMs int64) error {
	if unixMs <= 0 {
		return nil
	}
	tv := syscall.NsecToTimeval(unixMs * int64(time.Millisecond))
	return syscall.Settimeofday(&tv)
}

func setHostname(hostname, domainname string) error {
	if hostname != "" {
		if err := syscall.Sethostname([]byte(hostname)); err != nil {
			return fmt.Errorf("sethostname: %w", err)
		}
	}
	if domainname != "" {
		if err := syscall.Setdomainname([]byte(domainname)); err != nil {
			return fmt.Errorf("setdomainname: %w", err)
		}
	}
	return nil
}

// ifreqFlags is struct ifreq as used by SIOC[GS]IFFLAGS.
type ifreqFlags struct {
	name  [syscall.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

// bringUp sets IFF_UP on a network interface, e.g. lo.
func bringUp(name string) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var req ifreqFlags
	copy(req.name[:], name)
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %s: %w", name, err)
	}
	req.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if err := ioctl(fd, syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %s: %w", name, err)
	}
	return nil
}

func ioctl(fd int, req uintptr, arg uintptr) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg)
	if errno != 0 {
		return errno
	}
	return nil
}

// resolvConf is the container's /etc/resolv.conf; "" keeps the image's file.
func resolvConf(cfg *containerConfig) string {
	if len(cfg.DNS) == 0 && len(cfg.DNSSearch) == 0 && len(cfg.DNSOptions) == 0 {
		return ""
	}
	var b strings.Builder
	for _, ns := range cfg.DNS {
		b.WriteString("nameserver " + ns + "\n")
	}
	if len(cfg.DNSSearch) > 0 {
		b.WriteString("search " + strings.Join(cfg.DNSSearch, " ") + "\n")
	}
	if len(cfg.DNSOptions) > 0 {
		b.WriteString("options " + strings.Join(cfg.DNSOptions, " ") + "\n")
	}
	return b.String()
}

// writeEtcFiles writes hostname, hosts and (when DNS servers are given) resolv.conf into the
// container's /etc; they land in the writable layer like Docker's bind-mounted copies would.
func writeEtcFiles(root string, cfg *containerConfig) error {
	etc, err := mountPointInRoot(root, "/etc")
	if err != nil {
		return err
	}
	files := map[string]string{}
	if cfg.Hostname != "" {
		files["hostname"] = cfg.Hostname + "\n"
	}
	if len(cfg.Hosts) > 0 {
		files["hosts"] = strings.Join(cfg.Hosts, "\n") + "\n"
	}
	if conf := resolvConf(cfg); conf != "" {
		files["resolv.conf"] = conf
	}
	for name, content := range files {
		p := filepath.Join(etc, name)
		// A symlink here would be followed relative to the guest's root, not the container's.
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			os.Remove(p)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
