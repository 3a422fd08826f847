; traps.asm: a PV guest kernel's exception entry stubs, its event and failsafe callbacks, the
; switch to and from ring 3, and probes that run instructions ring 1 may not. Handlers return
; through the iret hypercall, as a Xen PV kernel does. Policy lives in the kernel's Swift code.

bits 32
extern hypercall_page
extern guest_trap_dispatch                   ; void guest_trap_dispatch(GuestTrapFrame *)
extern guest_failsafe                        ; void guest_failsafe(uint32 *frame): never returns

%include "abi.inc"                           ; build/gen, from Sources/PVABI: selectors, error-code vectors
%define HYPERVISOR_IRET (hypercall_page + 23 * 32)

section .text

; The hypervisor's bounce frame carries an error code exactly where the CPU would push one
; (PVABI ExceptionVector.withErrorCode); every other stub pushes a 0 to keep the frame uniform.
%macro GSTUB 1
guest_trap_%1:
%if VECTOR_HAS_ERROR_CODE(%1)
%else
    push dword 0
%endif
    push dword %1
    jmp guest_trap_common
%endmacro

%assign v 0
%rep 32
GSTUB v
%assign v v + 1
%endrep
GSTUB 128                                   ; system calls from ring 3

; The event upcall: the same frame as an exception without error code, pseudo-vector 256.
global guest_event_callback
guest_event_callback:
    push dword 0
    push dword 256
    jmp guest_trap_common

; Frame (low to high): edi esi ebp esp ebx edx ecx eax | vector error | eip cs eflags [esp ss]
guest_trap_common:
    pushad
    mov eax, esp
    push eax
    call guest_trap_dispatch
    add esp, 4
    popad
    add esp, 8
    jmp HYPERVISOR_IRET                      ; pops eip cs eflags (esp ss) and the upcall mask

global guest_failsafe_callback
guest_failsafe_callback:                     ; [ds es fs gs eip cs eflags ...]: segments were bad
    mov eax, FLAT_RING1_DS                   ; the hypervisor left null selectors: load flat ones
    mov ds, ax
    mov es, ax
    push esp
    call guest_failsafe
.stop:
    jmp .stop

global guest_trap_stub_address               ; uint32 guest_trap_stub_address(uint32 vector)
guest_trap_stub_address:
    mov eax, [esp + 4]
    cmp eax, 0x80
    je .syscall
    cmp eax, 32
    jae .none
    mov eax, [guest_stub_table + eax * 4]
    ret
.syscall:
    mov eax, guest_trap_128
    ret
.none:
    xor eax, eax
    ret

global guest_event_callback_address
guest_event_callback_address:
    mov eax, guest_event_callback
    ret
global guest_failsafe_callback_address
guest_failsafe_callback_address:
    mov eax, guest_failsafe_callback
    ret

; ---- ring 3 ---------------------------------------------------------------------------------
; uint32 guest_enter_user(uint32 eip, uint32 esp): runs ring-3 code until a trap handler calls
; guest_leave_user(value); returns that value. Enters through the iret hypercall.
global guest_enter_user
guest_enter_user:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_kernel_esp], esp
    mov eax, [esp + 20]
    mov ecx, [esp + 24]
    push dword FLAT_RING3_SS                 ; ss
    push ecx                                 ; esp
    push dword 0x202                         ; eflags: IF
    push dword FLAT_RING3_CS                 ; cs
    push eax                                 ; eip
    mov eax, FLAT_RING3_DS
    mov ds, ax
    mov es, ax
    xor eax, eax
    jmp HYPERVISOR_IRET

global guest_leave_user                      ; void guest_leave_user(uint32 value): from a handler
guest_leave_user:
    mov eax, [esp + 4]
    mov esp, [saved_kernel_esp]
    mov ecx, FLAT_RING1_DS
    mov ds, cx
    mov es, cx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; ---- probes: each runs one instruction that must trap, and says whether it was resumed -------
%macro PROBE_BEGIN 1                         ; name: the instructions to probe follow
global %1
%1:
    mov dword [guest_resume], %%resume
    xor eax, eax
%define PROBE_RESUME %%resume
%endmacro
%macro PROBE_END 0
    mov dword [guest_resume], 0
    ret
PROBE_RESUME:
    mov eax, 1
    ret
%endmacro

PROBE_BEGIN guest_probe_cli
    cli
PROBE_END
PROBE_BEGIN guest_probe_sti
    sti
PROBE_END
PROBE_BEGIN guest_probe_out
    mov dx, 0x80
    out dx, al
PROBE_END
PROBE_BEGIN guest_probe_hlt
    hlt
PROBE_END
PROBE_BEGIN guest_probe_mov_cr3
    mov ecx, cr3
    mov cr3, ecx
