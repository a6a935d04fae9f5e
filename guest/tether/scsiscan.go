package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// scanScsiTargets asks every SCSI host to probe targets 0..n-1, LUN 0: where the host puts a
// container's n disks. The guest kernel runs with scsi_mod.scan=manual because its own full scan
// probes all 256 targets of the virtio-scsi controller, and under TCG that delayed every cold boot's
// disks by a large fraction of a second. Hot-plugged disks (a restored template) are added by the
// driver's hot-plug event whatever the scan mode; probing them again here is a no-op.
func scanScsiTargets(n int) {
	hosts, _ := filepath.Glob("/sys/class/scsi_host/host*/scan")
	for _, scan := range hosts {
		for target := 0; target < n; target++ {
			// Writing "channel target lun" probes that one address, synchronously.
			if err := os.WriteFile(scan, []byte(fmt.Sprintf("0 %d 0", target)), 0o200); err != nil {
				fmt.Fprintf(os.Stderr, "tether: scan %s target %d: %v\n", scan, target, err)
			}
		}
	}
}
