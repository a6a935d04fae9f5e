package main

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// freeLoopbackPort is a port nothing listens on now.
func freeLoopbackPort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestServePortsTCP(t *testing.T) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }() // echo until the client half-closes
		}
	}()
	hostPort := freeLoopbackPort(t, "tcp")
	proxies, errs := servePorts(net.IPv4(127, 0, 0, 1), []publishedPort{
		{HostPort: hostPort, ContainerPort: backend.Addr().(*net.TCPAddr).Port, Protocol: "tcp"},
		{HostPort: 9, ContainerPort: 9, Protocol: "tcp"}, // same number: nothing to open
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("through the proxy"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "through the proxy" {
		t.Fatalf("echo %q, %v", got, err)
	}
	c.Close()
	proxies.close()
	if c, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort))); err == nil {
		c.Close()
		t.Fatal("still listening after close")
	}
}

func TestServePortsUDP(t *testing.T) {
	backend, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := backend.ReadFromUDP(buf)
			if err != nil {
				return
			}
			backend.WriteToUDP(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	hostPort := freeLoopbackPort(t, "udp")
	proxies, errs := servePorts(net.IPv4(127, 0, 0, 1), []publishedPort{{HostPort: hostPort, ContainerPort: backend.LocalAddr().(*net.UDPAddr).Port, Protocol: "udp"}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	defer proxies.close()
	c, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "re:ping" {
		t.Fatalf("reply %q, %v", buf[:n], err)
	}
}

func TestHasDefaultRoute(t *testing.T) {
	if hasDefaultRoute([]guestNetwork{{Gateway: ""}, {Routes: []guestRoute{{Destination: "10.0.0.0/8", Gateway: "10.0.0.1"}}}}) {
		t.Fatal("no gateway, no 0.0.0.0/0 route: none")
	}
	if !hasDefaultRoute([]guestNetwork{{}, {Gateway: "10.1.0.1"}}) || !hasDefaultRoute([]guestNetwork{{Routes: []guestRoute{{Destination: "0.0.0.0/0", Gateway: "10.1.0.1"}}}}) {
		t.Fatal("a gateway or a 0.0.0.0/0 route is one")
	}
}
