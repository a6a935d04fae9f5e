package main

// TOP: the container's processes read from /proc, since the image may have no `ps`. The tether sends
// raw figures; the host formats them like `ps -ef` or `ps aux` (it knows the user's time zone).
// A process belongs to the container when its root directory is the container's root: that leaves
// out the tether (PID 1, outside it) and kernel threads.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc times: 100 on every Linux architecture we boot.
const clockTicks = 100

type processInfo struct {
	Pid        int     `json:"pid"`
	Ppid       int     `json:"ppid"`
	Pgrp       int     `json:"pgrp"`
	Session    int     `json:"session"`
	Tpgid      int     `json:"tpgid"`
	Tty        string  `json:"tty"`
	Uid        int     `json:"uid"`
	User       string  `json:"user"`
	State      string  `json:"state"`
	Nice       int     `json:"nice"`
	Threads    int     `json:"threads"`
	StartTime  float64 `json:"startTime"`  // unix seconds
	CPUSeconds float64 `json:"cpuSeconds"` // user + system
	VszKiB     int64   `json:"vszKiB"`
	RssKiB     int64   `json:"rssKiB"`
	Cmd        string  `json:"cmd"`
}

type processList struct {
	Now         float64       `json:"now"` // guest clock, unix seconds
	MemTotalKiB int64         `json:"memTotalKiB"`
	Processes   []processInfo `json:"processes"`
}

// procStat is the part of /proc/PID/stat that top needs.
type procStat struct {
	comm                              string
	state                             string
	ppid, pgrp, session, ttyNr, tpgid int
	utime, stime                      int64
	nice, threads                     int
	starttime                         int64
	vsize                             int64
	rssPages                          int64
}

// parseProcStat reads /proc/PID/stat. comm may hold spaces and parentheses: it ends at the last ")".
func parseProcStat(line string) (procStat, error) {
	open, close := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || close < open {
		return procStat{}, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(line[close+1:])
	if len(f) < 22 {
		return procStat{}, fmt.Errorf("stat line has %d fields", len(f))
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return procStat{
		comm: line[open+1 : close], state: f[0],
		ppid: int(n(1)), pgrp: int(n(2)), session: int(n(3)), ttyNr: int(n(4)), tpgid: int(n(5)),
		utime: n(11), stime: n(12), nice: int(n(16)), threads: int(n(17)),
		starttime: n(19), vsize: n(20), rssPages: n(21),
	}, nil
}

// ttyName decodes tty_nr (major in bits 8-15, minor in 0-7 and 20-31) the way ps names terminals.
func ttyName(nr int) string {
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	case major == 5 && minor == 1:
		return "console"
	}
	return "?"
}

// effectiveUid reads the effective uid (the second Uid: figure) from /proc/PID/status.
func effectiveUid(status string) int {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, "Uid:") {
			f := strings.Fields(line[4:])
			if len(f) >= 2 {
				uid, _ := strconv.Atoi(f[1])
				return uid
			}
		}
	}
	return 0
}

// commandLine is argv joined by spaces, or "[comm]" for a process without one (like ps).
func commandLine(cmdline []byte, comm string) string {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 1 && args[0] == "" {
		return "[" + comm + "]"
	}
	return strings.Join(args, " ")
}

// procField reads a "Name: value" figure (in kB) from /proc/meminfo, or "btime N" from /proc/stat.
func procField(text, name string) int64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && strings.TrimSuffix(f[0], ":") == name {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

// listProcesses reads procDir (/proc) for the processes whose root is root; users are named from
// the container's /etc/passwd.
func listProcesses(procDir, root string, now float64) processList {
	readText := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	bootTime := procField(readText(filepath.Join(procDir, "stat")), "btime")
	list := processList{Now: now, MemTotalKiB: procField(readText(filepath.Join(procDir, "meminfo")), "MemTotal"), Processes: []processInfo{}}
	names := map[int]string{}
	if p, err := resolveInRoot(root, "/etc/passwd"); err == nil {
		if f, err := os.Open(p); err == nil {
			for _, e := range parsePasswd(f) {
				if _, dup := names[e.uid]; !dup {
					names[e.uid] = e.name
				}
			}
			f.Close()
		}
	}
	entries, _ := os.ReadDir(procDir)
	pageKiB := int64(os.Getpagesize() / 1024)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(procDir, e.Name())
		if procRoot, err := os.Readlink(filepath.Join(dir, "root")); err != nil || filepath.Clean(procRoot) != filepath.Clean(root) {
			continue
		}
		st, err := parseProcStat(readText(filepath.Join(dir, "stat")))
		if err != nil {
			continue // it exited while we looked
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		uid := effectiveUid(readText(filepath.Join(dir, "status")))
		user, ok := names[uid]
		if !ok {
			user = strconv.Itoa(uid)
		}
		list.Processes = append(list.Processes, processInfo{
			Pid: pid, Ppid: st.ppid, Pgrp: st.pgrp, Session: st.session, Tpgid: st.tpgid,
			Tty: ttyName(st.ttyNr), Uid: uid, User: user, State: st.state, Nice: st.nice, Threads: st.threads,
			StartTime:  float64(bootTime) + float64(st.starttime)/clockTicks,
			CPUSeconds: float64(st.utime+st.stime) / clockTicks,
			VszKiB:     st.vsize / 1024, RssKiB: st.rssPages * pageKiB,
			Cmd: commandLine(cmdline, st.comm),
		})
	}
	return list
}
