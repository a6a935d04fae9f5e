package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Two CPUs as a 6.1 kernel writes /proc/stat (guest and guest_nice last, already inside user/nice).
const procStatTwoCPUs = `cpu  100 5 50 1000 20 3 2 7 40 1
cpu0 60 5 30 480 10 2 1 4 40 1
cpu1 40 0 20 520 10 1 1 3 0 0
intr 12345 0 0
ctxt 999
btime 1700000000
processes 321
procs_running 2
`

func TestCPUTimesCountsBusyAgainstAllTicks(t *testing.T) {
	busy, total, cpus, err := cpuTimes(procStatTwoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	// total: user..steal = 100+5+50+1000+20+3+2+7; busy leaves out idle, iowait and steal.
	if total != 1187 || busy != 160 || cpus != 2 {
		t.Fatalf("busy %d total %d cpus %d", busy, total, cpus)
	}
}

func TestCPUTimesOfAnOldKernelAndBadInput(t *testing.T) {
	// A 2.6.0 kernel: user nice system idle only; one CPU line.
	busy, total, cpus, err := cpuTimes("cpu 10 0 5 85\ncpu0 10 0 5 85\n")
	if err != nil || busy != 15 || total != 100 || cpus != 1 {
		t.Fatalf("busy %d total %d cpus %d err %v", busy, total, cpus, err)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2\n", "cpu 1 x 3 4\n"} {
		if _, _, _, err := cpuTimes(bad); err == nil {
			t.Errorf("cpuTimes(%q) accepted", bad)
		}
	}
}

func TestMemoryInUse(t *testing.T) {
	used, total, err := memoryInUse("MemTotal:         493000 kB\nMemFree:          400000 kB\nMemAvailable:     450000 kB\nBuffers:            1000 kB\nCached:            20000 kB\n")
	if err != nil || used != 43000*1024 || total != 493000*1024 {
		t.Fatalf("used %d total %d err %v", used, total, err)
	}
	// Without MemAvailable: free + buffers + cached are taken as available.
	used, _, err = memoryInUse("MemTotal: 1000 kB\nMemFree: 500 kB\nBuffers: 100 kB\nCached: 200 kB\n")
	if err != nil || used != 200*1024 {
		t.Fatalf("used %d err %v", used, err)
	}
	if _, _, err := memoryInUse("MemFree: 5 kB\n"); err == nil {
		t.Fatal("meminfo without MemTotal accepted")
	}
}

func TestReadUsageConvertsTicksToNanoseconds(t *testing.T) {
	proc := t.TempDir()
	if err := os.WriteFile(filepath.Join(proc, "stat"), []byte(procStatTwoCPUs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal: 262144 kB\nMemAvailable: 200000 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := readUsage(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := usageReply{CPUBusyNs: 160 * 10_000_000, CPUTotalNs: 1187 * 10_000_000, OnlineCPUs: 2, MemoryUsedBytes: 62144 * 1024, MemoryTotalBytes: 262144 * 1024}
	if u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	if _, err := readUsage(filepath.Join(proc, "missing")); err == nil {
		t.Fatal("a missing /proc accepted")
	}
}

// The real /proc of the machine running the test: the figures hold together.
func TestReadUsageOfThisMachine(t *testing.T) {
	u, err := readUsage("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUTotalNs <= 0 || u.CPUBusyNs < 0 || u.CPUBusyNs > u.CPUTotalNs || u.OnlineCPUs < 1 {
		t.Fatalf("cpu %+v", u)
	}
	if u.MemoryTotalBytes <= 0 || u.MemoryUsedBytes <= 0 || u.MemoryUsedBytes > u.MemoryTotalBytes {
		t.Fatalf("memory %+v", u)
	}
}

// A USAGE frame is a host frame: the serial line's resync must not skip it as garbage.
func TestUsageIsAHostFrameType(t *testing.T) {
	if !hostFrameType(typeUsage) || hostFrameType(typeUsage+1) {
		t.Fatal("typeUsage must be the last host frame type")
	}
}
