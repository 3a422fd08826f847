# Makefile: the freestanding build of Apus (hypervisor image, ISO) and the ways to run it.
# `make run` boots Apus in QEMU; `make test` runs the host tests and every QEMU scenario.
# Both install what is missing first (`make deps`). Flags are pinned here and nowhere else.

BUILD      := build
TARGET     := i686-unknown-none-elf
SWIFTC     ?= swiftc
NASM       ?= nasm
CLANG      ?= clang
# LLVM IR from swiftc is read by the clang of the same toolchain.
SWIFT_CLANG = $(dir $(shell command -v $(SWIFTC)))clang
LD_LLD     ?= ld.lld
QEMU       ?= qemu-system-x86_64
QEMU_DEBUG ?= qemu-system-i386
GDB        ?= gdb
GDB_PORT   ?= 1234
MEMORY     ?= 256
# DEBUGINFO=1 adds DWARF line and variable information to every object (swiftc/clang -g, nasm -g -F
# dwarf). It moves a few instructions (a stack adjustment split in two, `addl $4, %esp` for
# `popl %ecx`), so it is a build of its own, in build/debug (make debug, make gdb, the gdb test);
# build/ stays as it was, and make bench measures it.
DEBUGINFO  ?=
DEBUG_G    := $(if $(DEBUGINFO),-g)
DEBUG_NASM := $(if $(DEBUGINFO),-g -F dwarf)
SCENARIOS  := boot exceptions panic dom0 memory domains devices hostile churn shell shell-devices debugkeys crash-nohandler crash-bounce crash-return crash-shutdown fuzz fuzz-dom0 minios minios-test minios-blk minios-net linux linux-shell linux-twice netdemo conformance linux-io
SCENARIOS  += http smp-guest

SWIFTFLAGS := -target $(TARGET) -enable-experimental-feature Embedded \
              -enable-experimental-feature Extern -wmo -Osize -parse-as-library \
              -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
              -Xcc -march=i686 -I $(BUILD)/swift $(DEBUG_G)
CFLAGS     := -target $(TARGET) -ffreestanding -fno-pic -fno-stack-protector -march=i686 \
              -mno-sse -mno-mmx -O2 -Wall -Werror $(DEBUG_G)
# The hypervisor's modules are optimized for speed at the Swift level too (-O inlines the trap
# path's closures and small calls that -Osize keeps out of line); guests keep -Osize.
HV_SWIFTFLAGS := $(subst -Osize,-O,$(SWIFTFLAGS))
IRFLAGS    := -target $(TARGET) -fno-pic -O2 -ffunction-sections -Wno-override-module
NASMFLAGS  := -f elf32 $(DEBUG_NASM) -I Boot/ -I $(BUILD)/gen/
GUEST_NASMFLAGS := -f elf32 $(DEBUG_NASM) -I $(BUILD)/gen/
LIBGCC      = $(shell gcc -m32 -print-libgcc-file-name)

