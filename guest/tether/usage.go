package main

// USAGE: what the guest's CPUs and memory are doing, read from /proc, for `docker stats` where the
// host cannot see a VM's cost from outside (vSphere: no QEMU process to read). CPU times are the
// kernel's own accounting of every CPU, so a busy share is the guest's view, whatever the hypervisor
// did meanwhile.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// nsPerTick converts USER_HZ ticks (clockTicks, top.go) to nanoseconds.
const nsPerTick = int64(1_000_000_000 / clockTicks)

type usageReply struct {
	// CPUBusyNs: time the CPUs spent running something (user, nice, system, irq, softirq), all CPUs.
	CPUBusyNs int64 `json:"cpuBusyNs"`
	// CPUTotalNs: all the CPUs' time, idle and iowait included: what CPUBusyNs is a share of.
	CPUTotalNs       int64 `json:"cpuTotalNs"`
	OnlineCPUs       int   `json:"onlineCpus"`
	MemoryUsedBytes  int64 `json:"memoryUsedBytes"`  // MemTotal - MemAvailable
	MemoryTotalBytes int64 `json:"memoryTotalBytes"` // MemTotal
}

// cpuTimes reads /proc/stat: the aggregate "cpu" line's busy and total ticks, and the number of
// per-CPU lines (the kernel lists online CPUs only). Steal time counts in the total but not as busy:
// the guest wanted to run and the hypervisor did not let it.
func cpuTimes(stat string) (busy, total int64, cpus int, err error) {
	found := false
	sc := bufio.NewScanner(strings.NewReader(stat))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			if _, err := strconv.Atoi(f[0][3:]); err == nil {
				cpus++
			}
			continue
		}
		// user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
		// inside user and nice, so only the first eight add up to the total.
		if len(f) < 5 {
			return 0, 0, 0, fmt.Errorf("/proc/stat: short cpu line %q", sc.Text())
		}
		var ticks [8]int64
		for i := 0; i < 8 && i+1 < len(f); i++ {
			v, perr := strconv.ParseInt(f[i+1], 10, 64)
			if perr != nil {
				return 0, 0, 0, fmt.Errorf("/proc/stat: cpu field %d: %v", i+1, perr)
			}
			ticks[i] = v
			total += v
		}
		busy = total - ticks[3] - ticks[4] - ticks[7]
		found = true
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("/proc/stat has no cpu line")
	}
	if cpus == 0 {
		cpus = 1
	}
	return busy, total, cpus, nil
}

// memoryInUse reads /proc/meminfo: what is in use (MemTotal - MemAvailable, the memory that could
// not be had without swapping) and MemTotal, in bytes. A kernel without MemAvailable (before 3.14)
// is estimated from MemFree + Buffers + Cached.
func memoryInUse(meminfo string) (used, total int64, err error) {
	kib := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if v, perr := strconv.ParseInt(f[1], 10, 64); perr == nil {
			kib[strings.TrimSuffix(f[0], ":")] = v
		}
	}
	memTotal, ok := kib["MemTotal"]
	if !ok || memTotal <= 0 {
		return 0, 0, fmt.Errorf("/proc/meminfo has no MemTotal")
	}
	available, ok := kib["MemAvailable"]
	if !ok {
		available = kib["MemFree"] + kib["Buffers"] + kib["Cached"]
	}
	inUse := memTotal - available
	if inUse < 0 {
		inUse = 0
	}
	return inUse * 1024, memTotal * 1024, nil
}

// readUsage reads procDir (/proc).
func readUsage(procDir string) (usageReply, error) {
	stat, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return usageReply{}, err
	}
	meminfo, err := os.ReadFile(filepath.Join(procDir, "meminfo"))
	if err != nil {
		return usageReply{}, err
	}
	busy, total, cpus, err := cpuTimes(string(stat))
	if err != nil {
		return usageReply{}, err
	}
	used, memTotal, err := memoryInUse(string(meminfo))
	if err != nil {
		return usageReply{}, err
	}
	return usageReply{CPUBusyNs: busy * nsPerTick, CPUTotalNs: total * nsPerTick, OnlineCPUs: cpus,
		MemoryUsedBytes: used, MemoryTotalBytes: memTotal}, nil
}

// sendUsage answers USAGE on session id with RESULT, or ERROR. It holds no session: the answer is
// one frame, in any container state.
func (t *tether) sendUsage(id uint32) {
	if id == 0 {
		t.sendControl(typeError, id, fileErrorReply{Message: "usage requests are numbered from 1", Code: 125, Kind: "InvalidParameter"})
		return
	}
	u, err := readUsage("/proc")
	if err != nil {
		t.sendControl(typeError, id, fileErrorReply{Message: "guest usage: " + err.Error(), Code: 125, Kind: "System"})
		return
	}
	t.sendControl(typeResult, id, u)
}
