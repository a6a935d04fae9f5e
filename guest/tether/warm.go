package main

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
)

const warmDir = "/warm"

// warm handles WARM: a VM restored ahead of its container (a standby clone) runs the kernel paths a
// container start takes — tmpfs, overlayfs with a copy-up, proc, sysfs, /dev, devpts, shm, mqueue,
// lo — on scratch mounts in its own RAM, then removes them. Under TCG each VM translates every guest
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
