package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// The public network (vSphere's --public-network, VIC's model): a container that publishes ports has
// one more NIC, on a port group whose own DHCP server gives addresses. busybox's udhcpc (in the
// bootstrap ISO's initramfs) runs in the foreground for the container's life, so the lease is renewed;
// its event script is this binary under another name (dhcpEventName), which only hands each event to
// PID 1 over a unix socket outside the container's root and waits for the answer. PID 1 applies the
// address, serves the published ports on it (published_ports.go) and tells the host (LEASE).
const (
	udhcpc        = "/bin/busybox"
	dhcpEventName = "bonneville-dhcp-event"
	dhcpEventLink = "/bin/" + dhcpEventName
	dhcpSocket    = "/run/bonneville-dhcp.sock"
	// How long a start waits for the first lease; past it the process starts anyway, and the ports are
	// served once a lease comes (the host learns it from LEASE).
	firstLeaseWait = 30 * time.Second
)

// publicConfig is CONFIG's `public`: the NIC on the public network and the ports served there.
type publicConfig struct {
	MAC   string          `json:"mac"`
	Ports []publishedPort `json:"ports"`
}

type publishedPort struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// dhcpEvent is what the event script relays: udhcpc's event name and the variables it sets.
type dhcpEvent struct {
	Event     string `json:"event"`
	Interface string `json:"interface"`
	IP        string `json:"ip"`
	Subnet    string `json:"subnet"`
	Router    string `json:"router"`
}

// leaseReply is the LEASE frame: the public address with its prefix, "" while there is none.
type leaseReply struct {
	Address string `json:"address"`
}

// publicNetwork is the public NIC's state in PID 1.
type publicNetwork struct {
	t     *tether
	iface string
	ports []publishedPort
	// defaultRoute: the DHCP router becomes the default route (no CONFIG network gave one).
	defaultRoute bool

	mu      sync.Mutex
	address string // "10.1.2.3/24", "" without a lease
	proxies *portProxies
	leased  chan struct{} // closed at the first lease
	once    sync.Once
}

// startPublicNetwork brings the public NIC up, starts udhcpc on it and waits (bounded) for the first
// lease. Nothing of this makes the start fail but a missing NIC or udhcpc: a slow DHCP server only
// delays the ports.
func (t *tether) startPublicNetwork(cfg *publicConfig, hasDefaultRoute bool) error {
	name, err := interfaceWithMAC(cfg.MAC, nicWait)
	if err != nil {
		return fmt.Errorf("public network: %w", err)
	}
	if err := bringUp(name); err != nil {
		return fmt.Errorf("public network interface %s: %w", name, err)
	}
	p := &publicNetwork{t: t, iface: name, ports: cfg.Ports, defaultRoute: !hasDefaultRoute, leased: make(chan struct{})}
	if err := p.listen(); err != nil {
		return fmt.Errorf("public network: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	os.Remove(dhcpEventLink)
	if err := os.Symlink(self, dhcpEventLink); err != nil {
		return fmt.Errorf("public network: %w", err)
	}
	t.mu.Lock()
	t.public = p
	t.mu.Unlock()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	// -f: stay in the foreground (renewals); -x: the hostname for the DHCP server's records. Retries
	// for ever (-t/-T/-A: 3 discovers 2 s apart, then a 10 s pause). No -R: the lease outlives the VM,
	// so the container's next start (same MAC) gets the same address.
	argv := []string{"udhcpc", "-f", "-i", name, "-s", dhcpEventLink, "-t", "3", "-T", "2", "-A", "10", "-x", "hostname:" + t.config.Hostname}
	attr := &syscall.ProcAttr{Env: []string{"PATH=/bin"}, Files: []uintptr{null.Fd(), os.Stderr.Fd(), os.Stderr.Fd()}}
	_, exited, err := t.forkHelper(udhcpc, argv, attr)
	if err != nil {
		return fmt.Errorf("public network: start udhcpc: %w", err)
	}
	go func() {
		ws := <-exited
		t.mu.Lock()
		ending := t.state == stateExited // killed with everything else at the container's end
		t.mu.Unlock()
		if !ending {
			t.diag("public network: udhcpc ended (%v): the lease is no longer renewed", ws)
		}
	}()
	select {
	case <-p.leased:
	case <-time.After(firstLeaseWait):
		t.diag("public network: no DHCP lease on %s within %s; published ports are served once one comes", name, firstLeaseWait)
	}
	return nil
}

// listen serves the event script's connections: one JSON event each, answered "ok" or an error line.
func (p *publicNetwork) listen() error {
	os.MkdirAll(filepath.Dir(dhcpSocket), 0o700)
	os.Remove(dhcpSocket)
	l, err := net.Listen("unix", dhcpSocket)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serveEvent(c)
		}
	}()
	return nil
}

