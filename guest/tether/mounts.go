package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	containerRoot = "/mnt/root"
	layersDir     = "/mnt/layers"
	rwDir         = "/mnt/rw"
	emptyLowerDir = "/mnt/empty"
	volumesDir    = "/mnt/volumes"
	sharesDir     = "/mnt/shares"
	volumeDataDir = "data"
	// How long a hot-plugged disk may take to appear and mount. A host running 200 TCG VMs at a load
	// of 100 took over 5 s; the host's own start deadline (scaled by its load) still bounds a start.
	diskWait = 30 * time.Second
)

// mountStack remembers what the tether mounted so that shutdown can unmount it in reverse order.
type mountStack struct {
	targets []string
}

func (s *mountStack) mount(source, target, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	deadline := time.Now().Add(diskWait)
	for {
		err := syscall.Mount(source, target, fstype, flags, data)
		if err == nil {
			break
		}
		// A disk hot-plugged a moment ago can have its node and serial before the kernel has finished
		// bringing it up (ENXIO/ENODEV on open); under load that window is long enough to hit.
		notReady := err == syscall.ENXIO || err == syscall.ENODEV
		if !notReady || !strings.HasPrefix(source, "/dev/") || time.Now().After(deadline) {
			return fmt.Errorf("mount %s on %s (%s): %w", source, target, fstype, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.targets = append(s.targets, target)
	return nil
}

// bind mounts source at target too; read-only takes a remount (MS_RDONLY is ignored on the bind itself).
func (s *mountStack) bind(source, target string, readOnly bool) error {
	if err := s.mount(source, target, "", syscall.MS_BIND, ""); err != nil {
		return err
	}
	if !readOnly {
		return nil
	}
	if err := syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY|syscall.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", target, err)
	}
	return nil
}

// unmountAll undoes every mount, newest first. A busy mount is detached instead so that the
// filesystems below it can still be unmounted cleanly; failures are only reported.
func (s *mountStack) unmountAll() []error {
	var errs []error
	for i := len(s.targets) - 1; i >= 0; i-- {
		if err := syscall.Unmount(s.targets[i], 0); err != nil {
			if derr := syscall.Unmount(s.targets[i], syscall.MNT_DETACH); derr != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", s.targets[i], err))
			}
		}
	}
	s.targets = nil
	return errs
}

// mountEarly gives the tether itself /proc, /sys and /dev.
func mountEarly() error {
	for _, m := range []struct{ src, target, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
	} {
		os.MkdirAll(m.target, 0o755)
		if err := syscall.Mount(m.src, m.target, m.fstype, syscall.MS_NOSUID, ""); err != nil && err != syscall.EBUSY {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
	}
	return nil
}

// assembleRoot mounts the layer disks and the writable disk and stacks them into an overlayfs root.
func assembleRoot(s *mountStack, layers []string, rw string, steps *stepTimer) error {
	disks, err := findDisks(append(append([]string{}, layers...), rw), diskWait)
	if err != nil {
		return err
	}
	steps.mark("disks")
	lowers := make([]string, len(layers))
	for i, serial := range layers {
		target := filepath.Join(layersDir, strconv.Itoa(i))
		if err := s.mount(disks[serial], target, "ext4", syscall.MS_RDONLY|syscall.MS_NODEV, ""); err != nil {
			return err
		}
		// overlayfs lists the topmost layer first; the config lists the bottom one first.
		lowers[len(layers)-1-i] = target
	}
	if len(lowers) == 0 {
		// An image without layers still needs one lower directory.
		if err := os.MkdirAll(emptyLowerDir, 0o755); err != nil {
			return err
		}
		lowers = []string{emptyLowerDir}
	}
	steps.mark("layers")
	// noinit_itable: no ext4lazyinit thread zeroing inode tables in the background — the disk is a
	// fresh sparse file (mke2fs lazy_itable_init), whose never-written tables read as zeros anyway,
	// and under TCG that thread costs the container CPU and the host memory (the pages it writes).
	if err := s.mount(disks[rw], rwDir, "ext4", syscall.MS_NODEV, "noinit_itable"); err != nil {
		return err
	}
	upper, work := filepath.Join(rwDir, "upper"), filepath.Join(rwDir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	steps.mark("rw")
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"), upper, work)
	err = s.mount("overlay", containerRoot, "overlay", 0, opts)
	steps.mark("overlay")
	return err
}

// mountContainerFilesystems gives the container the pseudo filesystems Docker gives it.
func mountContainerFilesystems(s *mountStack, root string) error {
	const nosuidNodevNoexec = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC
	steps := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{
		{"proc", "/proc", "proc", nosuidNodevNoexec, ""},
		{"sysfs", "/sys", "sysfs", nosuidNodevNoexec | syscall.MS_RDONLY, ""},
		{"tmpfs", "/dev", "tmpfs", syscall.MS_NOSUID | syscall.MS_STRICTATIME, "mode=755,size=65536k"},
	}
	for _, m := range steps {
		target, err := mountPointInRoot(root, m.target)
		if err != nil {
			return err
		}
		if err := s.mount(m.src, target, m.fstype, m.flags, m.data); err != nil {
			return err
		}
	}
	if err := populateDev(root + "/dev"); err != nil {
		return err
	}
	if err := s.mount("devpts", root+"/dev/pts", "devpts", syscall.MS_NOSUID|syscall.MS_NOEXEC,
		"newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return err
	}
	if err := s.mount("shm", root+"/dev/shm", "tmpfs", nosuidNodevNoexec, "mode=1777,size=65536k"); err != nil {
		return err
	}
	// POSIX message queues are a nicety; a kernel without them must not stop the container.
	s.mount("mqueue", root+"/dev/mqueue", "mqueue", nosuidNodevNoexec, "")
	return nil
}

// mountVolumes mounts each volume disk (and each virtio-fs share) once under volumesDir (sharesDir),
// then its data/ directory (a share's root) at every target that uses it (several targets may share
// one disk: the host attaches a volume once per VM). The disk is read-only when every target is; a
// read-only target of a writable disk is a read-only bind.
func mountVolumes(s *mountStack, root string, volumes []volumeMount) error {
	if len(volumes) == 0 {
		return nil
	}
	var disksOnly []volumeMount
	for _, v := range volumes {
		if v.Tag == "" {
			disksOnly = append(disksOnly, v)
		}
	}
	serials, writable := volumeSerials(disksOnly)
	disks, err := findDisks(serials, diskWait)
	if err != nil {
		return err
	}
	data := map[string]string{}
	for i, serial := range serials {
		dir := filepath.Join(volumesDir, strconv.Itoa(i))
		if data[serial], err = mountVolumeDisk(s, disks[serial], dir, !writable[serial]); err != nil {
			return err
		}
	}
	if err := mountShares(s, volumes, data); err != nil {
		return err
	}
	// Parents first: mounting /a after /a/b would hide /a/b.
	ordered := append([]volumeMount(nil), volumes...)
	sort.SliceStable(ordered, func(i, j int) bool { return pathDepth(ordered[i].Target) < pathDepth(ordered[j].Target) })
	for _, v := range ordered {
		target, err := mountPointInRoot(root, v.Target)
		if err != nil {
			return err
		}
		if v.Tag != "" {
			if err := s.bind(data[shareKey(v.Tag)], target, v.ReadOnly); err != nil {
				return err
			}
			continue
		}
		// Only through a writable disk: then no other VM has it (the host refuses that).
		if v.CopyUp && writable[v.Serial] {
			if err := copyUp(target, data[v.Serial]); err != nil {
				return fmt.Errorf("copying %s into its volume: %w", v.Target, err)
			}
		}
		if err := s.bind(data[v.Serial], target, v.ReadOnly); err != nil {
			return err
		}
	}
	return nil
}

// mountShares mounts each virtio-fs tag once under sharesDir (read-only when every target is), loading
// the virtio-fs driver first: it is not loaded at boot, most containers have no host directories.
func mountShares(s *mountStack, volumes []volumeMount, data map[string]string) error {
	var tags []string
	writable := map[string]bool{}
	for _, v := range volumes {
		if v.Tag == "" {
			continue
		}
		if _, seen := writable[v.Tag]; !seen {
			tags = append(tags, v.Tag)
		}
		writable[v.Tag] = writable[v.Tag] || !v.ReadOnly
	}
	if len(tags) == 0 {
		return nil
	}
	for _, m := range []string{"fuse", "virtiofs"} {
		if err := loadModule(filepath.Join(modulesDir, m+".ko")); err != nil {
			return fmt.Errorf("load %s: %w", m, err)
		}
	}
	for i, tag := range tags {
		dir := filepath.Join(sharesDir, strconv.Itoa(i))
		var flags uintptr = syscall.MS_NODEV
		if !writable[tag] {
			flags |= syscall.MS_RDONLY
		}
		if err := s.mount(tag, dir, "virtiofs", flags, ""); err != nil {
			return err
		}
		data[shareKey(tag)] = dir
	}
	return nil
}

// shareKey keeps a share's tag apart from disk serials in one map.
func shareKey(tag string) string { return "virtiofs:" + tag }

// volumeSerials lists each disk once, in order, and whether any target mounts it read-write.
func volumeSerials(volumes []volumeMount) ([]string, map[string]bool) {
	var serials []string
	writable := map[string]bool{}
	for _, v := range volumes {
		if _, seen := writable[v.Serial]; !seen {
			serials = append(serials, v.Serial)
		}
		writable[v.Serial] = writable[v.Serial] || !v.ReadOnly
	}
	return serials, writable
}

// mountVolumeDisk mounts a volume's ext4 disk at dir and returns the directory the container gets:
// data/ (the host makes it when it formats the disk, so lost+found stays out of sight).
func mountVolumeDisk(s *mountStack, dev, dir string, readOnly bool) (string, error) {
	var flags uintptr = syscall.MS_NODEV
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	err := s.mount(dev, dir, "ext4", flags, "")
	if err != nil && readOnly {
		// A disk left unclean (its last VM was killed) needs a journal replay, which a read-only
		// device cannot take: read it as it is.
		err = s.mount(dev, dir, "ext4", flags, "noload")
	}
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, volumeDataDir)
	if _, err := os.Stat(data); err == nil {
		return data, nil
	}
	if readOnly {
		return dir, nil // a disk not made by the host: show its root
	}
	return data, os.Mkdir(data, 0o755)
}

func pathDepth(p string) int {
	return len(strings.Split(strings.Trim(filepath.Clean(p), "/"), "/"))
}

// mountPointInRoot resolves a container path to a directory inside root, creating it if missing.
func mountPointInRoot(root, p string) (string, error) {
	target, err := resolveInRoot(root, p)
	if err != nil {
		return "", err
	}
	return target, os.MkdirAll(target, 0o755)
}
