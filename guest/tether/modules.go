package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

const (
	modulesDir = "/lib/modules"
	// modules.order is written by guest/build.sh: one module name a line, dependencies first.
	modulesOrderFile = "modules.order"
	// finit_module on x86_64; Go 1.19's syscall package has no constant for it.
	sysFinitModule = 313
)

// loadModules loads the initramfs's kernel modules in the order build.sh chose.
func loadModules() error {
	raw, err := os.ReadFile(filepath.Join(modulesDir, modulesOrderFile))
	if err != nil {
		return err
	}
	var failures []string
	for _, name := range strings.Fields(string(raw)) {
		if err := loadModule(filepath.Join(modulesDir, name+".ko")); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(failures) > 0 {
		return errors.New("module load failed: " + strings.Join(failures, "; "))
	}
	return nil
}

func loadModule(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	noParams := []byte{0}
	_, _, errno := syscall.Syscall(sysFinitModule, uintptr(fd), uintptr(unsafe.Pointer(&noParams[0])), 0)
	if errno != 0 && errno != syscall.EEXIST {
		return errno
	}
	return nil
}

// vsphereModules are the drivers of a vSphere VM's devices (paravirtual SCSI, vmxnet3): only in the
// bootstrap ISO's initramfs (guest/build-iso.sh), loaded on the serial transport.
var vsphereModules = []string{"vmw_pvscsi", "vmxnet3"}

// loadOnDemand loads modules the initramfs holds outside modules.order.
func loadOnDemand(names ...string) error {
	var failures []string
	for _, name := range names {
		if err := loadModule(filepath.Join(modulesDir, name+".ko")); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(failures) > 0 {
		return errors.New("module load failed: " + strings.Join(failures, "; "))
	}
	return nil
}
