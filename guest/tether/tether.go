package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

const protocolVersion = 1

// Container states reported in HELLO.
const (
	stateWaiting = "waiting"
	stateRunning = "running"
	stateExited  = "exited"
)

// tether is the guest agent's state: one container, its sessions, and the two ports.
type tether struct {
	control *port
	log     outputSink
	// identity: the VM's BIOS UUID (32 hex digits) on the serial transport, sent in HELLO; "" otherwise.
	identity string
	// journal: session 0's log kept for replay on the serial transport (journal.go); nil on QEMU's
	// ports, whose log port is a file that no engine restart loses. boot names this boot in HELLO.
	journal *logJournal
	boot    string

	mu       sync.Mutex
	state    string
	config   *containerConfig
	sessions map[uint32]*session
	mainPid  int
	// exitSteps times the container's end from its process's start (EXIT's "steps").
	exitSteps *stepTimer
	exitCode  *int
	mounts    mountStack
	finishing sync.Once

	procMu  sync.Mutex
	byPid   map[int]*session
	helpers map[int]chan syscall.WaitStatus // `tether files` processes (transfer.go), under procMu

	transfers map[uint32]*transfer // file requests in flight, under mu

	public *publicNetwork // the public network's NIC, when CONFIG has one; under mu
}

func newTether() *tether {
	return &tether{state: stateWaiting, sessions: map[uint32]*session{}, byPid: map[int]*session{},
		helpers: map[int]chan syscall.WaitStatus{}, transfers: map[uint32]*transfer{}}
}

// handle dispatches one host frame. It runs on the control port's reader, so nothing here may block
// for long (stdin goes through each session's queue).
func (t *tether) handle(f frame) {
	switch f.typ {
	case typeHelloReq:
		t.sendHello()
	case typeResume, typeExitAck:
		t.onReplayFrame(f)
	case typeConfig:
		t.startContainer(f.payload)
	case typeExec:
		t.startExec(f.session, f.payload)
	case typeStdin:
		if s := t.session(f.session); s != nil {
			s.queueStdin(stdinOp{data: f.payload})
		}
	case typeStdinClose:
		if s := t.session(f.session); s != nil {
			s.queueStdin(stdinOp{close: true})
		}
	case typeSignal:
		if s := t.session(f.session); s != nil && len(f.payload) >= 4 {
			if err := s.signal(syscall.Signal(binary.BigEndian.Uint32(f.payload))); err != nil {
				t.diag("signal session %d: %v", f.session, err)
			}
		}
	case typeResize:
		if s := t.session(f.session); s != nil && len(f.payload) >= 4 {
			rows, cols := binary.BigEndian.Uint16(f.payload[0:2]), binary.BigEndian.Uint16(f.payload[2:4])
			if err := s.resize(rows, cols); err != nil {
				t.diag("resize session %d: %v", f.session, err)
			}
		}
	case typePowerOff:
		powerOffNow()
	case typeHosts:
		t.updateHosts(f.payload)
	case typeWarm:
		t.warm()
	case typeClock:
		// A paused VM's clock stood still while the host's ran on: take the host's again.
		if len(f.payload) >= 8 {
			if err := setClock(int64(binary.BigEndian.Uint64(f.payload[:8]))); err != nil {
				t.diag("set clock: %v", err)
			}
		}
	case typeNetAttach:
		go t.attachNetwork(f.session, f.payload)
	case typeNetDetach:
		go t.detachNetwork(f.session, f.payload)
	case typeTop, typeStat, typeArchiveGet, typeArchivePut:
		t.startFileRequest(f.typ, f.session, f.payload)
	case typeUsage:
		go t.sendUsage(f.session)
	case typeHostData, typeHostCredit, typeCancel:
		t.onTransferFrame(f)
	default:
		t.diag("unknown frame type 0x%02x", f.typ)
	}
}

func (t *tether) session(id uint32) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[id]
}

func (t *tether) sendHello() {
	t.mu.Lock()
	reply := helloReply{Version: protocolVersion, State: t.state, ID: t.identity}
	if t.mainPid != 0 {
		pid := t.mainPid
		reply.Pid = &pid
	}
	reply.ExitCode = t.exitCode
	public := t.public
	t.mu.Unlock()
	reply.PublicAddress = public.currentAddress()
	if t.journal == nil {
		t.sendControl(typeHello, 0, reply)
		return
	}
	// Under the line's write lock: no log frame may follow this HELLO before its RESUME.
	t.control.mu.Lock()
	defer t.control.mu.Unlock()
	reply.Boot = t.boot
	reply.Seq = t.journal.hello(time.Now())
	if err := t.control.writeLocked(typeHello, 0, mustJSON(reply)); err != nil {
		fmt.Fprintf(os.Stderr, "tether: control port: %v\n", err)
	}
}

