package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// netAttachRequest is NET_ATTACH's payload: configure the spare NIC that has slotMac now (its
// address as the VM was built) for a network the running container just joined.
type netAttachRequest struct {
	SlotMAC string       `json:"slotMac"`
	Network guestNetwork `json:"network"`
}

// netDetachRequest is NET_DETACH's payload: the interface with mac leaves its network; it goes down,
// loses its addresses and routes, and takes slotMac back so that a later NET_ATTACH finds it.
type netDetachRequest struct {
	MAC     string `json:"mac"`
	SlotMAC string `json:"slotMac"`
}

func (t *tether) attachNetwork(id uint32, payload []byte) {
	var req netAttachRequest
	err := json.Unmarshal(payload, &req)
	if err == nil {
		var name string
		if name, err = interfaceWithMAC(req.SlotMAC, nicWait); err == nil {
			if err = configureInterface(name, req.Network); err != nil {
				err = fmt.Errorf("network interface %s: %w", name, err)
			}
		}
	}
	t.replyNetwork(id, err)
}

func (t *tether) detachNetwork(id uint32, payload []byte) {
	var req netDetachRequest
	err := json.Unmarshal(payload, &req)
	if err == nil {
		var name string
		if name, err = interfaceWithMAC(req.MAC, 0); err == nil {
			err = deconfigureInterface(name, req.SlotMAC)
		}
	}
	t.replyNetwork(id, err)
}

func (t *tether) replyNetwork(id uint32, err error) {
	if err != nil {
		t.sendControl(typeError, id, fileErrorReply{Message: err.Error(), Code: 125, Kind: "System"})
		return
	}
	t.sendControl(typeResult, id, struct{}{})
}

// interfaceWithMAC names the interface whose current address is mac, waiting up to wait for it.
func interfaceWithMAC(mac string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		all, err := net.Interfaces()
		if err != nil {
			return "", err
		}
		for _, ifc := range all {
			if strings.EqualFold(ifc.HardwareAddr.String(), mac) {
				return ifc.Name, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no network interface has MAC %s", mac)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deconfigureInterface removes the interface's IPv4 address (setting 0.0.0.0 deletes it, and the
// routes through it go too), takes it down and gives it slotMAC.
func deconfigureInterface(name, slotMAC string) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var addr ifreqAddr
	copy(addr.name[:], name)
	addr.addr = inet4(net.IPv4zero)
	if err := ioctl(fd, syscall.SIOCSIFADDR, uintptr(unsafe.Pointer(&addr))); err != nil && err != syscall.EADDRNOTAVAIL {
		return fmt.Errorf("SIOCSIFADDR %s 0.0.0.0: %w", name, err)
	}
	var flags ifreqFlags
	copy(flags.name[:], name)
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&flags))); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %s: %w", name, err)
	}
	flags.flags &^= syscall.IFF_UP
	if err := ioctl(fd, syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&flags))); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %s: %w", name, err)
	}
	if slotMAC == "" {
		return nil
	}
	mac, err := net.ParseMAC(slotMAC)
	if err != nil || len(mac) != 6 {
		return fmt.Errorf("invalid MAC %q", slotMAC)
	}
	var hw ifreqAddr
	copy(hw.name[:], name)
	hw.addr.family = syscall.ARPHRD_ETHER
	raw := (*[14]byte)(unsafe.Pointer(&hw.addr.port))
	copy(raw[:], mac)
	if err := ioctl(fd, syscall.SIOCSIFHWADDR, uintptr(unsafe.Pointer(&hw))); err != nil {
		return fmt.Errorf("SIOCSIFHWADDR: %w", err)
	}
	return nil
}
