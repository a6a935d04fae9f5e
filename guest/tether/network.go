package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// guestNetwork is one entry of CONFIG's `networks` (docs/tether-protocol.md).
type guestNetwork struct {
	MAC       string       `json:"mac"`
	Addresses []string     `json:"addresses"`
	Gateway   string       `json:"gateway"`
	Routes    []guestRoute `json:"routes"`
	// The NIC's address as the VM was built (a clone's template MAC), when the host knows it: the
	// interface to take when none has MAC yet.
	SlotMAC string `json:"slotMac"`
}

type guestRoute struct {
	Destination string `json:"destination"`
	Gateway     string `json:"gateway"`
}

// A cold-booted VM's NICs appear while the virtio_net module probes; a clone's exist already.
const nicWait = 5 * time.Second

// configureNetworks gives each configured network an interface: the one that already has its MAC
// (a cold boot, where QEMU set it), else the next unconfigured interface in name order (a clone:
// its NIC still has the template's MAC, so the MAC is set first — before the interface is up, as
// the address other VMs learn must be this container's).
func configureNetworks(nets []guestNetwork) error {
	if len(nets) == 0 {
		return nil
	}
	ifaces, err := waitForInterfaces(len(nets))
	if err != nil {
		return err
	}
	assigned := make([]string, len(nets))
	used := map[string]bool{}
	for i, n := range nets {
		for _, ifc := range ifaces {
			if !used[ifc.Name] && strings.EqualFold(ifc.HardwareAddr.String(), n.MAC) {
				assigned[i], used[ifc.Name] = ifc.Name, true
				break
			}
		}
	}
	for i, n := range nets {
		if assigned[i] != "" || n.SlotMAC == "" {
			continue
		}
		for _, ifc := range ifaces {
			if !used[ifc.Name] && strings.EqualFold(ifc.HardwareAddr.String(), n.SlotMAC) {
				assigned[i], used[ifc.Name] = ifc.Name, true
				break
			}
		}
	}
	for i := range nets {
		if assigned[i] != "" {
			continue
		}
		for _, ifc := range ifaces {
			if !used[ifc.Name] {
				assigned[i], used[ifc.Name] = ifc.Name, true
				break
			}
		}
	}
	for i, n := range nets {
		if err := configureInterface(assigned[i], n); err != nil {
			return fmt.Errorf("network interface %s: %w", assigned[i], err)
		}
	}
	return nil
}