func (p *publicNetwork) serveEvent(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return
	}
	var ev dhcpEvent
	if err = json.Unmarshal(line, &ev); err == nil {
		err = p.apply(ev)
	}
	if err != nil {
		p.t.diag("public network: DHCP %s: %v", ev.Event, err)
		fmt.Fprintf(c, "error: %v\n", err)
		return
	}
	fmt.Fprintln(c, "ok")
}

// apply carries out one udhcpc event: deconfig (and leasefail, nak) leave the NIC up without an
// address; bound and renew set the leased one, replacing another.
func (p *publicNetwork) apply(ev dhcpEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Event {
	case "deconfig", "leasefail", "nak":
		if ev.Event != "deconfig" || p.address == "" {
			return nil
		}
		if err := setInterfaceAddress(p.iface, net.IPv4zero, nil); err != nil {
			return err
		}
		p.changed("")
		return nil
	case "bound", "renew":
		ip, mask := net.ParseIP(ev.IP).To4(), net.ParseIP(ev.Subnet).To4()
		if ip == nil || mask == nil {
			return fmt.Errorf("lease without an IPv4 address and mask (ip=%q subnet=%q)", ev.IP, ev.Subnet)
		}
		ones, _ := net.IPMask(mask).Size()
		address := fmt.Sprintf("%s/%d", ip, ones)
		if address == p.address {
			return nil // a renewal of the same lease
		}
		if err := setInterfaceAddress(p.iface, ip, net.IPMask(mask)); err != nil {
			return err
		}
		if router := firstField(ev.Router); p.defaultRoute && router != "" {
			if err := withInetSocket(func(fd int) error {
				return addRoute(fd, p.iface, guestRoute{Destination: "0.0.0.0/0", Gateway: router})
			}); err != nil {
				p.t.diag("public network: %v", err)
			}
		}
		p.changed(address)
		return nil
	}
	return nil
}

// changed serves the ports on the new address (none: closed) and tells the host. Under p.mu.
func (p *publicNetwork) changed(address string) {
	p.address = address
	if p.proxies != nil {
		p.proxies.close()
		p.proxies = nil
	}
	if address != "" {
		ip, _, _ := net.ParseCIDR(address)
		proxies, errs := servePorts(ip, p.ports)
		for _, err := range errs {
			p.t.diag("public network: %v", err)
		}
		p.proxies = proxies
		p.once.Do(func() { close(p.leased) })
	}
	p.t.sendControl(typeLease, 0, leaseReply{Address: address})
}

// currentAddress is the public address now, for HELLO ("" without one).
func (p *publicNetwork) currentAddress() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.address
}

func firstField(s string) string {
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

func withInetSocket(do func(fd int) error) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return do(fd)
}

// setInterfaceAddress replaces the interface's IPv4 address (0.0.0.0: removes it, with the routes
// through it) and sets its netmask.
func setInterfaceAddress(name string, ip net.IP, mask net.IPMask) error {
	return withInetSocket(func(fd int) error {
		var req ifreqAddr
		copy(req.name[:], name)
		req.addr = inet4(ip)
		if err := ioctl(fd, syscall.SIOCSIFADDR, uintptr(unsafe.Pointer(&req))); err != nil && !(ip.Equal(net.IPv4zero) && err == syscall.EADDRNOTAVAIL) {
			return fmt.Errorf("SIOCSIFADDR %s %s: %w", name, ip, err)
		}
		if mask == nil {
			return nil
		}
		req.addr = inet4(net.IP(mask))
		if err := ioctl(fd, syscall.SIOCSIFNETMASK, uintptr(unsafe.Pointer(&req))); err != nil {
			return fmt.Errorf("SIOCSIFNETMASK %s: %w", name, err)
		}
		return nil
	})
}

// runDhcpEvent is the tether run by udhcpc as its script: it relays the event to PID 1 and exits 0
// once PID 1 has applied it (udhcpc runs the events one after another, so they apply in order).
func runDhcpEvent(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, dhcpEventName+": no event")
		return 1
	}
	ev := dhcpEvent{Event: args[0], Interface: os.Getenv("interface"), IP: os.Getenv("ip"), Subnet: os.Getenv("subnet"), Router: os.Getenv("router")}
	c, err := net.DialTimeout("unix", dhcpSocket, 5*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", dhcpEventName, err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	body, _ := json.Marshal(ev)
	if _, err := c.Write(append(body, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", dhcpEventName, err)
		return 1
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || answer != "ok\n" {
		fmt.Fprintf(os.Stderr, "%s: %s %v\n", dhcpEventName, answer, err)
		return 1
	}
	return 0
}
