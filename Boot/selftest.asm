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
