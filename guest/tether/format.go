package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// On vSphere the writable and volume disks come as empty thin VMDKs (no host formats them): the
// tether makes an ext2 filesystem — mounted by the ext4 driver like every other disk — on a disk
// that has none, with busybox's mke2fs (Go's standard library has no mkfs), which only the bootstrap
// ISO's initramfs holds (guest/build-iso.sh).
const (
	mke2fs        = "/bin/busybox"
	formatScratch = "/mnt/format"
	// ext2/3/4 superblock: at byte 1024; its magic 0xEF53 (little-endian) at offset 56 in it.
	superblockMagicAt = 1024 + 56
)

// formatBlankDisks formats the writable disk and the volume disks that have no filesystem yet; a
// volume also gets its empty data/ directory (docs/tether-protocol.md, Volumes).
func (t *tether) formatBlankDisks(rw string, volumes []string) error {
	disks, err := findDisks(append([]string{rw}, volumes...), diskWait)
	if err != nil {
		return err
	}
	if _, err := t.formatIfBlank(disks[rw]); err != nil {
		return err
	}
	for _, v := range volumes {
		made, err := t.formatIfBlank(disks[v])
		if err != nil {
			return err
		}
		if made {
			if err := makeVolumeData(disks[v]); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasExtFilesystem reads the superblock's magic.
func hasExtFilesystem(dev string) (bool, error) {
	f, err := os.Open(dev)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 2)
	if _, err := f.ReadAt(magic, superblockMagicAt); err != nil {
		return false, fmt.Errorf("read the superblock of %s: %w", dev, err)
	}
	return magic[0] == 0x53 && magic[1] == 0xEF, nil
}

func (t *tether) formatIfBlank(dev string) (bool, error) {
	has, err := hasExtFilesystem(dev)
	if err != nil || has {
		return false, err
	}
	if out, err := t.runTool([]string{"mke2fs", "-F", "-m", "0", "-b", "4096", "-i", "65536", dev}); err != nil {
		return false, fmt.Errorf("make a filesystem on %s: %v: %s", dev, err, out)
	}
	return true, nil
}

// runTool runs a busybox applet to its end and returns its output. The reaper is the only caller of
// wait4 (reaper.go), so the child is registered with it like a file helper, under procMu from fork on.
func (t *tether) runTool(argv []string) ([]byte, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	attr := &syscall.ProcAttr{Env: []string{"PATH=/bin"}, Files: []uintptr{null.Fd(), w.Fd(), w.Fd()}}
	_, exited, err := t.forkHelper(mke2fs, argv, attr)
	w.Close()
	null.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	out, _ := io.ReadAll(r)
	r.Close()
	ws := <-exited
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return out, fmt.Errorf("%s: %v", argv[0], ws)
	}
	return out, nil
}

// makeVolumeData creates data/ at the root of a freshly formatted volume disk.
func makeVolumeData(dev string) error {
	if err := os.MkdirAll(formatScratch, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount(dev, formatScratch, "ext4", syscall.MS_NODEV|syscall.MS_NOSUID, ""); err != nil {
		return fmt.Errorf("mount %s to make its data directory: %w", dev, err)
	}
	mkErr := os.Mkdir(filepath.Join(formatScratch, volumeDataDir), 0o755)
	if err := syscall.Unmount(formatScratch, 0); err != nil {
		return fmt.Errorf("unmount %s: %w", dev, err)
	}
	if mkErr != nil && !os.IsExist(mkErr) {
		return mkErr
	}
	return nil
}
