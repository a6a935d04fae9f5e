package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// findDisks maps disk serials to device nodes. The kernel names disks in probe order, which is not
// guaranteed to match the host's, so the serial is the only reliable identity. Disks arrive two ways:
// virtio-blk (serial in /sys/block/vd*/serial) and SCSI disks on the virtio-scsi controller (the
// serial is the unit serial number, VPD page 0x80) — the latter also when the host hot-plugs them
// into a VM restored from a template, so they may appear after the CONFIG; hence the wait.
func findDisks(serials []string, timeout time.Duration) (map[string]string, error) {
	found := map[string]string{}
	deadline := time.Now().Add(timeout)
	slots := false
	for _, s := range serials {
		slots = slots || isSlotName(s)
	}
	for {
		scanDisks(found, slots)
		missing := []string{}
		for _, s := range serials {
			if _, ok := found[s]; !ok {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return found, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no disk with serial %s", strings.Join(missing, ", "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scanDisks adds every disk with a readable serial and a device node to found, and the disks on
// paravirtual SCSI controllers under their slot names (slots.go).
func scanDisks(found map[string]string, slots bool) {
	if slots {
		scanSlotDisks(found)
	}
	blk, _ := filepath.Glob("/sys/block/vd*/serial")
	for _, serialFile := range blk {
		raw, err := os.ReadFile(serialFile)
		if err != nil {
			continue
		}
		addDisk(found, strings.TrimRight(string(raw), "\x00\n "), filepath.Base(filepath.Dir(serialFile)))
	}
	scsi, _ := filepath.Glob("/sys/block/sd*/device/vpd_pg80")
	for _, pageFile := range scsi {
		raw, err := os.ReadFile(pageFile)
		if serial, ok := unitSerial(raw); err == nil && ok {
			addDisk(found, serial, filepath.Base(filepath.Dir(filepath.Dir(pageFile))))
		}
	}
}

func addDisk(found map[string]string, serial, name string) {
	if serial == "" {
		return
	}
	dev := "/dev/" + name
	if _, err := os.Stat(dev); err == nil {
		found[serial] = dev
	}
}

// unitSerial decodes a Unit Serial Number VPD page: a 4-byte header (peripheral, page code 0x80,
// big-endian length), then the serial, space padded.
func unitSerial(page []byte) (string, bool) {
	if len(page) < 4 || page[1] != 0x80 {
		return "", false
	}
	n := int(page[2])<<8 | int(page[3])
	if 4+n > len(page) {
		return "", false
	}
	return strings.Trim(string(page[4:4+n]), "\x00 "), true
}
