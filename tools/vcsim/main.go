// vcsim: the govmomi vCenter simulator with the inventory Bonneville's vSphere tests need.
// Debian packages govmomi's library but not its vcsim command, so this is a small main over
// simulator.VPX(). It listens on 127.0.0.1 with TLS, prints one JSON line (url, thumbprints,
// credentials) on stdout once it serves, and runs until stdin closes or it gets SIGTERM/SIGINT.
package main

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func thumbprint(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on")
	hosts := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	datastores := flag.Int("ds", 2, "datastores")
	portgroups := flag.Int("pg", 2, "distributed port groups per datacenter")
	machines := flag.Int("vm", 1, "VMs per resource pool")
	username := flag.String("username", "user", "the one account's user name")
	password := flag.String("password", "pass", "the one account's password (others are refused)")
	exitOnStdinEOF := flag.Bool("stdin-eof-exit", true, "exit when stdin closes (the parent went away)")
	flag.Parse()

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = *clusters
	model.ClusterHost = *hosts
	model.Host = *standalone
	model.Datastore = *datastores
	model.Portgroup = *portgroups
	model.Machine = *machines
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: model: %v", err)
	}
	// With explicit credentials vcsim refuses other logins (by default it takes any non-empty pair).
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	model.Service.TLS = new(tls.Config)
	server := model.Service.NewServer()

	raw := server.Certificate().Raw
	s1 := sha1.Sum(raw)
	s256 := sha256.Sum256(raw)
	u := *server.URL
	user := u.User.Username()
	pass, _ := u.User.Password()
	u.User = nil
	info := map[string]string{
		"url":              u.String(),
		"thumbprintSha1":   thumbprint(s1[:]),
		"thumbprintSha256": thumbprint(s256[:]),
		"username":         user,
		"password":         pass,
	}
	line, _ := json.Marshal(info)
	fmt.Println(string(line))

	done := make(chan struct{}, 1)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-signals; done <- struct{}{} }()
	if *exitOnStdinEOF {
		go func() { io.Copy(io.Discard, os.Stdin); done <- struct{}{} }()
	}
	<-done
	server.Close()
	model.Remove()
}
