; guestaccess.asm: how the hypervisor touches guest virtual memory and enters a guest.
; Copies run under the guest's own page tables with CR0.WP set; a fault inside one is caught
; through the exception table and reported as bytes not copied, never as a hypervisor fault.
; Callers must check the range lies below HYPERVISOR_VIRT_START before calling.

bits 32
extern trap_return_to_frame

%macro EXTABLE 2
section .apus_extable
    dd %1, %2
section .text
%endmacro

section .text

global guest_copy_in                         ; uint32 guest_copy_in(void *dst, guest_va src, uint32 n)
global guest_copy_out                        ; uint32 guest_copy_out(guest_va dst, const void *src, uint32 n)
guest_copy_in:                               ; both return the number of bytes NOT copied; the
guest_copy_out:                              ; direction only says which side is the guest's
    push esi                                 ; dwords first, then the 0-3 bytes left: a 16-byte
    push edi                                 ; request is 4 moves, not 16
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    mov edx, ecx
    and edx, 3
    shr ecx, 2
    cld
.copy:
    rep movsd
    mov ecx, edx
.copybytes:
    rep movsb
    mov eax, ecx
    pop edi
    pop esi
    ret
.fault:                                      ; in the dwords: ecx dwords and edx bytes were left
    lea eax, [ecx * 4 + edx]
    pop edi
    pop esi
    ret
.faultbytes:
    mov eax, ecx
    pop edi
    pop esi
    ret
EXTABLE guest_copy_out.copy, guest_copy_out.fault
EXTABLE guest_copy_out.copybytes, guest_copy_out.faultbytes

global guest_copy_dword_in                   ; uint32 guest_copy_dword_in(void *dst, guest_va src)
global guest_copy_dword_out                  ; uint32 guest_copy_dword_out(guest_va dst, const void *src)
guest_copy_dword_in:                         ; the same for exactly 4 bytes (the commonest request:
guest_copy_dword_out:                        ; a port, a handle, a count): one load, one store;
    mov edx, [esp + 4]                       ; returns 0, or 4 when either access faulted
    mov ecx, [esp + 8]
.load:
    mov eax, [ecx]
.store:
    mov [edx], eax
    xor eax, eax
    ret
.fault:
    mov eax, 4
    ret
EXTABLE guest_copy_dword_out.load, guest_copy_dword_out.fault
EXTABLE guest_copy_dword_out.store, guest_copy_dword_out.fault

global enter_guest                           ; void enter_guest(TrapFrame *frame): never returns
enter_guest:                                 ; the frame sits at the top of the ring-0 stack
    mov esp, [esp + 4]
    jmp trap_return_to_frame

global apus_zero_page                        ; void apus_zero_page(void *page): 4 KiB, aligned
apus_zero_page:
    push edi
    mov edi, [esp + 8]
    xor eax, eax
    mov ecx, 1024
    cld
    rep stosd
    pop edi
    ret

global apus_copy_page                        ; void apus_copy_page(void *dst, const void *src)
apus_copy_page:
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, 1024
    cld
    rep movsd
    pop edi
    pop esi
    ret
