package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseProcStatWithAwkwardComm(t *testing.T) {
	line := "42 (my (odd) proc) S 1 42 42 34816 42 4194560 100 0 0 0 250 150 0 0 20 -5 3 0 12345 10485760 300 18446744073709551615"
	st, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "my (odd) proc" || st.state != "S" || st.ppid != 1 || st.session != 42 || st.tpgid != 42 {
		t.Fatalf("parsed %+v", st)
	}
	if st.utime != 250 || st.stime != 150 || st.nice != -5 || st.threads != 3 || st.starttime != 12345 || st.vsize != 10485760 || st.rssPages != 300 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseProcStat("garbage"); err == nil {
		t.Fatal("a line without comm must fail")
	}
}

func TestTtyNames(t *testing.T) {
	for nr, want := range map[int]string{0: "?", 136<<8 | 0: "pts/0", 136<<8 | 5: "pts/5", 137<<8 | 1: "pts/257", 4<<8 | 1: "tty1", 4<<8 | 64: "ttyS0", 5<<8 | 1: "console"} {
		if got := ttyName(nr); got != want {
			t.Errorf("ttyName(%#x) = %q, want %q", nr, got, want)
		}
	}
}

func TestEffectiveUidAndCommandLine(t *testing.T) {
	if uid := effectiveUid("Name:\tsh\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\n"); uid != 1001 {
		t.Fatalf("effective uid %d", uid)
	}
	if got := commandLine([]byte("sleep\x00100\x00"), "sleep"); got != "sleep 100" {
		t.Fatalf("cmdline %q", got)
	}
	if got := commandLine(nil, "kworker/0:1"); got != "[kworker/0:1]" {
		t.Fatalf("empty cmdline %q", got)
	}
}

// A fake /proc: only processes whose root link points at the container's root are listed.
func TestListProcessesKeepsTheContainersOnly(t *testing.T) {
	dir := t.TempDir()
	proc, root := filepath.Join(dir, "proc"), filepath.Join(dir, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644))
	must(os.MkdirAll(proc, 0o755))
	must(os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  1 2 3\nbtime 1700000000\n"), 0o644))
	must(os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal:       262144 kB\nMemFree: 1 kB\n"), 0o644))
	add := func(pid, procRoot, stat, uid, cmdline string) {
		d := filepath.Join(proc, pid)
		must(os.MkdirAll(d, 0o755))
		must(os.Symlink(procRoot, filepath.Join(d, "root")))
		must(os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644))
		must(os.WriteFile(filepath.Join(d, "status"), []byte("Uid:\t"+uid+"\t"+uid+"\t"+uid+"\t"+uid+"\n"), 0o644))
		must(os.WriteFile(filepath.Join(d, "cmdline"), []byte(cmdline), 0o644))
	}
	add("1", "/", "1 (tether) S 0 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 4 0 1 1000000 100", "0", "/init")
	add("2", "/", "2 (kthreadd) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", "0", "")
	add("7", root, "7 (sh) S 1 7 7 34816 7 0 0 0 0 0 100 50 0 0 20 0 1 0 500 4194304 256", "1000", "sh\x00-c\x00sleep 9\x00")
	add("9", root+"/", "9 (sleep) S 7 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 600 2097152 64", "4242", "sleep\x009\x00")
	list := listProcesses(proc, root, 1700000100)
	if list.MemTotalKiB != 262144 || list.Now != 1700000100 {
		t.Fatalf("list %+v", list)
	}
	if len(list.Processes) != 2 {
		t.Fatalf("want the container's 2 processes, got %+v", list.Processes)
	}
	sh, sleep := list.Processes[0], list.Processes[1]
	if sh.Pid != 7 || sh.User != "app" || sh.Cmd != "sh -c sleep 9" || sh.Tty != "pts/0" || sh.CPUSeconds != 1.5 || sh.StartTime != 1700000005 || sh.VszKiB != 4096 {
		t.Fatalf("sh %+v", sh)
	}
	if sleep.User != "4242" || sleep.Ppid != 7 || sleep.Tty != "?" {
		t.Fatalf("sleep %+v", sleep)
	}
}