PROBE_END
global guest_probe_in8                       ; uint32 guest_probe_in8(uint32 port): 0x123456 << 8 | AL, or 1 on a fault
guest_probe_in8:
    mov edx, [esp + 4]
    mov dword [guest_resume], .resume
    mov eax, 0x12345600
    in al, dx
    mov dword [guest_resume], 0
    ret
.resume:
    mov eax, 1
    ret
global guest_probe_load_cr3                  ; uint32 guest_probe_load_cr3(uint32 value): 1 when it faulted
guest_probe_load_cr3:
    mov ecx, [esp + 4]
    mov dword [guest_resume], .resume
    xor eax, eax
    mov cr3, ecx
    mov dword [guest_resume], 0
    ret
.resume:
    mov eax, 1
    ret
PROBE_BEGIN guest_probe_lgdt
    lgdt [probe_scratch]                     ; the stack stays balanced when this is skipped
PROBE_END
PROBE_BEGIN guest_probe_int3
    int3
PROBE_END
PROBE_BEGIN guest_probe_ud2
    ud2
PROBE_END

global guest_probe_read                      ; uint32 guest_probe_read(uint32 address)
guest_probe_read:
    mov edx, [esp + 4]
    mov dword [guest_resume], .resume
    xor eax, eax
    mov ecx, [edx]
    mov dword [guest_resume], 0
    ret
.resume:
    mov eax, 1
    ret

global guest_probe_fpu                       ; uint32 guest_probe_fpu(void): an x87 instruction
guest_probe_fpu:
    fninit
    fld1
    fstp st0
    mov eax, 1
    ret

global guest_take_resume                     ; uint32 guest_take_resume(void): where to resume, once
guest_take_resume:
    mov eax, [guest_resume]
    mov dword [guest_resume], 0
    ret

; void guest_forced_cpuid(uint32 leaf, uint32 out[4]): Xen's forced-emulation prefix + cpuid
global guest_forced_cpuid
guest_forced_cpuid:
    push ebx
    push edi
    mov eax, [esp + 12]
    mov edi, [esp + 16]
    xor ecx, ecx
    ud2
    db "xen"
    cpuid
    mov [edi], eax
    mov [edi + 4], ebx
    mov [edi + 8], ecx
    mov [edi + 12], edx
    pop edi
    pop ebx
    ret

section .rodata
align 4
guest_stub_table:
%assign v 0
%rep 32
    dd guest_trap_ %+ v
%assign v v + 1
%endrep

section .bss
alignb 4
saved_kernel_esp: resd 1
global guest_resume
guest_resume:     resd 1
probe_scratch:    resb 8

section .text
global guest_read_fs                         ; uint32 guest_read_fs(uint32 selector, uint32 offset)
guest_read_fs:                               ; loads FS with a guest GDT selector and reads through it
    push fs
    mov eax, [esp + 8]
    mov edx, [esp + 12]
    mov fs, ax
    mov eax, [fs:edx]
    pop fs
    ret

global guest_probe_read_fs                   ; uint32 guest_probe_read_fs(uint32 selector, uint32 offset, uint32 *value)
guest_probe_read_fs:                         ; FS:offset through `selector` into *value: 0, or 1 when it faulted
    push ebx
    push fs
    mov eax, [esp + 12]
    mov edx, [esp + 16]
    mov ebx, [esp + 20]
    mov dword [guest_resume], .resume
    mov fs, ax
    mov ecx, [fs:edx]                        ; 64 8B 0A: what the 4gb_segments assist decodes
    mov dword [guest_resume], 0
    mov [ebx], ecx
    xor eax, eax
    pop fs
    pop ebx
    ret
.resume:
    mov eax, 1
    pop fs
    pop ebx
    ret

global guest_notify_stub_address             ; uint32 guest_notify_stub_address(void): vector 15's handler
guest_notify_stub_address:                   ; as Xen's 4gb_segments_notify delivers it, with an error code
    mov eax, guest_notify_15
    ret
guest_notify_15:
    push dword 15
    jmp guest_trap_common

global guest_read_cr3                        ; uint32 guest_read_cr3(void): mov from cr3 (the hypervisor emulates it)
guest_read_cr3:
    mov eax, cr3
    ret

global guest_load_fs                         ; void guest_load_fs(uint32 selector): and leave it there
guest_load_fs:
    mov eax, [esp + 4]
    mov fs, ax
    ret

global guest_divide                          ; uint32 guest_divide(uint32 a, uint32 b)
guest_divide:
    mov eax, [esp + 4]
    xor edx, edx
    div dword [esp + 8]
    ret

global guest_store32                         ; void guest_store32(uint32 address, uint32 value): mov [edx], eax
guest_store32:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    ret

global guest_xchg32                          ; uint32 guest_xchg32(uint32 *p, uint32 v): atomic
guest_xchg32:
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    xchg [edx], eax
    ret

