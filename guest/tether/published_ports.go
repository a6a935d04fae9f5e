package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Published ports on the public address: hostPort there reaches containerPort. The VM is the
// container (one network namespace), so a port published on its own number needs nothing — the
// process's listener answers on every address. Another number gets a small user-space proxy in the
// tether, listening on the public address only and forwarding to the container's port on loopback
// (as dockerd's userland proxy; the process sees connections from 127.0.0.1).

const udpIdle = 60 * time.Second

// portProxies are the listeners serving one public address.
// Connections in flight are held too: a lease that goes ends them.
type portProxies struct {
	mu      sync.Mutex
	closers map[io.Closer]bool
	closed  bool
}

// add holds c until close (or its own end: drop); added after close, it is closed at once.
func (p *portProxies) add(c io.Closer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	if p.closers == nil {
		p.closers = map[io.Closer]bool{}
	}
	p.closers[c] = true
}

func (p *portProxies) drop(c io.Closer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.closers, c)
	c.Close()
}

func (p *portProxies) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for c := range p.closers {
		c.Close()
	}
	p.closers = nil
}

// servePorts opens a proxy for each port published on another number; a port that cannot be served
// is reported and skipped (the others still are).
func servePorts(ip net.IP, ports []publishedPort) (*portProxies, []error) {
	proxies := &portProxies{}
	var errs []error
	for _, port := range ports {
		if port.HostPort == port.ContainerPort {
			continue
		}
		listen := net.JoinHostPort(ip.String(), strconv.Itoa(port.HostPort))
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port.ContainerPort))
		var err error
		if port.Protocol == "udp" {
			err = proxyUDP(proxies, listen, target)
		} else {
			err = proxyTCP(proxies, listen, target)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d/%s: %w", port.HostPort, port.Protocol, err))
		}
	}
	return proxies, errs
}

func proxyTCP(proxies *portProxies, listen, target string) error {
	l, err := net.Listen("tcp4", listen)
	if err != nil {
		return err
	}
	proxies.add(l)
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				upstream, err := net.DialTimeout("tcp4", target, 10*time.Second)
				if err != nil {
					client.Close() // nothing listens in the container (yet)
					return
				}
				proxies.add(client)
				proxies.add(upstream)
				done := make(chan struct{})
				go func() { pipe(upstream, client); close(done) }()
				pipe(client, upstream)
				<-done
				proxies.drop(client)
				proxies.drop(upstream)
			}()
		}
	}()
	return nil
}

// pipe copies one direction and passes its end on as a half-close.
func pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		dst.Close()
	}
	if tc, ok := src.(*net.TCPConn); ok {
		tc.CloseRead()
	}
}

// proxyUDP relays datagrams: one upstream socket per client address (so replies find their way
// back), dropped after udpIdle without traffic.
func proxyUDP(proxies *portProxies, listen, target string) error {
	laddr, err := net.ResolveUDPAddr("udp4", listen)
	if err != nil {
		return err
	}
	taddr, err := net.ResolveUDPAddr("udp4", target)
	if err != nil {
		return err
	}
	l, err := net.ListenUDP("udp4", laddr)
	if err != nil {
		return err
	}
	proxies.add(l)
	var mu sync.Mutex
	flows := map[string]*net.UDPConn{}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, client, err := l.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			up := flows[client.String()]
			if up == nil {
				if up, err = net.DialUDP("udp4", nil, taddr); err != nil {
					mu.Unlock()
					continue
				}
				flows[client.String()] = up
				proxies.add(up)
				go func(up *net.UDPConn, client *net.UDPAddr) {
					reply := make([]byte, 65535)
					for {
						up.SetReadDeadline(time.Now().Add(udpIdle))
						n, err := up.Read(reply)
						if err != nil {
							break
						}
						l.WriteToUDP(reply[:n], client)
					}
					mu.Lock()
					delete(flows, client.String())
					mu.Unlock()
					proxies.drop(up)
				}(up, client)
			}
			mu.Unlock()
			up.Write(buf[:n])
		}
	}()
	return nil
}
