package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

// ioctls of the kernel's random driver (include/uapi/linux/random.h).
const (
	rndAddEntropy = 0x40085203 // _IOW('R', 0x03, int[2])
	rndReseedCrng = 0x5207     // _IO('R', 0x07)
	maxSeedBytes  = 512
	bitsPerByte   = 8
	randomDevice  = "/dev/urandom"
)

// reseedRandom mixes the host's seed into the guest's entropy pool, credited, and forces the kernel's
// CRNG to reseed from it now. Every VM restored from one template starts with the template's CRNG
// state; without this, clones would hand out the same "random" bytes until the kernel's next
// scheduled reseed (up to a minute later).
func reseedRandom(seed []byte) error {
	if len(seed) == 0 {
		return nil
	}
	if len(seed) > maxSeedBytes {
		seed = seed[:maxSeedBytes]
	}
	fd, err := syscall.Open(randomDevice, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, 8+len(seed)+3)
	*(*int32)(unsafe.Pointer(&info[0])) = int32(len(seed) * bitsPerByte)
	*(*int32)(unsafe.Pointer(&info[4])) = int32(len(seed))
	copy(info[8:], seed)
	if err := ioctl(fd, rndAddEntropy, uintptr(unsafe.Pointer(&info[0]))); err != nil {
		return fmt.Errorf("RNDADDENTROPY: %w", err)
	}
	if err := ioctl(fd, rndReseedCrng, 0); err != nil {
		return fmt.Errorf("RNDRESEEDCRNG: %w", err)
	}
	return nil
}