global guest_test_and_clear_bit              ; uint32 guest_test_and_clear_bit(uint32 *words, uint32 bit)
guest_test_and_clear_bit:
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
    xor eax, eax
    lock btr [edx], ecx
    setc al
    ret

global guest_rdtsc                           ; uint64 guest_rdtsc(void)
guest_rdtsc:
    rdtsc
    ret

; void guest_compiler_barrier(void): a call the compiler cannot see through, so loads and stores of
; shared ring memory stay on their side of it (x86 keeps stores in order; the CPU needs no fence).
global guest_compiler_barrier
guest_compiler_barrier:
    ret

global guest_probe_write                     ; uint32 guest_probe_write(uint32 address, uint32 value)
guest_probe_write:
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
    mov dword [guest_resume], .resume
    xor eax, eax
    mov [edx], ecx
    mov dword [guest_resume], 0
    ret
.resume:
    mov eax, 1
    ret

global guest_probe_load_ds                   ; uint32 guest_probe_load_ds(uint32 selector)
guest_probe_load_ds:
    mov edx, [esp + 4]
    mov dword [guest_resume], .resume
    xor eax, eax
    push ds
    mov ds, dx
    pop ds
    mov dword [guest_resume], 0
    ret
.resume:
    pop ds
    mov eax, 1
    ret

global guest_probe_jump                      ; uint32 guest_probe_jump(uint32 target): call into it
guest_probe_jump:
    mov edx, [esp + 4]
    mov dword [guest_resume], .resume
    xor eax, eax
    call edx
    mov dword [guest_resume], 0
    ret
.resume:
    mov eax, 1
    ret

; ---- FPU isolation: a domain fills its x87 and SSE registers with its own pattern, and later checks
; ---- them; the hypervisor must keep them whatever other domains did with the FPU in between.
section .bss
alignb 16
fpu_pattern: resb 16
fpu_readback: resb 16
section .text
global guest_fpu_fill                        ; void guest_fpu_fill(uint32 seed): xmm0-7 and st0 from seed
guest_fpu_fill:
    mov eax, [esp + 4]
    mov [fpu_pattern], eax
    not eax
    mov [fpu_pattern + 4], eax
    mov eax, [esp + 4]
    ror eax, 8
    mov [fpu_pattern + 8], eax
    xor eax, 0x5a5a5a5a
    mov [fpu_pattern + 12], eax
    movups xmm0, [fpu_pattern]
    movups xmm1, [fpu_pattern]
    movups xmm2, [fpu_pattern]
    movups xmm3, [fpu_pattern]
    movups xmm4, [fpu_pattern]
    movups xmm5, [fpu_pattern]
    movups xmm6, [fpu_pattern]
    movups xmm7, [fpu_pattern]
    fninit
    fild dword [esp + 4]
    ret
%macro FPU_CHECK_XMM 1
    movups [fpu_readback], %1
    mov esi, fpu_pattern
    mov edi, fpu_readback
    mov ecx, 4
    repe cmpsd
    setne dl
    add al, dl
%endmacro
global guest_fpu_check                       ; uint32 guest_fpu_check(uint32 seed): registers that changed (0 = all kept)
guest_fpu_check:
    push esi
    push edi
    xor eax, eax
    xor edx, edx
    FPU_CHECK_XMM xmm0
    FPU_CHECK_XMM xmm1
    FPU_CHECK_XMM xmm2
    FPU_CHECK_XMM xmm3
    FPU_CHECK_XMM xmm4
    FPU_CHECK_XMM xmm5
    FPU_CHECK_XMM xmm6
    FPU_CHECK_XMM xmm7
    fist dword [fpu_readback]                ; st0 stays
    mov ecx, [fpu_readback]
    cmp ecx, [esp + 12]
    setne dl
    add al, dl
    pop edi
    pop esi
    ret

; ---- make bench's Xen-comparable int3 row: the least a PV kernel's #BP handler can be ------------
section .text
global guest_bench_bp_handler                ; a #BP handler that only returns, through the iret hypercall
guest_bench_bp_handler:
    jmp HYPERVISOR_IRET
global guest_int3                            ; void guest_int3(void): one int3, resumed after it
guest_int3:
    int3
    ret

; ---- the iret hypercall the old way: `int 0x82` with EAX = 23 (the hypercall page's iret slot has
; its own gate since; this keeps the table's path exercised) -------------------------------------
global guest_bp_iret_by_number               ; a #BP handler that counts, then returns through int 0x82
guest_bp_iret_by_number:
    inc dword [bp_iret_by_number_hits]
    push eax
    mov eax, 23
    int HYPERCALL_VECTOR
global guest_bp_iret_by_number_hits          ; uint32 guest_bp_iret_by_number_hits(void)
guest_bp_iret_by_number_hits:
    mov eax, [bp_iret_by_number_hits]
    ret
section .bss
bp_iret_by_number_hits: resd 1
section .text
