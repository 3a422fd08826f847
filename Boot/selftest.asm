; selftest.asm: deliberate faults for the hypervisor's exception self-test.
; Each routine raises one exception at a labelled instruction and lists (fault, fixup) in the
; exception table, so the trap handler can resume it. They must never be called outside a test.

section .text
bits 32

%macro EXTABLE 2
section .apus_extable
    dd %1, %2
section .text
%endmacro

global selftest_raise_ud                     ; uint32 selftest_raise_ud(void): returns 1 when fixed up
selftest_raise_ud:
    xor eax, eax
.fault:
    ud2
    ret
.fixup:
    mov eax, 1
    ret
EXTABLE selftest_raise_ud.fault, selftest_raise_ud.fixup

global selftest_raise_de                     ; uint32 selftest_raise_de(uint32 dividend)
selftest_raise_de:
    mov eax, [esp + 4]
    xor edx, edx
    xor ecx, ecx
.fault:
    div ecx
    xor eax, eax
    ret
.fixup:
    mov eax, 1
    ret
EXTABLE selftest_raise_de.fault, selftest_raise_de.fixup

global selftest_raise_pf_read                ; uint32 selftest_raise_pf_read(uint32 address)
selftest_raise_pf_read:
    mov edx, [esp + 4]
    xor eax, eax
.fault:
    mov ecx, [edx]
    ret
.fixup:
    mov eax, 1
    ret
EXTABLE selftest_raise_pf_read.fault, selftest_raise_pf_read.fixup

global selftest_raise_pf_write               ; uint32 selftest_raise_pf_write(uint32 address)
selftest_raise_pf_write:
    mov edx, [esp + 4]
    xor eax, eax
.fault:
    mov dword [edx], 0x41505553
    ret
.fixup:
    mov eax, 1
    ret
EXTABLE selftest_raise_pf_write.fault, selftest_raise_pf_write.fixup

global selftest_raise_bp                     ; uint32 selftest_raise_bp(void): a trap, resumes after int3
selftest_raise_bp:
    mov eax, 1
    int3
    ret

global selftest_read_unguarded               ; uint32 selftest_read_unguarded(uint32 address): no fixup
selftest_read_unguarded:
    mov edx, [esp + 4]
    mov eax, [edx]
    ret

; ---- native baselines for make bench: each loops n times over one operation ------------------
global bench_empty_loop                      ; void bench_empty_loop(uint32 n)
bench_empty_loop:
    mov ecx, [esp + 4]
.loop:
    dec ecx
    jnz .loop
    ret

bench_nothing:
    ret

global bench_call_ret                        ; void bench_call_ret(uint32 n): call/ret round trips
bench_call_ret:
    push ebx
    mov ebx, [esp + 8]
.loop:
    call bench_nothing
    dec ebx
    jnz .loop
    pop ebx
    ret

global bench_int_iret                        ; void bench_int_iret(uint32 n): int 0x81 / iretd in ring 0
bench_int_iret:
    mov ecx, [esp + 4]
.loop:
    int 0x81
    dec ecx
    jnz .loop
    ret

global bench_iret_stub                       ; the vector-0x81 handler: straight back
bench_iret_stub:
    iretd

global bench_pte_invlpg                      ; void bench_pte_invlpg(uint64 *pte, uint32 va, uint32 n)
bench_pte_invlpg:
    push ebx
    mov edx, [esp + 8]
    mov ebx, [esp + 12]
    mov ecx, [esp + 16]
.loop:
    mov eax, [edx]
    mov [edx], eax
    invlpg [ebx]
    dec ecx
    jnz .loop
    pop ebx
    ret
