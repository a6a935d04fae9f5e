package main

// containerConfig is the CONFIG payload (docs/tether-protocol.md, ContainerConfig).
type containerConfig struct {
	ID         string         `json:"id"`
	Hostname   string         `json:"hostname"`
	Domainname string         `json:"domainname"`
	Now        int64          `json:"now"`
	Seed       []byte         `json:"seed"` // base64 in JSON: host randomness for the guest's CRNG
	Layers     []string       `json:"layers"`
	RW         string         `json:"rw"`
	Cmd        []string       `json:"cmd"`
	Env        []string       `json:"env"`
	WorkingDir string         `json:"workingDir"`
	User       string         `json:"user"`
	Groups     []string       `json:"groups"` // supplementary groups added (GroupAdd): names or gids
	Tty        bool           `json:"tty"`
	OpenStdin  bool           `json:"openStdin"`
	Rows       uint16         `json:"rows"`
	Cols       uint16         `json:"cols"`
	Hosts      []string       `json:"hosts"`
	DNS        []string       `json:"dns"`
	DNSSearch  []string       `json:"dnsSearch"`
	DNSOptions []string       `json:"dnsOptions"`
	Mounts     []volumeMount  `json:"mounts"`
	Networks   []guestNetwork `json:"networks"`
	// Hotplugged: the disks were hot-plugged (a restored VM) and announce themselves: no SCSI scan.
	Hotplugged bool `json:"hotplugged"`
	// Ephemeral: the disks are destroyed after the exit (--rm, no volumes): no sync or unmount first.
	Ephemeral bool `json:"ephemeral"`
	// FormatBlank: the writable and volume disks may be blank (vSphere makes them empty): the tether
	// makes a filesystem on one that has none (format.go).
	FormatBlank bool `json:"formatBlank"`
	// Public: a NIC on the public network, its address from that network's DHCP, where the published
	// ports are served (public_network.go); nil without one.
	Public *publicConfig `json:"public"`
}

type volumeMount struct {
	Serial   string `json:"serial"`
	Tag      string `json:"tag"` // a virtio-fs share (host directory) instead of a disk when set
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
	CopyUp   bool   `json:"copyUp"`
}

// execConfig is the EXEC payload.
type execConfig struct {
	Cmd        []string `json:"cmd"`
	Env        []string `json:"env"`
	WorkingDir string   `json:"workingDir"`
	User       string   `json:"user"`
	Tty        bool     `json:"tty"`
	OpenStdin  bool     `json:"openStdin"`
	Rows       uint16   `json:"rows"`
	Cols       uint16   `json:"cols"`
}

type helloReply struct {
	Version  int    `json:"version"`
	ID       string `json:"id,omitempty"`
	State    string `json:"state"`
	Pid      *int   `json:"pid,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	// Boot and Seq: a journaled line's (vSphere) HELLO — this boot of the tether, and this HELLO's
	// number, which the engine's RESUME echoes (journal.go).
	Boot string `json:"boot,omitempty"`
	Seq  uint32 `json:"seq,omitempty"`
	// PublicAddress: the public network's leased address with its prefix, when there is one.
	PublicAddress string `json:"publicAddress,omitempty"`
}

type startedReply struct {
	Pid int `json:"pid"`
	// Steps milliseconds from CONFIG to the process's start, in order ("scan 12,disks 40,..."):
	// session 0 only, for the host's per-phase timings.
	Steps string `json:"steps,omitempty"`
	// Boot: on a journaled line, which boot this start is (the engine counts its log from it).
	Boot string `json:"boot,omitempty"`
	// PublicAddress: session 0 only, the public network's address when it has a lease by now.
	PublicAddress string `json:"publicAddress,omitempty"`
}

type exitReply struct {
	Code int `json:"code"`
	// Steps milliseconds of the container's end, session 0 only ("run 40,drain 0,kill 3"): the
	// process's run from its start until it was reaped, its output drained, the rest killed, the disks
	// flushed (not for an ephemeral container) — for the host's exit phases.
	Steps string `json:"steps,omitempty"`
}

type errorReply struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}
