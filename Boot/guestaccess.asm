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

global guest_load_dword                      ; uint64 guest_load_dword(guest_va src)
guest_load_dword:                            ; one guest dword straight into a register (EVTCHNOP_send's
    mov ecx, [esp + 4]                       ; port, any 4-byte read): the dword in eax and 0 in edx,
    xor edx, edx                             ; or edx 1 when the load faulted; no buffer to store
.load:                                       ; into and read back
    mov eax, [ecx]
    ret
.fault:
    mov edx, 1
    ret
EXTABLE guest_load_dword.load, guest_load_dword.fault

global guest_copy_8                          ; uint32 guest_copy_8(void *dst, const void *src)
global guest_copy_12                         ; uint32 guest_copy_12(void *dst, const void *src)
global guest_copy_16                         ; uint32 guest_copy_16(void *dst, const void *src)
guest_copy_16:                               ; fixed sizes, either direction (one side is the guest's,
    mov edx, [esp + 4]                       ; as above): an iret frame (16), its ring-3 tail (8), a
    mov ecx, [esp + 8]                       ; ring-1 bounce frame (12, or 16 with an error code);
.l3:                                         ; unrolled, highest word first; returns 0, or 1 when
    mov eax, [ecx + 12]                      ; any access faulted (the guest may then hold part)
.s3:
    mov [edx + 12], eax
.l2:
    mov eax, [ecx + 8]
.s2:
    mov [edx + 8], eax
.l1:
    mov eax, [ecx + 4]
.s1:
    mov [edx + 4], eax
.l0:
    mov eax, [ecx]
.s0:
    mov [edx], eax
    xor eax, eax
    ret
.fault:
    mov eax, 1
    ret
guest_copy_12:
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
    jmp guest_copy_16.l2
guest_copy_8:
    mov edx, [esp + 4]
    mov ecx, [esp + 8]
    jmp guest_copy_16.l1
global guest_copy_frame                      ; uint32 guest_copy_frame(guest_va dst, const void *src, uint32 n)
guest_copy_frame:                            ; a bounce frame out to the guest: n is 12, 16, 20 or 24
    mov eax, [esp + 12]                      ; (anything else copies nothing and returns 1); one
    mov edx, [esp + 4]                       ; indexed jump into the unrolled copy, so the caller
    mov ecx, [esp + 8]                       ; makes no choice of size; a ring-3 frame's two extra
    test eax, ~0x1C                          ; words first, then guest_copy_16's, whose faults
    jnz .none                                ; they share
    jmp [guest_copy_frame_entry + eax]
.l5:
    mov eax, [ecx + 20]
.s5:
    mov [edx + 20], eax
.l4:
    mov eax, [ecx + 16]
.s4:
    mov [edx + 16], eax
    jmp guest_copy_16.l3
.none:
    mov eax, 1
    ret
section .rodata
align 4
guest_copy_frame_entry:                      ; by n: 0-8 and 28 are not frame sizes
    dd guest_copy_frame.none, guest_copy_frame.none, guest_copy_frame.none, guest_copy_16.l2
    dd guest_copy_16.l3, guest_copy_frame.l4, guest_copy_frame.l5, guest_copy_frame.none
section .text
EXTABLE guest_copy_frame.l5, guest_copy_16.fault
EXTABLE guest_copy_frame.s5, guest_copy_16.fault
EXTABLE guest_copy_frame.l4, guest_copy_16.fault
EXTABLE guest_copy_frame.s4, guest_copy_16.fault
EXTABLE guest_copy_16.l3, guest_copy_16.fault
EXTABLE guest_copy_16.s3, guest_copy_16.fault
EXTABLE guest_copy_16.l2, guest_copy_16.fault
EXTABLE guest_copy_16.s2, guest_copy_16.fault
EXTABLE guest_copy_16.l1, guest_copy_16.fault
EXTABLE guest_copy_16.s1, guest_copy_16.fault
EXTABLE guest_copy_16.l0, guest_copy_16.fault
EXTABLE guest_copy_16.s0, guest_copy_16.fault

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
