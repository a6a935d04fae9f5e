package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// findDisks maps virtio-blk serials to device nodes. The kernel names disks in probe order, which is
// not guaranteed to match the command line, so the serial is the only reliable identity.
func findDisks(serials []string, timeout time.Duration) (map[string]string, error) {
	found := map[string]string{}
	deadline := time.Now().Add(timeout)
	for {
		entries, _ := filepath.Glob("/sys/block/vd*/serial")
		for _, serialFile := range entries {
			raw, err := os.ReadFile(serialFile)
			if err != nil {
				continue
			}
			serial := strings.TrimRight(string(raw), "\x00\n ")
			dev := "/dev/" + filepath.Base(filepath.Dir(serialFile))
			if _, err := os.Stat(dev); err == nil {
				found[serial] = dev
			}
		}
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
		time.Sleep(10 * time.Millisecond)
	}
}
