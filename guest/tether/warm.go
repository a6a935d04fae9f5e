package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

const warmDir = "/warm"

// warm handles WARM: a VM restored ahead of its container (a standby clone) runs the kernel paths a
// container start takes — tmpfs, overlayfs with a copy-up, proc, sysfs, /dev, devpts, shm, mqueue,
// lo, a NIC configured and deconfigured again, a fork/exec of a process in a new session — on scratch
// mounts in its own RAM, then removes them. Under TCG each VM translates every guest
// code path the first time it runs; done here, the container's start finds them translated. Nothing
// of it is left for the container: the mounts are gone and its root is built afresh from its disks.
// Only while waiting for the CONFIG; the answer is a HELLO either way.
func (t *tether) warm() {
	t.mu.Lock()
	waiting := t.config == nil && t.state == stateWaiting
	t.mu.Unlock()
	if waiting {
		if err := warmUp(); err != nil {
			t.diag("warm-up: %v", err)
		}
		if err := warmNetwork(); err != nil {
			t.diag("warm-up network: %v", err)
		}
		if err := t.warmLaunch(); err != nil {
			t.diag("warm-up launch: %v", err)
		}
		warmCodecs()
	}
	t.sendHello()
}

// warmCodecs decodes a CONFIG-shaped document and encodes a STARTED once: the tether's own JSON code is
// guest code too, translated on its first run.
func warmCodecs() {
	sample := []byte(`{"id":"warm","hostname":"warm","now":1,"seed":"AAAA","layers":["l0"],"rw":"rw","cmd":["true"],` +
		`"env":["PATH=/bin"],"hosts":["127.0.0.1\tlocalhost"],"dns":[],"mounts":[{"serial":"v0","target":"/v"}],` +
		`"networks":[{"mac":"02:42:0a:00:00:02","addresses":["10.0.0.2/24"],"gateway":"10.0.0.1","routes":[{"destination":"0.0.0.0/0"}]}],"hotplugged":true}`)
	var cfg containerConfig
	json.Unmarshal(sample, &cfg)
	mustJSON(startedReply{Pid: 1, Steps: "warm 0"})
}

func warmUp() (err error) {
	var s mountStack
	defer func() {
		for _, uerr := range s.unmountAll() {
			if err == nil {
				err = uerr
			}
		}
		os.RemoveAll(warmDir)
	}()
	if err := s.mount("tmpfs", warmDir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m,mode=700"); err != nil {
		return err
	}
	lower, upper, work, root := warmDir+"/lower", warmDir+"/upper", warmDir+"/work", warmDir+"/root"
	for _, d := range []string{lower + "/etc", upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(lower+"/etc/hosts", []byte("127.0.0.1\tlocalhost\n"), 0o644); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := s.mount("overlay", root, "overlay", 0, opts); err != nil {
		return err
	}
	if err := mountContainerFilesystems(&s, root); err != nil {
		return err
	}
	// A copy-up and a new file in the upper layer, as writeEtcFiles does.
	if err := os.WriteFile(root+"/etc/hosts", []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(root+"/etc/hostname", []byte("warm\n"), 0o644); err != nil {
		return err
	}
	// Every container brings lo up first thing; up already is what it asks for.
	return bringUp("lo")
}

// warmExitCommand is the process warmLaunch starts: the tether itself, exiting at once.
const warmExitCommand = "warm-exit"

// warmNetwork gives the first NIC an address and a default route in TEST-NET-1 (RFC 5737) with the MAC
// it has, as configureInterface does for a container, then deconfigures it as a NIC detach does: down,
// no address, no route. Its tap is on no bridge yet, so nothing it might send reaches anyone.
func warmNetwork() error {
	ifaces, err := waitForInterfaces(1)
	if err != nil {
		return err
	}
	name, mac := ifaces[0].Name, ifaces[0].HardwareAddr.String()
	err = configureInterface(name, guestNetwork{MAC: mac, Addresses: []string{"192.0.2.2/24"}, Gateway: "192.0.2.1"})
	if derr := deconfigureInterface(name, mac); err == nil {
		err = derr
	}
	return err
}

// warmLaunch starts a process the way a container's is started (fork, exec, chroot, a new session,
// credentials, pipes for its output) — the tether itself, which exits at once — and waits for its exit.
func (t *tether) warmLaunch() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return err
	}
	attr := &syscall.ProcAttr{Dir: "/", Env: []string{"PATH=/bin"}, Files: []uintptr{null.Fd(), w.Fd(), w.Fd()},
		Sys: &syscall.SysProcAttr{Chroot: "/", Setsid: true, Credential: &syscall.Credential{Uid: 0, Gid: 0}}}
	pid, exited, err := t.forkHelper("/proc/self/exe", []string{"tether", warmExitCommand}, attr)
	w.Close()
	null.Close()
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r)
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("process %d did not exit", pid)
	}
}
