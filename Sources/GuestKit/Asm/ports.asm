; ports.asm: a PV guest kernel's port I/O, one instruction each (cdecl). In ring 1 each `in` or
; `out` raises #GP, which the hypervisor emulates for the ports the domain holds once the kernel has
; a virtual IOPL (physdev_op set_iopl); policy lives in the hypervisor and the caller, never here.

bits 32
section .text

%macro FN 1
global %1
%1:
%endmacro

FN guest_port_out8                           ; void guest_port_out8(uint32 port, uint32 value)
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, al
    ret
FN guest_port_out16
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, ax
    ret
FN guest_port_out32
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    out dx, eax
    ret
FN guest_port_in8                            ; uint32 guest_port_in8(uint32 port)
    mov edx, [esp + 4]
    xor eax, eax
    in al, dx
    ret
FN guest_port_in16
    mov edx, [esp + 4]
    xor eax, eax
    in ax, dx
    ret
FN guest_port_in32
    mov edx, [esp + 4]
    in eax, dx
    ret