// onReplayFrame handles RESUME and EXIT_ACK, which only a journaled line (vSphere) has.
func (t *tether) onReplayFrame(f frame) {
	if t.journal == nil {
		t.diag("frame type 0x%02x without a journal", f.typ)
		return
	}
	if f.typ == typeExitAck {
		t.journal.ack()
		return
	}
	var r resumeRequest
	if err := json.Unmarshal(f.payload, &r); err != nil {
		t.diag("invalid RESUME: %v", err)
		return
	}
	t.journal.resume(r)
}

// startContainer handles CONFIG: build the root, give the container its identity, start session 0.
func (t *tether) startContainer(payload []byte) {
	t.mu.Lock()
	if t.config != nil {
		t.mu.Unlock()
		t.diag("CONFIG ignored: the container was configured already")
		return
	}
	cfg := &containerConfig{}
	if err := json.Unmarshal(payload, cfg); err != nil {
		t.mu.Unlock()
		t.failContainer(startFailed("invalid container config: %v", err))
		return
	}
	t.config = cfg
	t.mu.Unlock()
	if t.identity != "" {
		// On vSphere the console is the only trace of a start the VCH did not see (ESXi drops what the
		// line carries while no VCH listens).
		fmt.Fprintf(os.Stderr, "tether: starting container %.12s\n", cfg.ID)
	}
	steps := newStepTimer()

	// A VM restored from a template shares its RNG state and clock with every other clone: both are
	// made its own before anything of the container runs.
	if err := reseedRandom(cfg.Seed); err != nil {
		t.diag("reseed RNG: %v", err)
	}
	if err := setClock(cfg.Now); err != nil {
		t.diag("set clock: %v", err)
	}
	steps.mark("identity")
	if err := t.prepareContainer(cfg, steps); err != nil {
		t.failContainer(startFailed("%v", err))
		return
	}
	spec := launchSpec{argv: cfg.Cmd, env: cfg.Env, cwd: cfg.WorkingDir, user: cfg.User, groups: cfg.Groups, tty: cfg.Tty,
		openStdin: cfg.OpenStdin, rows: cfg.Rows, cols: cfg.Cols}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, serr := t.launch(containerRoot, 0, spec, t.log)
	if serr != nil {
		go t.failContainer(serr)
		return
	}
	t.sessions[0] = s
	t.mainPid = s.pid
	t.state = stateRunning
	steps.mark("launch")
	t.exitSteps = newStepTimer()
	started := startedReply{Pid: s.pid, Steps: steps.String(), Boot: t.boot, PublicAddress: t.public.currentAddress()}
	t.sendLog(typeStarted, 0, started)
	t.sendControl(typeStarted, 0, started)
	s.startIO()
}

func (t *tether) prepareContainer(cfg *containerConfig, steps *stepTimer) error {
	var diskMounts []volumeMount
	for _, m := range cfg.Mounts {
		if m.Tag == "" {
			diskMounts = append(diskMounts, m)
		}
	}
	volumeDisks, _ := volumeSerials(diskMounts)
	if isSlotName(cfg.RW) {
		scanSlots(append(append(append([]string{}, cfg.Layers...), cfg.RW), volumeDisks...))
	} else if !cfg.Hotplugged {
		scanScsiTargets(len(cfg.Layers) + 1 + len(volumeDisks))
	}
	steps.mark("scan")
	if cfg.FormatBlank {
		if err := t.formatBlankDisks(cfg.RW, volumeDisks); err != nil {
			return err
		}
		steps.mark("format")
	}
	if err := assembleRoot(&t.mounts, cfg.Layers, cfg.RW, steps); err != nil {
		return err
	}
	if err := mountContainerFilesystems(&t.mounts, containerRoot); err != nil {
		return err
	}
	steps.mark("pseudofs")
	if err := mountVolumes(&t.mounts, containerRoot, cfg.Mounts); err != nil {
		return err
	}
	steps.mark("volumes")
	if err := setHostname(cfg.Hostname, cfg.Domainname); err != nil {
		return err
	}
	if err := bringUp("lo"); err != nil {
		t.diag("lo: %v", err)
	}
	if err := configureNetworks(cfg.Networks); err != nil {
		return err
	}
	steps.mark("network")
	if cfg.Public != nil {
		if err := t.startPublicNetwork(cfg.Public, hasDefaultRoute(cfg.Networks)); err != nil {
			return err
		}
		steps.mark("dhcp")
	}
	err := writeEtcFiles(containerRoot, cfg)
	steps.mark("etc")
	return err
}

// updateHosts handles HOSTS: peers came or went on the container's networks. Before the container's
// root exists there is nothing to update (CONFIG carries the current list).
func (t *tether) updateHosts(payload []byte) {
	var lines []string
	if err := json.Unmarshal(payload, &lines); err != nil {
		t.diag("invalid HOSTS: %v", err)
		return
	}
	t.mu.Lock()
	running := t.state == stateRunning
	t.mu.Unlock()
	if !running {
		return
	}
	if err := replaceHosts(containerRoot, lines); err != nil {
		t.diag("update /etc/hosts: %v", err)
	}
}

// startExec handles EXEC: another process in the running container; everything goes to control.
func (t *tether) startExec(id uint32, payload []byte) {
	fail := func(e *startError) { t.sendControl(typeError, id, errorReply{Message: e.message, Code: e.code}) }
	var ec execConfig
	if err := json.Unmarshal(payload, &ec); err != nil {
		fail(startFailed("invalid exec config: %v", err))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case id == 0:
		fail(startFailed("exec sessions are numbered from 1"))
		return
	case t.state != stateRunning:
		fail(startFailed("container is not running"))
		return
	case t.sessions[id] != nil:
		fail(startFailed("exec session %d is in use", id))
		return
	}
	cfg := t.config
	spec := launchSpec{argv: ec.Cmd, env: mergeEnv(cfg.Env, ec.Env), cwd: ec.WorkingDir, user: ec.User,
		groups: cfg.Groups, tty: ec.Tty, openStdin: ec.OpenStdin, rows: ec.Rows, cols: ec.Cols}
	if spec.cwd == "" {
		spec.cwd = cfg.WorkingDir
	}
	if spec.user == "" {
		spec.user = cfg.User
	}
	s, serr := t.launch(containerRoot, id, spec, t.control)
	if serr != nil {
		fail(serr)
		return
	}
	t.sessions[id] = s
	t.sendControl(typeStarted, id, startedReply{Pid: s.pid})
	s.startIO()
}

// onProcessExit runs when a session's process has been reaped.
func (t *tether) onProcessExit(s *session, ws syscall.WaitStatus) {
	var steps *stepTimer
	if s.id == 0 {
		t.mu.Lock()
		steps = t.exitSteps
		t.mu.Unlock()
		steps.mark("run")
	}
	s.drainOutput()
	code := exitCodeOf(ws)
	if s.id == 0 {
		steps.mark("drain")
		t.finishContainer(typeExit, exitReply{Code: code}, steps)
		return
	}
	t.mu.Lock()
	if t.sessions[s.id] == s {
		delete(t.sessions, s.id)
	}
	t.mu.Unlock()
	t.sendControl(typeExit, s.id, exitReply{Code: code})
}

// failContainer reports that session 0 could not start, then powers off like after an exit.
func (t *tether) failContainer(e *startError) {
	t.diag("container start failed: %s", e.message)
	t.finishContainer(typeError, errorReply{Message: e.message, Code: e.code}, nil)
}

func (t *tether) sendControl(typ byte, session uint32, body interface{}) {
	if err := t.control.send(typ, session, mustJSON(body)); err != nil {
		fmt.Fprintf(os.Stderr, "tether: control port: %v\n", err)
	}
}

func (t *tether) sendLog(typ byte, session uint32, body interface{}) {
	if err := t.log.send(typ, session, mustJSON(body)); err != nil {
		fmt.Fprintf(os.Stderr, "tether: log port: %v\n", err)
	}
}

// diag reports a tether problem on the console and, when a host listens, as a DIAG frame.
func (t *tether) diag(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "tether: "+msg)
	if t.control != nil {
		t.control.send(typeDiag, 0, []byte(msg))
	}
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
