# Makefile: the freestanding build of Apus (hypervisor image, ISO) and the ways to run it.
# `make run` boots Apus in QEMU; `make test` runs the host tests and every QEMU scenario.
# Both install what is missing first (`make deps`). Flags are pinned here and nowhere else.

BUILD      := build
TARGET     := i686-unknown-none-elf
SWIFTC     ?= swiftc
NASM       ?= nasm
CLANG      ?= clang
LD_LLD     ?= ld.lld
QEMU       ?= qemu-system-x86_64
MEMORY     ?= 256
SCENARIOS  := boot exceptions panic

SWIFTFLAGS := -target $(TARGET) -enable-experimental-feature Embedded \
              -enable-experimental-feature Extern -wmo -Osize -parse-as-library \
              -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
              -Xcc -march=i686 -I $(BUILD)/swift
CFLAGS     := -target $(TARGET) -ffreestanding -fno-pic -fno-stack-protector -march=i686 \
              -mno-sse -mno-mmx -O2 -Wall -Werror
NASMFLAGS  := -f elf32 -I Boot/
LIBGCC      = $(shell gcc -m32 -print-libgcc-file-name)

PVABI_SRC    := $(sort $(wildcard Sources/PVABI/*.swift))
CORE_SRC     := $(sort $(wildcard Sources/ApusCore/*.swift))
APUS_SRC     := $(sort $(shell find Sources/Apus -name '*.swift'))
ASM_SRC      := $(sort $(wildcard Boot/*.asm))
C_SRC        := $(sort $(wildcard Boot/*.c))
ASM_OBJ      := $(patsubst Boot/%.asm,$(BUILD)/boot/%.o,$(ASM_SRC))
C_OBJ        := $(patsubst Boot/%.c,$(BUILD)/boot/%.o,$(C_SRC))

.PHONY: all iso run test test-host test-qemu debug deps clean
all: iso
iso: $(BUILD)/apus.iso

deps:
	@Scripts/deps.sh

# ---- Swift modules, one object each, in dependency order --------------------------------
$(BUILD)/swift/PVABI.o: $(PVABI_SRC) Makefile
	@mkdir -p $(@D)
	$(SWIFTC) $(SWIFTFLAGS) -module-name PVABI -emit-module -emit-module-path $(BUILD)/swift/PVABI.swiftmodule -c $(PVABI_SRC) -o $@

$(BUILD)/swift/ApusCore.o: $(CORE_SRC) $(BUILD)/swift/PVABI.o
	$(SWIFTC) $(SWIFTFLAGS) -module-name ApusCore -emit-module -emit-module-path $(BUILD)/swift/ApusCore.swiftmodule -c $(CORE_SRC) -o $@

$(BUILD)/swift/Apus.o: $(APUS_SRC) $(BUILD)/swift/ApusCore.o
	$(SWIFTC) $(SWIFTFLAGS) -module-name Apus -c $(APUS_SRC) -o $@

# ---- NASM and C --------------------------------------------------------------------------
$(BUILD)/boot/%.o: Boot/%.asm Boot/layout.inc
	@mkdir -p $(@D)
	$(NASM) $(NASMFLAGS) $< -o $@

$(BUILD)/boot/%.o: Boot/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CFLAGS) -c $< -o $@

# ---- The image and the ISOs --------------------------------------------------------------
$(BUILD)/apus.elf: $(ASM_OBJ) $(C_OBJ) $(BUILD)/swift/PVABI.o $(BUILD)/swift/ApusCore.o $(BUILD)/swift/Apus.o Linker/apus.ld
	$(LD_LLD) -m elf_i386 -T Linker/apus.ld --gc-sections -z noexecstack -o $@ \
	    $(ASM_OBJ) $(C_OBJ) $(BUILD)/swift/PVABI.o $(BUILD)/swift/ApusCore.o $(BUILD)/swift/Apus.o $(LIBGCC)

# An ISO for a command line: build/apus.iso boots normally, build/test-NAME.iso runs a scenario.
$(BUILD)/apus.iso: $(BUILD)/apus.elf Scripts/make-iso.sh
	Scripts/make-iso.sh $@ ""

$(BUILD)/test-%.iso: $(BUILD)/apus.elf Scripts/make-iso.sh
	Scripts/make-iso.sh $@ "apus.test=$*"

# ---- Running -----------------------------------------------------------------------------
run: deps iso
	@echo "Apus on QEMU: serial console below; quit with Ctrl-A then X."
	$(QEMU) -m $(MEMORY) -cdrom $(BUILD)/apus.iso -boot d -display none -serial mon:stdio -no-reboot

debug: deps iso
	@echo "QEMU is halted with a gdb stub on :1234. In another terminal:"
	@echo "  gdb -ex 'set architecture i386' -ex 'file $(BUILD)/apus.elf' -ex 'target remote :1234'"
	$(QEMU) -m $(MEMORY) -cdrom $(BUILD)/apus.iso -boot d -display none -serial mon:stdio -no-reboot -s -S

test: deps
	@Scripts/test-all.sh $(SCENARIOS)

test-host:
	swift test

test-qemu: deps $(foreach s,$(SCENARIOS),$(BUILD)/test-$(s).iso)
	@Scripts/run-scenarios.sh $(SCENARIOS)

clean:
	rm -rf $(BUILD)
