// vsphere-inventory prints a vCenter's inventory as JSON, read through govmomi's own client (view
// manager + property collector). Tests use it to check what Bonneville's TypeScript vim25 client
// did, through an independent implementation. Usage: vsphere-inventory -u https://user:pass@host/sdk
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"reflect"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type device struct {
	Key     int32  `json:"key"`
	Type    string `json:"type"`
	Label   string `json:"label,omitempty"`
	Backing string `json:"backing,omitempty"`
	// FileName of a disk's backing; ServiceURI of a network-backed serial port; network of a NIC.
	File      string `json:"file,omitempty"`
	Parent    string `json:"parent,omitempty"`
	URI       string `json:"uri,omitempty"`
	Direction string `json:"direction,omitempty"`
	Portgroup string `json:"portgroupKey,omitempty"`
	CapacityK int64  `json:"capacityInKB,omitempty"`
}

type vm struct {
	Ref          string            `json:"ref"`
	Name         string            `json:"name"`
	PowerState   string            `json:"powerState"`
	ResourcePool string            `json:"resourcePool,omitempty"`
	Folder       string            `json:"folder,omitempty"`
	NumCPU       int32             `json:"numCPU"`
	MemoryMB     int32             `json:"memoryMB"`
	Devices      []device          `json:"devices"`
	ExtraConfig  map[string]string `json:"extraConfig"`
}

type allocation struct {
	Limit       int64  `json:"limit"`
	Reservation int64  `json:"reservation"`
	Shares      int32  `json:"shares"`
	Level       string `json:"level"`
}

type pool struct {
	Ref    string     `json:"ref"`
	Name   string     `json:"name"`
	Parent string     `json:"parent,omitempty"`
	CPU    allocation `json:"cpu"`
	Memory allocation `json:"memory"`
}

type named struct {
	Ref    string `json:"ref"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	Key    string `json:"key,omitempty"`
}

type inventory struct {
	VMs        []vm    `json:"vms"`
	Pools      []pool  `json:"pools"`
	Portgroups []named `json:"portgroups"`
	Folders    []named `json:"folders"`
}

func ref(r *types.ManagedObjectReference) string {
	if r == nil {
		return ""
	}
	return r.Value
}

func alloc(a types.ResourceAllocationInfo) allocation {
	out := allocation{}
	if a.Limit != nil {
		out.Limit = *a.Limit
	}
	if a.Reservation != nil {
		out.Reservation = *a.Reservation
	}
	if a.Shares != nil {
		out.Shares = a.Shares.Shares
		out.Level = string(a.Shares.Level)
	}
	return out
}

func describe(d types.BaseVirtualDevice) device {
	v := d.GetVirtualDevice()
	out := device{Key: v.Key, Type: reflect.TypeOf(d).Elem().Name()}
	if v.DeviceInfo != nil {
		out.Label = v.DeviceInfo.GetDescription().Label
	}
	if v.Backing != nil {
		out.Backing = reflect.TypeOf(v.Backing).Elem().Name()
	}
	switch b := v.Backing.(type) {
	case *types.VirtualDiskFlatVer2BackingInfo:
		out.File = b.FileName
		if b.Parent != nil {
			out.Parent = b.Parent.FileName
		}
	case *types.VirtualSerialPortURIBackingInfo:
		out.URI = b.ServiceURI
		out.Direction = b.Direction
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		out.Portgroup = b.Port.PortgroupKey
	case *types.VirtualEthernetCardNetworkBackingInfo:
		out.File = b.DeviceName
	}
	if disk, ok := d.(*types.VirtualDisk); ok {
		out.CapacityK = disk.CapacityInKB
	}
	return out
}

func main() {
	raw := flag.String("u", os.Getenv("VSPHERE_URL"), "SDK URL with credentials")
	flag.Parse()
	u, err := url.Parse(*raw)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		log.Fatalf("login: %v", err)
	}
	defer c.Logout(ctx)

	m := view.NewManager(c.Client)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, nil, true)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Destroy(ctx)

	inv := inventory{VMs: []vm{}, Pools: []pool{}, Portgroups: []named{}, Folders: []named{}}

	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "runtime.powerState", "resourcePool", "parent", "config"}, &vms); err != nil {
		log.Fatalf("vms: %v", err)
	}
	for _, x := range vms {
		out := vm{Ref: x.Self.Value, Name: x.Name, PowerState: string(x.Runtime.PowerState),
			ResourcePool: ref(x.ResourcePool), Folder: ref(x.Parent), Devices: []device{}, ExtraConfig: map[string]string{}}
		if x.Config != nil {
			out.NumCPU = x.Config.Hardware.NumCPU
			out.MemoryMB = x.Config.Hardware.MemoryMB
			for _, d := range x.Config.Hardware.Device {
				out.Devices = append(out.Devices, describe(d))
			}
			for _, o := range x.Config.ExtraConfig {
				ov := o.GetOptionValue()
				out.ExtraConfig[ov.Key] = fmt.Sprint(ov.Value)
			}
		}
		inv.VMs = append(inv.VMs, out)
	}

	var pools []mo.ResourcePool
	if err := v.Retrieve(ctx, []string{"ResourcePool"}, []string{"name", "parent", "config"}, &pools); err != nil {
		log.Fatalf("pools: %v", err)
	}
	for _, p := range pools {
		inv.Pools = append(inv.Pools, pool{Ref: p.Self.Value, Name: p.Name, Parent: ref(p.Parent),
			CPU: alloc(p.Config.CpuAllocation), Memory: alloc(p.Config.MemoryAllocation)})
	}

	var pgs []mo.DistributedVirtualPortgroup
	if err := v.Retrieve(ctx, []string{"DistributedVirtualPortgroup"}, []string{"name", "parent", "key"}, &pgs); err != nil {
		log.Fatalf("portgroups: %v", err)
	}
	for _, p := range pgs {
		inv.Portgroups = append(inv.Portgroups, named{Ref: p.Self.Value, Name: p.Name, Parent: ref(p.Parent), Key: p.Key})
	}

	var folders []mo.Folder
	if err := v.Retrieve(ctx, []string{"Folder"}, []string{"name", "parent"}, &folders); err != nil {
		log.Fatalf("folders: %v", err)
	}
	for _, f := range folders {
		inv.Folders = append(inv.Folders, named{Ref: f.Self.Value, Name: f.Name, Parent: ref(f.Parent)})
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(inv); err != nil {
		log.Fatal(err)
	}
}
