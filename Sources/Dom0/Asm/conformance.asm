; conformance.asm: the `conformance` scenario's probes. Ring 1: each runs one privileged instruction a PV
; kernel runs natively (control and debug registers, clts, wbinvd, rdmsr, wrmsr) with ECX = its argument
; (EDX:EAX = the value for wrmsr), stores EDX:EAX to *out and returns 0, or returns 1 when it faulted
; (the kernel's trap handler resumed it through guest_resume); the string probes run one ins/outs form;
; the step probes one emulated instruction with TF set or clear. Ring 3: two small programs that try the
; same from user mode and report what happened through int 0x80 (a ring-3 fault resumes at EDI when
; EBP holds the marker, with EAX = 0xDEAD0000 | vector << 8 | error code, set by the kernel).

bits 32
extern guest_resume

SYS_EXIT   equ 3
SYS_REPORT equ 4
USER_FAULT_MARK equ 0x600DF00D

section .text

; uint32 NAME(uint32 arg, uint64 *out, uint32 lo, uint32 hi)
%macro CPROBE 1
global %1
%1:
    push ebx
    mov dword [guest_resume], %%fault
    mov ecx, [esp + 8]
    mov eax, [esp + 16]
    mov edx, [esp + 20]
%define CPROBE_FAULT %%fault
%endmacro
%macro CPROBE_END 0
    mov dword [guest_resume], 0
    mov ecx, [esp + 12]
    mov [ecx], eax
    mov [ecx + 4], edx
    xor eax, eax
    pop ebx
    ret
CPROBE_FAULT:
    mov eax, 1
    pop ebx
    ret
%endmacro

CPROBE conf_read_cr0
    mov eax, cr0
CPROBE_END
CPROBE conf_read_cr2
    mov eax, cr2
CPROBE_END
CPROBE conf_read_cr3
    mov eax, cr3
CPROBE_END
CPROBE conf_read_cr4
    mov eax, cr4
CPROBE_END
CPROBE conf_write_cr0
    mov cr0, ecx
CPROBE_END
CPROBE conf_write_cr3
    mov cr3, ecx
CPROBE_END
CPROBE conf_write_cr4
    mov cr4, ecx
CPROBE_END
CPROBE conf_clts
    clts
CPROBE_END
CPROBE conf_wbinvd
    wbinvd
CPROBE_END
CPROBE conf_read_dr0
    mov eax, dr0
CPROBE_END
CPROBE conf_read_dr6
    mov eax, dr6
CPROBE_END
CPROBE conf_read_dr7
    mov eax, dr7
CPROBE_END
CPROBE conf_write_dr0
    mov dr0, ecx
CPROBE_END
CPROBE conf_write_dr1
    mov dr1, ecx
CPROBE_END
CPROBE conf_write_dr6
    mov dr6, ecx
CPROBE_END
CPROBE conf_write_dr7
    mov dr7, ecx
CPROBE_END
CPROBE conf_rdmsr
    rdmsr
CPROBE_END
CPROBE conf_wrmsr
    wrmsr
CPROBE_END

; ---- single step over an emulated instruction (ring 1) -------------------------------------------
; uint32 NAME(uint32 trapFlag, uint32 value): one instruction the hypervisor emulates (ECX = value, EAX = 0)
; run with EFLAGS.TF |= trapFlag (0 or 0x100: set by popfd, so the next instruction is the first stepped);
; returns the address just after it, where the guest's #DB must say it stopped, or 1 when it faulted. TF is
; cleared again after it (while the case runs the kernel's handler also clears it in every exception frame).
%macro STEPPROBE 1
global %1
%1:
    push ebx
    mov dword [guest_resume], %%fault
    mov edx, [esp + 8]
    mov ecx, [esp + 12]
    xor eax, eax
    pushfd
    or [esp], edx
    popfd
%define STEPPROBE_FAULT %%fault
%define STEPPROBE_AFTER %%after
%endmacro
%macro STEPPROBE_END 0
STEPPROBE_AFTER:
    pushfd
    and dword [esp], ~0x100
    popfd
    mov dword [guest_resume], 0
    mov eax, STEPPROBE_AFTER
    pop ebx
    ret
STEPPROBE_FAULT:
    pushfd
    and dword [esp], ~0x100
    popfd
    mov eax, 1
    pop ebx
    ret
%endmacro

STEPPROBE conf_step_read_cr0
    mov eax, cr0
STEPPROBE_END
STEPPROBE conf_step_write_cr0
    mov cr0, ecx
STEPPROBE_END
STEPPROBE conf_step_forced_cpuid                 ; Xen's forced-emulation cpuid: ud2; "xen"; cpuid
    ud2
    db 'xen'
    cpuid
STEPPROBE_END

; ---- string port I/O (ring 1) ---------------------------------------------------------------------
; uint32 NAME(uint32 port, uint32 offset, uint32 count, uint32 after[3], uint32 selector): one ins/outs with
; DX = port, ESI = EDI = offset, ECX = count (FS = selector for the override probe); after = ECX, ESI, EDI as
; the instruction left them, also when it faulted. Returns 0, or 1 when it faulted.
%macro SPROBE 1
global %1
%1:
    push esi
    push edi
    push ebx
    push fs
    mov dword [guest_resume], %%fault
    mov edx, [esp + 20]
    mov esi, [esp + 24]
    mov edi, esi
    mov ecx, [esp + 28]
%define SPROBE_FAULT %%fault
%endmacro
%macro SPROBE_END 0
    mov dword [guest_resume], 0
    xor eax, eax
    jmp %%done
SPROBE_FAULT:
    mov eax, 1
%%done:
    cld
    mov ebx, [esp + 32]
    mov [ebx], ecx
    mov [ebx + 4], esi
    mov [ebx + 8], edi
    pop fs
    pop ebx
    pop edi
    pop esi
    ret
%endmacro

SPROBE conf_rep_insb
    rep insb
SPROBE_END
SPROBE conf_rep_insw
    rep insw
SPROBE_END
SPROBE conf_insd
    insd
SPROBE_END
SPROBE conf_outsb
    outsb
SPROBE_END
SPROBE conf_rep_outsb
    rep outsb
SPROBE_END
SPROBE conf_rep_outsw
    rep outsw
SPROBE_END
SPROBE conf_rep_outsd
    rep outsd
SPROBE_END
SPROBE conf_std_rep_insb                     ; descending: EDI is the last byte's address
    std
    rep insb
    cld
SPROBE_END
SPROBE conf_fs_rep_outsw                     ; 66 F3 64 6F: outsw with rep and an FS override
    mov eax, [esp + 36]
    mov fs, ax
    db 0x66, 0xF3, 0x64, 0x6F
SPROBE_END

; ---- ring 3 -----------------------------------------------------------------------------------
section .user.text progbits alloc exec nowrite align=4096

%macro REPORT 1                              ; report(key %1, ecx)
    mov eax, SYS_REPORT
    mov ebx, %1
    int 0x80
%endmacro
%macro USER_TRY 1                            ; arm the marker: a fault resumes at %1
    mov ebp, USER_FAULT_MARK
    mov edi, %1
%endmacro

; Keys: 4 the forced cpuid's EAX, 5 its EBX, 6 mov from CR0, 7 rdmsr, 8 mov from DR7, 9 wbinvd.
global user_conf_entry
user_conf_entry:
    USER_TRY .after_cpuid
    mov eax, 0x40000000
    xor ecx, ecx
    xor ebx, ebx
    ud2
    db "xen"
    cpuid
.after_cpuid:
    push ebx
    mov ecx, eax
    REPORT 4
    pop ecx
    REPORT 5
    USER_TRY .after_cr0
    mov eax, 0x12345678
    mov eax, cr0
.after_cr0:
    mov ecx, eax
    REPORT 6
    USER_TRY .after_msr
    mov ecx, 0x10
    mov eax, 0x12345678
    rdmsr
.after_msr:
    mov ecx, eax
    REPORT 7
    USER_TRY .after_dr
    mov eax, 0x12345678
    mov eax, dr7
.after_dr:
    mov ecx, eax
    REPORT 8
    USER_TRY .after_wbinvd
    mov eax, 0x12345678
    wbinvd
.after_wbinvd:
    mov ecx, eax
    REPORT 9
    mov eax, SYS_EXIT
    mov ebx, 43
    int 0x80
.never:
    jmp .never

; Port I/O and cli/sti from ring 3 (keys 10 rep outsw of fw_cfg's selector 0 from the user stack to port
; 0x510, 13 in ax from 0xCFC: 0x1234 << 16 | the word read, 11 cli, 12 sti): 0x12345678 when the instruction ran,
; else what the kernel saw (0xDEAD0D00 for a #GP).
global user_conf_io_entry
user_conf_io_entry:
    push dword 0                             ; FW_CFG_SIGNATURE, the word outsw sends
    USER_TRY .after_outs
    mov eax, 0x12345678
    mov esi, esp
    mov edx, 0x510
    mov ecx, 1
    rep outsw
.after_outs:
    mov ecx, eax
    REPORT 10
    USER_TRY .after_in
    mov eax, 0x12340000
    mov edx, 0xCFC                           ; PCI data, CONFIG_ADDRESS left at 00:00.0 register 0
    in ax, dx
.after_in:
    mov ecx, eax
    REPORT 13
    USER_TRY .after_cli
    mov eax, 0x12345678
    cli
.after_cli:
    mov ecx, eax
    REPORT 11
    USER_TRY .after_sti
    mov eax, 0x12345678
    sti
.after_sti:
    mov ecx, eax
    REPORT 12
    mov eax, SYS_EXIT
    mov ebx, 45
    int 0x80
.never:
    jmp .never

; With CPUID faulting on: the forced cpuid is a #GP (key 4 gets what the kernel saw).
global user_conf_faulting_entry
user_conf_faulting_entry:
    USER_TRY .after
    mov eax, 0x40000000
    xor ecx, ecx
    ud2
    db "xen"
    cpuid
.after:
    mov ecx, eax
    REPORT 4
    mov eax, SYS_EXIT
    mov ebx, 44
    int 0x80
.never:
    jmp .never