PVABI_SRC    := $(sort $(wildcard Sources/PVABI/*.swift))
CORE_SRC     := $(sort $(shell find Sources/ApusCore -name '*.swift'))
APUS_SRC     := $(sort $(shell find Sources/Apus -name '*.swift')) $(BUILD)/gen/BuildInfo.swift
ASM_SRC      := $(sort $(wildcard Boot/*.asm))
C_SRC        := $(sort $(wildcard Boot/*.c))
ASM_OBJ      := $(patsubst Boot/%.asm,$(BUILD)/boot/%.o,$(ASM_SRC))
C_OBJ        := $(patsubst Boot/%.c,$(BUILD)/boot/%.o,$(C_SRC))
GUESTKIT_SRC := $(sort $(shell find Sources/GuestKit -name '*.swift'))
GUESTKIT_ASM := $(filter-out Sources/GuestKit/Asm/no-user.asm,$(sort $(wildcard Sources/GuestKit/Asm/*.asm)))
DOM0_SRC     := $(sort $(shell find Sources/Dom0 -name '*.swift'))
DOM0_ASM     := $(sort $(wildcard Sources/Dom0/Asm/*.asm))
GUEST_RT     := $(BUILD)/boot/memory.o $(BUILD)/guest/heap.o
GUESTKIT_OBJ := $(patsubst Sources/GuestKit/Asm/%.asm,$(BUILD)/guest/guestkit-%.o,$(GUESTKIT_ASM))
DOM0_ASM_OBJ := $(patsubst Sources/Dom0/Asm/%.asm,$(BUILD)/guest/dom0-%.o,$(DOM0_ASM))
GUESTS       := spinner pingpong clock hostile fuzz netdemo smp
GUEST_ELFS   := $(foreach g,$(GUESTS),$(BUILD)/guests/$(g).elf)
# Mini-OS, Xen's own PV kernel, unmodified (../shared/guests/mini-os): in the initrd when present;
# the scenarios that run it refuse to build without it.
MINIOS_DIR   := ../shared/guests/mini-os
MINIOS_ELFS  := $(wildcard $(MINIOS_DIR)/mini-os.elf $(MINIOS_DIR)/mini-os-test.elf)
# The debug build's initrd carries the domU kernels without their DWARF (gdb reads build/debug/guests).
INITRD_GUESTS := $(if $(DEBUGINFO),$(foreach g,$(GUESTS),$(BUILD)/stripped/$(g).elf),$(GUEST_ELFS))
INITRD_FILES := $(sort $(wildcard Tests/Initrd/*)) $(INITRD_GUESTS) $(MINIOS_ELFS)
# Linux 5.4 (i386 PAE PV, unmodified) and its busybox initramfs (../shared/guests/linux): 4.6 MB, so
# only the linux scenario's initrd holds them, with their configuration (Tests/InitrdLinux); the
# other scenarios' initrd stays as it was.
LINUX_DIR    := ../shared/guests/linux
LINUX_FILES  := $(sort $(wildcard Tests/InitrdLinux/*)) $(LINUX_DIR)/vmlinux-5.4.286-pv32pae $(LINUX_DIR)/initramfs-busybox.cpio.gz
# linux-shell and linux-twice share one initrd: the same kernel, with the given initramfs whose /init
# keeps a shell on hvc0 (Tests/InitrdLinuxShell/initramfs laid over it), and their configurations.
LINUX_SHELL_OVERLAY := $(shell find Tests/InitrdLinuxShell/initramfs -type f 2>/dev/null)
LINUX_SHELL_FILES   := $(sort $(wildcard Tests/InitrdLinuxShell/*.cfg)) $(LINUX_DIR)/vmlinux-5.4.286-pv32pae $(BUILD)/initramfs-shell.cpio.gz
# linux-io: the same kernel with the given initramfs whose /init is the test's own (disk, udhcpc, the
# netdemo domU; Tests/InitrdLinuxIO/initramfs laid over it), beside a netdemo domU, and their configurations.
LINUX_IO_OVERLAY := $(shell find Tests/InitrdLinuxIO/initramfs -type f 2>/dev/null)
LINUX_IO_FILES   := $(sort $(wildcard Tests/InitrdLinuxIO/*.cfg)) $(LINUX_DIR)/vmlinux-5.4.286-pv32pae $(BUILD)/initramfs-io.cpio.gz

.PHONY: FORCE all iso run test test-host test-qemu test-bochs bench bench-http profile fuzz debug debug-build gdb test-gdb deps clean
all: iso
iso: $(BUILD)/apus.iso

deps:
	@Scripts/deps.sh
	@Scripts/fetch-lwip.sh $(LWIP_DIR)

# ---- Swift modules, one object each, in dependency order --------------------------------
# swiftc keeps an output file's old time when its bytes did not change; the touches keep make's
# view right, so a module is rebuilt when the module it imports changed and never otherwise.
# The hypervisor's modules go through LLVM IR so that clang compiles them without PIC (swiftc
# has no switch for it: every function that touched a global set up the GOT first) and for speed:
# swiftc's -Osize marks every function minsize, which turns each small struct copy or clear into
# a byte-wise `rep movsb`/`rep stosb` (one counted instruction per byte); dropping the marks lets
# clang -O2 emit plain moves. make bench shows what it buys; the image grows by about 120 KiB.
$(BUILD)/swift/PVABI.o: $(PVABI_SRC) Makefile
	@mkdir -p $(@D)
	$(SWIFTC) $(HV_SWIFTFLAGS) -module-name PVABI -emit-module -emit-module-path $(BUILD)/swift/PVABI.swiftmodule -emit-ir $(PVABI_SRC) -o $(@:.o=.ll)
	sed -i -E '/^attributes #/s/ (minsize|optsize)//g' $(@:.o=.ll)
	$(SWIFT_CLANG) $(IRFLAGS) -c $(@:.o=.ll) -o $@
	@touch $@ $(BUILD)/swift/PVABI.swiftmodule

$(BUILD)/swift/ApusCore.o: $(CORE_SRC) $(BUILD)/swift/PVABI.o
	$(SWIFTC) $(HV_SWIFTFLAGS) -module-name ApusCore -emit-module -emit-module-path $(BUILD)/swift/ApusCore.swiftmodule -emit-ir $(CORE_SRC) -o $(@:.o=.ll)
	sed -i -E '/^attributes #/s/ (minsize|optsize)//g' $(@:.o=.ll)
	$(SWIFT_CLANG) $(IRFLAGS) -c $(@:.o=.ll) -o $@
	@touch $@ $(BUILD)/swift/ApusCore.swiftmodule

$(BUILD)/swift/Apus.o: $(APUS_SRC) $(BUILD)/swift/ApusCore.o
	$(SWIFTC) $(HV_SWIFTFLAGS) -module-name Apus -emit-ir $(APUS_SRC) -o $(@:.o=.ll)
	sed -i -E '/^attributes #/s/ (minsize|optsize)//g' $(@:.o=.ll)
	$(SWIFT_CLANG) $(IRFLAGS) -c $(@:.o=.ll) -o $@
	@touch $@

# Build facts for xen_version: rewritten only when they change, so `make iso` stays incremental.
$(BUILD)/gen/BuildInfo.swift: FORCE
	@mkdir -p $(@D)
	@Scripts/build-info.sh > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp
FORCE:

# ---- NASM and C --------------------------------------------------------------------------
# NASM's copy of the ABI facts (Sources/PVABI) and the address map (ApusCore/AddressMap.swift),
# generated so that no number is written twice. The script keeps a file's time when unchanged.
GEN_INC     := $(BUILD)/gen/abi.inc $(BUILD)/gen/layout.inc
$(GEN_INC) &: Scripts/gen-abi-inc.py $(PVABI_SRC) Sources/ApusCore/AddressMap.swift
	@python3 Scripts/gen-abi-inc.py $(BUILD)/gen

$(BUILD)/boot/%.o: Boot/%.asm $(GEN_INC)
	@mkdir -p $(@D)
	$(NASM) $(NASMFLAGS) $< -o $@

$(BUILD)/boot/%.o: Boot/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) -c $< -o $@

# ---- Guest kernels: GuestKit, then each kernel module, linked with Linker/guest.ld ----------
$(BUILD)/swift/GuestKit.o: $(GUESTKIT_SRC) $(BUILD)/swift/ApusCore.o
	$(SWIFTC) $(SWIFTFLAGS) -module-name GuestKit -emit-module -emit-module-path $(BUILD)/swift/GuestKit.swiftmodule -c $(GUESTKIT_SRC) -o $@
	@touch $@ $(BUILD)/swift/GuestKit.swiftmodule

$(BUILD)/swift/Dom0.o: $(DOM0_SRC) $(BUILD)/swift/GuestKit.o
	$(SWIFTC) $(SWIFTFLAGS) -module-name Dom0 -c $(DOM0_SRC) -o $@
	@touch $@

$(BUILD)/guest/guestkit-%.o: Sources/GuestKit/Asm/%.asm $(GEN_INC)
	@mkdir -p $(@D)
	$(NASM) $(GUEST_NASMFLAGS) $< -o $@

$(BUILD)/guest/dom0-%.o: Sources/Dom0/Asm/%.asm $(GEN_INC)
	@mkdir -p $(@D)
	$(NASM) $(GUEST_NASMFLAGS) $< -o $@

$(BUILD)/guest/heap.o: Boot/heap.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) -DHEAP_SIZE='(256u * 1024u)' -c $< -o $@

# dom0 runs xenstored (its tree, transaction copies and reply queues) and the console backend, and keeps
# kernels uploaded over its HTTP API (up to 2 MiB, one 1 MiB body in flight): a larger heap than a
# domU's (dom0 has 64 MiB).
$(BUILD)/guest/dom0-heap.o: Boot/heap.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) -DHEAP_SIZE='(6144u * 1024u)' -c $< -o $@

DOM0_RT       = $(BUILD)/boot/memory.o $(BUILD)/guest/dom0-heap.o $(LWIP_OBJ) $(NET_GLUE_OBJ)
# ---- lwIP: dom0's TCP/IP stack, from Debian's `lwip` source package (Scripts/fetch-lwip.sh) -----------
LWIP_DIR     := $(BUILD)/lwip/src-pkg
LWIP_FILES   := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c core/netif.c \
                core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c core/tcp_out.c \
                core/timeouts.c core/udp.c core/altcp.c core/altcp_alloc.c core/altcp_tcp.c \
                core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
                core/ipv4/ip4_frag.c netif/ethernet.c
LWIP_OBJ     := $(patsubst %.c,$(BUILD)/lwip/obj/%.o,$(LWIP_FILES))
NET_GLUE_SRC := $(sort $(wildcard Sources/Dom0/Net/*.c))
NET_GLUE_OBJ := $(patsubst Sources/Dom0/Net/%.c,$(BUILD)/lwip/glue/%.o,$(NET_GLUE_SRC))
LWIP_CFLAGS  := $(filter-out -Werror,$(CFLAGS)) -nostdinc -isystem $(shell $(CLANG) -print-resource-dir)/include \
                -I Sources/Dom0/Net/include -I $(LWIP_DIR)/src/include -Wno-unused-but-set-variable
NET_HEADERS  := $(wildcard Sources/Dom0/Net/include/*.h Sources/Dom0/Net/include/arch/*.h)

$(LWIP_DIR)/src/core/tcp.c:
	Scripts/fetch-lwip.sh $(LWIP_DIR)

$(BUILD)/lwip/obj/%.o: $(NET_HEADERS) | $(LWIP_DIR)/src/core/tcp.c
	@mkdir -p $(@D)
	$(CLANG) $(LWIP_CFLAGS) -c $(LWIP_DIR)/src/$*.c -o $@

$(BUILD)/lwip/glue/%.o: Sources/Dom0/Net/%.c $(NET_HEADERS) | $(LWIP_DIR)/src/core/tcp.c
	@mkdir -p $(@D)
	$(CLANG) $(LWIP_CFLAGS) -Werror -c $< -o $@

$(BUILD)/dom0.elf: $(GUESTKIT_OBJ) $(DOM0_ASM_OBJ) $(BUILD)/swift/Dom0.o $(BUILD)/swift/GuestKit.o $(DOM0_RT) Linker/guest.ld
	$(LD_LLD) -m elf_i386 -T Linker/guest.ld --gc-sections -z noexecstack -o $@ \
	    $(GUESTKIT_OBJ) $(DOM0_ASM_OBJ) $(BUILD)/swift/Dom0.o $(BUILD)/swift/GuestKit.o \
	    $(BUILD)/swift/ApusCore.o $(BUILD)/swift/PVABI.o $(DOM0_RT) $(LIBGCC)

# domU kernels: each Sources/Guests/<Name> is one module linked like dom0.
define GUEST_RULES
$(BUILD)/swift/guest-$(1).o: $$(sort $$(wildcard Sources/Guests/$(2)/*.swift)) $(BUILD)/swift/GuestKit.o
	$$(SWIFTC) $$(SWIFTFLAGS) -module-name $(2) -c $$(sort $$(wildcard Sources/Guests/$(2)/*.swift)) -o $$@
	@touch $$@
$(BUILD)/guests/$(1).elf: $$(GUESTKIT_OBJ) $(BUILD)/swift/guest-$(1).o $(BUILD)/swift/GuestKit.o $$(or $$(GUEST_RT_$(1)),$$(GUEST_RT)) Linker/guest.ld $(BUILD)/guest/no-user.o
	@mkdir -p $$(@D)
	$$(LD_LLD) -m elf_i386 -T Linker/guest.ld --gc-sections -z noexecstack -o $$@ \
	    $$(GUESTKIT_OBJ) $(BUILD)/guest/no-user.o $(BUILD)/swift/guest-$(1).o $(BUILD)/swift/GuestKit.o \
	    $(BUILD)/swift/ApusCore.o $(BUILD)/swift/PVABI.o $$(or $$(GUEST_RT_$(1)),$$(GUEST_RT)) $$(LIBGCC)
endef
# netdemo links lwIP and its glue as dom0 does, and a 1 MiB heap for its ring and buffer pages.
GUEST_RT_netdemo = $(BUILD)/boot/memory.o $(BUILD)/guest/netdemo-heap.o $(LWIP_OBJ) $(NET_GLUE_OBJ)
$(BUILD)/guest/netdemo-heap.o: Boot/heap.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) -DHEAP_SIZE='(1024u * 1024u)' -c $< -o $@
$(eval $(call GUEST_RULES,spinner,Spinner))
$(eval $(call GUEST_RULES,pingpong,PingPong))
$(eval $(call GUEST_RULES,clock,Clock))
$(eval $(call GUEST_RULES,hostile,Hostile))
$(eval $(call GUEST_RULES,fuzz,Fuzz))
$(eval $(call GUEST_RULES,netdemo,NetDemo))
$(eval $(call GUEST_RULES,smp,Smp))

# domUs have no ring-3 program; GuestKit's layout still names an entry for one.
$(BUILD)/guest/no-user.o: Sources/GuestKit/Asm/no-user.asm $(GEN_INC)
	@mkdir -p $(@D)
	$(NASM) $(GUEST_NASMFLAGS) $< -o $@

$(BUILD)/stripped/%.elf: $(BUILD)/guests/%.elf
	@mkdir -p $(@D)
	objcopy --strip-debug $< $@

# dom0's initrd: a newc cpio archive of the domU kernels and the files in Tests/Initrd (configs).
$(BUILD)/initrd.cpio: Scripts/mkcpio.py $(INITRD_FILES)
	@mkdir -p $(@D)
	python3 Scripts/mkcpio.py $@ $(INITRD_FILES)

$(BUILD)/initrd-linux.cpio: Scripts/mkcpio.py $(INITRD_FILES) $(wildcard Tests/InitrdLinux/*) | linux-present
	@mkdir -p $(@D)
	python3 Scripts/mkcpio.py $@ $(INITRD_FILES) $(LINUX_FILES)

# The given initramfs with the shell's /init laid over it (Python's standard library: gzip, newc cpio).
$(BUILD)/initramfs-shell.cpio.gz: Scripts/repack-initramfs.py $(LINUX_SHELL_OVERLAY) $(wildcard $(LINUX_DIR)/initramfs-busybox.cpio.gz) | linux-present
	@mkdir -p $(@D)
	python3 Scripts/repack-initramfs.py $(LINUX_DIR)/initramfs-busybox.cpio.gz $@ Tests/InitrdLinuxShell/initramfs

$(BUILD)/initrd-linux-shell.cpio: Scripts/mkcpio.py $(INITRD_FILES) $(wildcard $(LINUX_SHELL_FILES)) $(BUILD)/initramfs-shell.cpio.gz | linux-present
	@mkdir -p $(@D)
	python3 Scripts/mkcpio.py $@ $(INITRD_FILES) $(LINUX_SHELL_FILES)

$(BUILD)/initramfs-io.cpio.gz: Scripts/repack-initramfs.py $(LINUX_IO_OVERLAY) $(wildcard $(LINUX_DIR)/initramfs-busybox.cpio.gz) | linux-present
	@mkdir -p $(@D)
	python3 Scripts/repack-initramfs.py $(LINUX_DIR)/initramfs-busybox.cpio.gz $@ Tests/InitrdLinuxIO/initramfs

$(BUILD)/initrd-linux-io.cpio: Scripts/mkcpio.py $(INITRD_FILES) $(wildcard $(LINUX_IO_FILES)) $(BUILD)/initramfs-io.cpio.gz | linux-present
	@mkdir -p $(@D)
	python3 Scripts/mkcpio.py $@ $(INITRD_FILES) $(LINUX_IO_FILES)

# ---- The image and the ISOs --------------------------------------------------------------
$(BUILD)/apus.elf: $(ASM_OBJ) $(C_OBJ) $(BUILD)/swift/PVABI.o $(BUILD)/swift/ApusCore.o $(BUILD)/swift/Apus.o Linker/apus.ld
	$(LD_LLD) -m elf_i386 -T Linker/apus.ld --gc-sections -z noexecstack -o $@ \
	    $(ASM_OBJ) $(C_OBJ) $(BUILD)/swift/PVABI.o $(BUILD)/swift/ApusCore.o $(BUILD)/swift/Apus.o $(LIBGCC)

# An ISO for a command line: build/apus.iso boots normally, build/test-NAME.iso runs a scenario.
ISO_INPUTS := $(BUILD)/apus.elf $(BUILD)/dom0.elf $(BUILD)/initrd.cpio Scripts/make-iso.sh
$(BUILD)/apus.iso: $(ISO_INPUTS)
	Scripts/make-iso.sh $@ ""

$(BUILD)/test-%.iso: $(ISO_INPUTS)
	Scripts/make-iso.sh $@ "$*"
# A scenario's Tests/Scenarios/NAME.cmdline adds words to the hypervisor's command line.
$(BUILD)/test-debugkeys.iso: Tests/Scenarios/debugkeys.cmdline

# minios and minios-test boot Mini-OS from the initrd (http creates it through the API to test its console
# endpoint, and uploads it over the API): without ../shared/guests/mini-os they stop here.
$(BUILD)/test-minios.iso $(BUILD)/test-minios-test.iso $(BUILD)/test-minios-blk.iso $(BUILD)/test-minios-net.iso $(BUILD)/test-bench-devices.iso $(BUILD)/test-http.iso: | minios-present
.PHONY: minios-present
minios-present:
	@test -f $(MINIOS_DIR)/mini-os.elf -a -f $(MINIOS_DIR)/mini-os-test.elf || { \
	    echo "The Mini-OS scenarios need $(MINIOS_DIR)/mini-os.elf and mini-os-test.elf (Xen's unmodified Mini-OS builds; see ../shared/guests/mini-os/README.md), and that folder is missing."; exit 1; }

# make bench's whole-guest row boots Linux on its own: its ISO carries the Linux initrd.
$(BUILD)/test-bench-linux.iso: $(BUILD)/apus.elf $(BUILD)/dom0.elf $(BUILD)/initrd-linux.cpio Scripts/make-iso.sh | linux-present
	Scripts/make-iso.sh $@ bench-linux $(BUILD)/initrd-linux.cpio

# linux boots Linux from its own initrd: without ../shared/guests/linux it stops here.
$(BUILD)/test-linux.iso: $(BUILD)/apus.elf $(BUILD)/dom0.elf $(BUILD)/initrd-linux.cpio Scripts/make-iso.sh | linux-present
	Scripts/make-iso.sh $@ linux $(BUILD)/initrd-linux.cpio

# linux-shell (a shell on Linux's hvc0, typed into through `console`) and linux-twice (two Linux domUs
# beside the clock domain) boot Linux from their own initrd: without ../shared/guests/linux they stop here.
$(BUILD)/test-linux-shell.iso $(BUILD)/test-linux-twice.iso: $(BUILD)/test-linux-%.iso: $(BUILD)/apus.elf $(BUILD)/dom0.elf $(BUILD)/initrd-linux-shell.cpio Scripts/make-iso.sh | linux-present
	Scripts/make-iso.sh $@ linux-$* $(BUILD)/initrd-linux-shell.cpio
# linux-io (Linux's blkfront and netfront beside a netdemo domU) boots Linux from its own initrd too.
$(BUILD)/test-linux-io.iso: $(BUILD)/apus.elf $(BUILD)/dom0.elf $(BUILD)/initrd-linux-io.cpio Scripts/make-iso.sh | linux-present
	Scripts/make-iso.sh $@ linux-io $(BUILD)/initrd-linux-io.cpio
.PHONY: linux-present
linux-present:
	@test -f $(LINUX_DIR)/vmlinux-5.4.286-pv32pae -a -f $(LINUX_DIR)/initramfs-busybox.cpio.gz || { \
	    echo "The linux scenarios need $(LINUX_DIR)/vmlinux-5.4.286-pv32pae and initramfs-busybox.cpio.gz (an unmodified Linux 5.4 built as a 32-bit PAE Xen PV guest; see ../shared/guests/linux/README.md), and that folder is missing."; exit 1; }

# fuzz-dom0 boots the fuzz kernel as dom0 (make-iso.sh picks it for that scenario).
$(BUILD)/test-fuzz-dom0.iso: $(BUILD)/guests/fuzz.elf

# ---- Running -----------------------------------------------------------------------------
# dom0 gets a virtio disk (DISK=path picks one; the default is a small image the build makes) and a
# virtio network card on QEMU's user network, with host port 5555 forwarded to dom0's port 7, 5556
# to port 7 of 10.0.2.16 (the first domU that takes a DHCP lease through dom0's bridge: netdemo's echo)
# and 8080 to dom0's HTTP API (80).
DISK       ?= $(BUILD)/disk.img
DEVICES    := -drive file=$(DISK),if=none,id=d0,format=raw -device virtio-blk-pci,drive=d0,disable-legacy=on \
              -netdev user,id=n0,hostfwd=tcp:127.0.0.1:5555-:7,hostfwd=tcp:127.0.0.1:5556-10.0.2.16:7,hostfwd=tcp:127.0.0.1:8080-:80 -device virtio-net-pci,netdev=n0,disable-legacy=on

$(BUILD)/disk.img: Scripts/make-disk.py
	python3 Scripts/make-disk.py $@

# make run: Scripts/run.sh makes an API token, boots with it on dom0's command line (build/run.iso) and
# prints it with a curl line for the API on 127.0.0.1:8080; a host port in use is left unforwarded.
run: deps iso $(DISK)
	@Scripts/run.sh "$(QEMU)" "$(MEMORY)" "$(DISK)" "$(BUILD)"

# The debug build (DEBUGINFO=1) in build/debug: its images carry DWARF, its ISO stripped copies.
# make debug runs it halted under qemu-system-i386, whose gdb stub speaks the 32-bit registers gdb's
# i386 architecture expects (qemu-system-x86_64's sends 64-bit ones: "'g' packet reply is too long").
DEBUG_BUILD := $(BUILD)/debug
debug-build: deps
	@$(MAKE) --no-print-directory BUILD=$(DEBUG_BUILD) DEBUGINFO=1 LWIP_DIR=$(LWIP_DIR) \
	    $(DEBUG_BUILD)/apus.iso $(if $(DEBUG_SCENARIO),$(DEBUG_BUILD)/test-$(DEBUG_SCENARIO).iso)

debug: debug-build $(DISK)
	@echo "QEMU is halted with a gdb stub on :$(GDB_PORT). In another terminal, from this directory:"
	@echo "  make gdb        (gdb -x Scripts/apus.gdb: the hypervisor's and dom0's symbols, apus-guest for a domU's, and the apus-* commands)"
	@echo "or, by hand:"
	@echo "  gdb -ex 'set architecture i386' -ex 'file $(DEBUG_BUILD)/apus.elf' -ex 'target remote :$(GDB_PORT)'"
	$(QEMU_DEBUG) -m $(MEMORY) -cdrom $(DEBUG_BUILD)/$(if $(DEBUG_SCENARIO),test-$(DEBUG_SCENARIO),apus).iso -boot d \
	    -display none -serial mon:stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
	    $(DEVICES) -gdb tcp::$(GDB_PORT) -S

# The gdb test alone (make test runs it too): the debug build of the dom0 scenario, then Scripts/gdb-test.sh.
test-gdb: DEBUG_SCENARIO := dom0
test-gdb: debug-build
	@Scripts/gdb-test.sh

gdb:
	APUS_GDB_PORT=$(GDB_PORT) $(GDB) -q -x Scripts/apus.gdb

test: deps
	@Scripts/test-all.sh $(SCENARIOS)

test-host:
	swift test

test-qemu: deps $(foreach s,$(SCENARIOS),$(BUILD)/test-$(s).iso)
	@Scripts/run-scenarios.sh $(SCENARIOS)

# Instructions per operation under -icount shift=0, against native ring-0 baselines: two runs.
bench: deps $(BUILD)/test-bench.iso $(BUILD)/test-bench-linux.iso $(BUILD)/test-bench-devices.iso $(BUILD)/test-bench-http.iso
	@mkdir -p $(BUILD)/logs
	@python3 Scripts/bench.py

# make bench's HTTP API rows alone (issue #15): two boots driven by a host client through hostfwd.
bench-http: deps $(BUILD)/test-bench-http.iso
	@mkdir -p $(BUILD)/logs
	@python3 Scripts/bench-http.py

# Where the hypervisor's instructions go: a QEMU plugin counts every executed address of a scenario
# (the bench by default); PROFILE_ARGS passes options, e.g. --trace 'XenVersionHypercall.*run'.
$(BUILD)/host/pcprof.so: Tools/profile/pcprof.c
	@mkdir -p $(@D)
	cc -O2 -Wall -Werror -shared -fPIC -o $@ $<

PROFILE_ARGS ?=
profile: deps $(BUILD)/host/pcprof.so $(BUILD)/test-bench.iso
	@python3 Scripts/profile.py $(PROFILE_ARGS)

# Isolation on a CPU that enforces segment limits: the hostile scenario under Bochs.
test-bochs: deps $(BUILD)/test-hostile.iso
	@Scripts/run-bochs.sh hostile

# The coverage-guided fuzzer over every ApusCore parser of guest bytes (libFuzzer); what it finds
# new is merged into Tests/Fuzz/corpus, which `make test` replays. FUZZ_SECONDS sets the time.
FUZZ_SECONDS ?= 600
fuzz: deps
	@Scripts/fuzz.sh run $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
