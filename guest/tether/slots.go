package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Disks by SCSI slot (vSphere): a VMDK has no serial the guest can read, so the host names each disk
// by where it attached it, "scsi:BUS:UNIT" — the VM's SCSI controller with that bus number, the disk's
// unit number on it. A paravirtual SCSI controller is one SCSI host in the guest; its targets are the
// unit numbers (LUN 0). Controllers are numbered in PCI order: ESXi (and the test host agent) put
// the controller of bus n at a lower PCI address than that of bus n+1.
const slotPrefix = "scsi:"

// isSlotName reports whether a disk name is a SCSI slot rather than a serial.
func isSlotName(name string) bool {
	return strings.HasPrefix(name, slotPrefix)
}

// parseSlot splits "scsi:BUS:UNIT".
func parseSlot(name string) (bus, unit int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(name, slotPrefix), ":")
	if len(parts) != 2 {
		return 0, 0, false
	}
	b, err1 := strconv.Atoi(parts[0])
	u, err2 := strconv.Atoi(parts[1])
	return b, u, err1 == nil && err2 == nil && b >= 0 && u >= 0
}

// scsiHostsByBus lists the paravirtual SCSI controllers' host numbers in PCI order: index = bus.
func scsiHostsByBus() []int {
	type host struct {
		number int
		pci    string
	}
	var hosts []host
	entries, _ := filepath.Glob("/sys/class/scsi_host/host*")
	for _, e := range entries {
		name, err := os.ReadFile(filepath.Join(e, "proc_name"))
		if err != nil || strings.TrimSpace(string(name)) != "vmw_pvscsi" {
			continue
		}
		real, err := filepath.EvalSymlinks(e)
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(e), "host"))
		if err != nil {
			continue
		}
		// …/0000:00:10.0/host2/scsi_host/host2: the PCI device is three levels up.
		hosts = append(hosts, host{number: n, pci: filepath.Dir(filepath.Dir(filepath.Dir(real)))})
	}
	sort.Slice(hosts, func(i, j int) bool { return pciLess(hosts[i].pci, hosts[j].pci) })
	out := make([]int, len(hosts))
	for i, h := range hosts {
		out[i] = h.number
	}
	return out
}

// pciLess orders sysfs device paths by their PCI addresses (fixed-width hex, so by string), a
// bridge's path before the devices behind it.
func pciLess(a, b string) bool {
	return a < b
}

// scanSlots asks each named slot's SCSI host to probe that one target (the kernel runs with
// scsi_mod.scan=manual, see scanScsiTargets).
func scanSlots(names []string) {
	hosts := scsiHostsByBus()
	for _, name := range names {
		bus, unit, ok := parseSlot(name)
		if !ok || bus >= len(hosts) {
			continue
		}
		scan := fmt.Sprintf("/sys/class/scsi_host/host%d/scan", hosts[bus])
		if err := os.WriteFile(scan, []byte(fmt.Sprintf("0 %d 0", unit)), 0o200); err != nil {
			fmt.Fprintf(os.Stderr, "tether: scan %s target %d: %v\n", scan, unit, err)
		}
	}
}

// scanSlotDisks adds every SCSI disk on a paravirtual SCSI controller under its slot name.
func scanSlotDisks(found map[string]string) {
	hosts := scsiHostsByBus()
	busOf := map[int]int{}
	for bus, h := range hosts {
		busOf[h] = bus
	}
	devices, _ := filepath.Glob("/sys/block/sd*/device")
	for _, dev := range devices {
		real, err := filepath.EvalSymlinks(dev)
		if err != nil {
			continue
		}
		// The SCSI device's directory is named host:channel:target:lun.
		hctl := strings.Split(filepath.Base(real), ":")
		if len(hctl) != 4 || hctl[1] != "0" || hctl[3] != "0" {
			continue
		}
		h, err1 := strconv.Atoi(hctl[0])
		target, err2 := strconv.Atoi(hctl[2])
		bus, ok := busOf[h]
		if err1 != nil || err2 != nil || !ok {
			continue
		}
		addDisk(found, fmt.Sprintf("%s%d:%d", slotPrefix, bus, target), filepath.Base(filepath.Dir(dev)))
	}
}
