; entry.asm: the first instructions of a PV guest kernel, its Xen ELF notes, the hypercall page
; it asks the builder to fill, and the raw hypercall trampoline. It assumes only the Xen
; pv32pae start-of-day state (ESI = start_info, ESP = boot stack) and never an Apus shortcut.

bits 32

%macro XEN_NOTE 3                            ; type, descriptor (data directive), size of desc
    align 4
    dd 4                                     ; namesz: "Xen\0"
    dd %3                                    ; descsz
    dd %1                                    ; type
    db "Xen", 0
    %2
    align 4
%endmacro

section .note.Xen note alloc noexec nowrite align=4
    XEN_NOTE 6, {db "Apus-guest", 0, 0}, 12                    ; GUEST_OS
    XEN_NOTE 7, {db "0.1", 0}, 4                               ; GUEST_VERSION
    XEN_NOTE 5, {db "xen-3.0", 0}, 8                           ; XEN_VERSION
    XEN_NOTE 3, {dd 0}, 4                                      ; VIRT_BASE
    XEN_NOTE 4, {dd 0}, 4                                      ; PADDR_OFFSET
    XEN_NOTE 1, {dd _start}, 4                                 ; ENTRY
    XEN_NOTE 2, {dd hypercall_page}, 4                         ; HYPERCALL_PAGE
    XEN_NOTE 8, {db "generic", 0}, 8                           ; LOADER
    XEN_NOTE 9, {db "yes", 0}, 4                               ; PAE_MODE
    XEN_NOTE 10, {db "!writable_page_tables|pae_pgdir_above_4gb", 0, 0, 0}, 44   ; FEATURES

section .hypercall_page progbits alloc exec nowrite align=4096
    times 4096 db 0                          ; the builder overwrites this page with the stubs

section .guest.entry progbits alloc exec nowrite align=16
global _start
extern guest_start
extern hypercall_page
_start:
    cld
    mov esp, guest_stack_top                 ; the builder's boot stack is one page: leave it at once
    push esi                                 ; start_info (virtual)
    call guest_start
.stop:
    jmp .stop                                ; guest_start never returns

section .text
; int32 guest_hypercall(uint32 nr, uint32 a1..a5): the generic trampoline through the page.
global guest_hypercall
guest_hypercall:
    push ebx
    push esi
    push edi
    mov eax, [esp + 16]
    mov ebx, [esp + 20]
    mov ecx, [esp + 24]
    mov edx, [esp + 28]
    mov esi, [esp + 32]
    mov edi, [esp + 36]
    shl eax, 5
    add eax, hypercall_page
    call eax
    pop edi
    pop esi
    pop ebx
    ret

; int32 guest_hypercall2(uint32 nr, uint32 a1, uint32 a2) and guest_hypercall4(nr, a1..a4): the same
; trampoline for the calls that take fewer registers (most of the hot ones), saving what they do not use.
global guest_hypercall2
guest_hypercall2:
    push ebx
    mov eax, [esp + 8]
    mov ebx, [esp + 12]
    mov ecx, [esp + 16]
    shl eax, 5
    add eax, hypercall_page
    call eax
    pop ebx
    ret

global guest_hypercall4
guest_hypercall4:
    push ebx
    push esi
    mov eax, [esp + 12]
    mov ebx, [esp + 16]
    mov ecx, [esp + 20]
    mov edx, [esp + 24]
    mov esi, [esp + 28]
    shl eax, 5
    add eax, hypercall_page
    call eax
    pop esi
    pop ebx
    ret

section .bss
alignb 16
guest_stack_bottom: resb 65536               ; the kernel's own stack
guest_stack_top:
