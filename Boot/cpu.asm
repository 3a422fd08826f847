; cpu.asm: single privileged instructions Swift cannot express, each a cdecl function.
; Every routine does exactly one thing and keeps no state; callers own the policy.

%include "layout.inc"

section .text
bits 32

%macro FN 1
global %1
%1:
%endmacro

FN port_out8                                 ; void port_out8(uint16 port, uint8 value)
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, al
    ret
FN port_out16
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, ax
    ret
FN port_out32
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, eax
    ret
FN port_in8                                  ; uint8 port_in8(uint16 port)
    mov edx, [esp + 4]
    xor eax, eax
    in al, dx
    ret
FN port_in16
    mov edx, [esp + 4]
    xor eax, eax
    in ax, dx
    ret
FN port_in32
    mov edx, [esp + 4]
    in eax, dx
    ret

FN cpu_read_cr0
    mov eax, cr0
    ret
FN cpu_write_cr0
    mov eax, [esp + 4]
    mov cr0, eax
    ret
FN cpu_read_cr2
    mov eax, cr2
    ret
FN cpu_read_cr3
    mov eax, cr3
    ret
FN cpu_write_cr3
    mov eax, [esp + 4]
    mov cr3, eax
    ret
FN cpu_read_cr4
    mov eax, cr4
    ret
FN cpu_write_cr4
    mov eax, [esp + 4]
    mov cr4, eax
    ret
FN cpu_fxsave                                ; void cpu_fxsave(void *area): 512 bytes, 16-aligned
    mov eax, [esp + 4]
    fxsave [eax]
    ret
FN cpu_fxrstor                               ; void cpu_fxrstor(const void *area)
    mov eax, [esp + 4]
    fxrstor [eax]
    ret
FN cpu_fninit                                ; void cpu_fninit(void): the x87 unit to its reset state
    fninit
    ret
FN cpu_clts                                  ; void cpu_clts(void): clear CR0.TS
    clts
    ret
FN cpu_invlpg                                ; void cpu_invlpg(uint32 va)
    mov eax, [esp + 4]
    invlpg [eax]
    ret
FN cpu_read_eflags
    pushfd
    pop eax
    ret
FN cpu_enable_interrupts
    sti
    ret
FN cpu_disable_interrupts
    cli
    ret
FN cpu_halt                                  ; one sti;hlt window: an interrupt ends it
    sti
    hlt
    cli
    ret
FN cpu_rdtsc                                 ; uint64 cpu_rdtsc(void), edx:eax
    rdtsc
    ret
FN cpu_rdmsr                                 ; uint64 cpu_rdmsr(uint32 msr)
    mov ecx, [esp + 4]
    rdmsr
    ret
FN cpu_rdmsr_safe                            ; int32 cpu_rdmsr_safe(uint32 msr, uint64 *value): 0, or -1 when
    mov ecx, [esp + 4]                       ; the CPU has no such MSR (its #GP resumes at .fault through
.read:                                       ; the exception table, never as a hypervisor fault)
    rdmsr
    mov ecx, [esp + 8]
    mov [ecx], eax
    mov [ecx + 4], edx
    xor eax, eax
    ret
.fault:
    mov eax, -1
    ret
section .apus_extable
    dd cpu_rdmsr_safe.read, cpu_rdmsr_safe.fault
section .text
FN cpu_wrmsr                                 ; void cpu_wrmsr(uint32 msr, uint32 lo, uint32 hi)
    mov ecx, [esp + 4]
    mov eax, [esp + 8]
    mov edx, [esp + 12]
    wrmsr
    ret
FN cpu_cpuid                                 ; void cpu_cpuid(uint32 leaf, uint32 sub, uint32 out[4])
    push ebx
    push edi
    mov eax, [esp + 12]
    mov ecx, [esp + 16]
    mov edi, [esp + 20]
    cpuid
    mov [edi], eax
    mov [edi + 4], ebx
    mov [edi + 8], ecx
    mov [edi + 12], edx
    pop edi
    pop ebx
    ret

FN cpu_load_gdt                              ; void cpu_load_gdt(uint32 base, uint16 limit, uint16 cs, uint16 ds)
    sub esp, 8
    mov eax, [esp + 12]
    mov [esp + 2], eax
    mov eax, [esp + 16]
    mov [esp], ax
    lgdt [esp]
    add esp, 8
    mov eax, [esp + 16]                      ; data selector
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov eax, [esp + 12]                      ; code selector: far return reloads CS
    pop edx                                  ; return address
    push eax
    push edx
    retf
FN cpu_load_idt                              ; void cpu_load_idt(uint32 base, uint16 limit)
    sub esp, 8
    mov eax, [esp + 12]
    mov [esp + 2], eax
    mov eax, [esp + 16]
    mov [esp], ax
    lidt [esp]
    add esp, 8
    ret
FN cpu_load_tr                               ; void cpu_load_tr(uint16 selector)
    mov eax, [esp + 4]
    ltr ax
    ret
FN cpu_load_ldt
    mov eax, [esp + 4]
    lldt ax
    ret
FN cpu_pause
    pause
    ret

; Addresses the linker script defines, handed to Swift in one table so Swift never
; needs to declare data symbols: image start/end (physical), bss, extable bounds, stacks, tables.
extern __image_phys_start, __image_phys_end, __extable_start, __extable_end
extern boot_stack_bottom, boot_stack_top, trap_stub_table, idle_pdpt, idle_l2_high
extern __text_start, __text_end, return_fault_frame
FN apus_symbol_addresses                     ; void apus_symbol_addresses(uint32 out[17])
    mov eax, [esp + 4]
    mov dword [eax + 0],  __image_phys_start
    mov dword [eax + 4],  __image_phys_end
    mov dword [eax + 8],  __extable_start
    mov dword [eax + 12], __extable_end
    mov dword [eax + 16], boot_stack_bottom
    mov dword [eax + 20], boot_stack_top
    mov dword [eax + 24], trap_stub_table
    mov dword [eax + 28], idle_pdpt
    mov dword [eax + 32], idle_l2_high
    mov dword [eax + 36], apus_gdt
    mov dword [eax + 40], apus_idt
    mov dword [eax + 44], apus_tss
    mov dword [eax + 48], mapcache_l1
    mov dword [eax + 52], __text_start
    mov dword [eax + 56], __text_end
    mov dword [eax + 60], apus_log_ring
    mov dword [eax + 64], return_fault_frame
    mov dword [eax + 68], apus_fpu_areas
    mov dword [eax + 72], vcpu_info_l1
    ret

section .bss
alignb 4096
global apus_gdt                              ; 14 guest pages + the hypervisor's reserved page
apus_gdt:    resb 15 * 4096
global apus_idt
apus_idt:    resb 256 * 8
alignb 128
global apus_tss
apus_tss:    resb 128
alignb 4096
global mapcache_l1                           ; L1 behind the mapcache window at 0xFFC00000
mapcache_l1: resb 4096
global vcpu_info_l1                          ; the 8 L1s behind the vcpu_info windows at 0xFD800000 (one page per domain and vCPU)
vcpu_info_l1: resb 8 * 4096
global apus_log_ring                         ; the dmesg ring: the last 16 KiB of console output
apus_log_ring: resb 16384
alignb 16
global apus_fpu_areas                        ; one FXSAVE area (512 bytes) per domain id (Domains.capacity, 512), then the initial state
apus_fpu_areas: resb 512 * 513

section .text
FN cpu_halt_forever                          ; never returns: interrupts off, halt, repeat
    cli
.again:
    hlt
    jmp .again