// waitForInterfaces returns the non-loopback interfaces, name order, once there are at least n.
func waitForInterfaces(n int) ([]net.Interface, error) {
	deadline := time.Now().Add(nicWait)
	for {
		all, err := net.Interfaces()
		if err != nil {
			return nil, err
		}
		var found []net.Interface
		for _, ifc := range all {
			if ifc.Flags&net.FlagLoopback == 0 && len(ifc.HardwareAddr) == 6 {
				found = append(found, ifc)
			}
		}
		if len(found) >= n {
			sort.Slice(found, func(a, b int) bool { return found[a].Name < found[b].Name })
			return found, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d network interface(s) expected, %d found", n, len(found))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sockaddrIn4 is struct sockaddr_in (16 bytes), also usable where a struct sockaddr goes.
type sockaddrIn4 struct {
	family uint16
	port   [2]byte
	addr   [4]byte
	zero   [8]byte
}

func inet4(ip net.IP) sockaddrIn4 {
	sa := sockaddrIn4{family: syscall.AF_INET}
	copy(sa.addr[:], ip.To4())
	return sa
}

// ifreqAddr is struct ifreq with an address (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFHWADDR).
type ifreqAddr struct {
	name [syscall.IFNAMSIZ]byte
	addr sockaddrIn4
	_    [8]byte
}

// rtentry is struct rtentry on x86_64 (SIOCADDRT); Go pads it as C does.
type rtentry struct {
	pad1    uint64
	dst     sockaddrIn4
	gateway sockaddrIn4
	genmask sockaddrIn4
	flags   uint16
	pad2    int16
	pad3    uint64
	pad4    uintptr
	metric  int16
	dev     uintptr
	mtu     uint64
	window  uint64
	irtt    uint16
}

func configureInterface(name string, n guestNetwork) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	if n.MAC != "" {
		mac, err := net.ParseMAC(n.MAC)
		if err != nil || len(mac) != 6 {
			return fmt.Errorf("invalid MAC %q", n.MAC)
		}
		var req ifreqAddr
		copy(req.name[:], name)
		req.addr.family = syscall.ARPHRD_ETHER
		raw := (*[14]byte)(unsafe.Pointer(&req.addr.port))
		copy(raw[:], mac)
		if err := ioctl(fd, syscall.SIOCSIFHWADDR, uintptr(unsafe.Pointer(&req))); err != nil {
			return fmt.Errorf("SIOCSIFHWADDR: %w", err)
		}
	}
	if err := bringUp(name); err != nil {
		return err
	}
	for _, cidr := range n.Addresses {
		ip, ipnet, err := net.ParseCIDR(cidr)
		if err != nil || ip.To4() == nil {
			return fmt.Errorf("invalid IPv4 address %q", cidr)
		}
		var req ifreqAddr
		copy(req.name[:], name)
		req.addr = inet4(ip)
		if err := ioctl(fd, syscall.SIOCSIFADDR, uintptr(unsafe.Pointer(&req))); err != nil {
			return fmt.Errorf("SIOCSIFADDR %s: %w", cidr, err)
		}
		req.addr = inet4(net.IP(ipnet.Mask))
		if err := ioctl(fd, syscall.SIOCSIFNETMASK, uintptr(unsafe.Pointer(&req))); err != nil {
			return fmt.Errorf("SIOCSIFNETMASK %s: %w", cidr, err)
		}
	}
	routes := n.Routes
	if n.Gateway != "" {
		routes = append([]guestRoute{{Destination: "0.0.0.0/0", Gateway: n.Gateway}}, routes...)
	}
	for _, r := range routes {
		if err := addRoute(fd, name, r); err != nil {
			return err
		}
	}
	return nil
}

func addRoute(fd int, dev string, r guestRoute) error {
	_, dst, err := net.ParseCIDR(r.Destination)
	gw := net.ParseIP(r.Gateway)
	if err != nil || dst.IP.To4() == nil || gw.To4() == nil {
		return fmt.Errorf("invalid route %s via %s", r.Destination, r.Gateway)
	}
	devName := append([]byte(dev), 0)
	rt := rtentry{
		dst:     inet4(dst.IP),
		gateway: inet4(gw),
		genmask: inet4(net.IP(dst.Mask)),
		flags:   syscall.RTF_UP | syscall.RTF_GATEWAY,
		dev:     uintptr(unsafe.Pointer(&devName[0])),
	}
	err = ioctl(fd, syscall.SIOCADDRT, uintptr(unsafe.Pointer(&rt)))
	runtime.KeepAlive(devName) // rt.dev is a uintptr: the GC does not see it
	if err != nil && err != syscall.EEXIST {
		return fmt.Errorf("route %s via %s: %w", r.Destination, r.Gateway, err)
	}
	return nil
}

// replaceHosts rewrites the container's /etc/hosts (HOSTS frame): a temp file renamed over it, so a
// resolver reading it meanwhile sees the old or the new list, never half of one.
func replaceHosts(root string, lines []string) error {
	etc, err := mountPointInRoot(root, "/etc")
	if err != nil {
		return err
	}
	tmp := filepath.Join(etc, ".hosts.tether")
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(etc, "hosts"))
}

// hasDefaultRoute: some configured network routes 0.0.0.0/0 (a gateway, or such a route).
func hasDefaultRoute(nets []guestNetwork) bool {
	for _, n := range nets {
		if n.Gateway != "" {
			return true
		}
		for _, r := range n.Routes {
			if r.Destination == "0.0.0.0/0" {
				return true
			}
		}
	}
	return false
}
