; traps.asm: every interrupt vector's entry stub and the common paths into Swift.
; Each stub leaves the same TrapFrame (Sources/ApusCore/TrapFrame.swift) on the stack and calls
; Swift (named with @_silgen_name: no C thunk): an exception apus_trap(frame) or, when the CPU
; pushed an error code, apus_trap_error(frame); an interrupt apus_interrupt(frame); the hypercall
; and iret gates apus_hypercall and apus_iret, so the commonest traps are not sorted in Swift.
; The hypercall gate calls through hypercall_entries, by number: apus_hypercall (the table) for all
; but update_va_mapping (apus_update_va_mapping) and EVTCHNOP_send (apus_event_send).
; It must never decide anything: policy lives in Swift.

%include "layout.inc"
%include "abi.inc"                           ; build/gen, from Sources/PVABI

extern apus_trap
extern apus_trap_error
extern apus_interrupt
extern apus_hypercall
extern apus_iret
extern apus_event_send
extern apus_update_va_mapping
global trap_stub_table

%define HYPERCALL_ENTRIES 64                 ; hypercall_entries' length (every number the table knows)
global trap_return_to_frame

section .text
bits 32

; Frame, from low to high: edi esi ebp esp0 ebx edx ecx eax | gs fs es ds | vector error |
; eip cs eflags [esp ss when the trap came from ring 1-3].
%macro SAVE_FRAME 0
    push ds
    push es
    push fs
    push gs
    pushad
    mov cx, HYPERVISOR_DS                    ; through ECX: EAX and EBX keep the guest's values
    mov ds, cx                               ; (a hypercall's number and first argument, which
    mov es, cx                               ; the hypercall stub dispatches on)
    xor ecx, ecx                             ; the hypervisor never uses FS/GS: null them, so a
    mov fs, cx                               ; nested trap never saves (and reloads) a guest selector
    mov gs, cx                               ; that has gone bad meanwhile
    cld
    push esp                                 ; the frame's address (the value before this push)
%endmacro

; Back through the frame at ESP. Segments first, by offset, while ESP still points at the frame's
; base: if one of them faults, the nested trap frame lands below this frame and leaves it intact.
; Each load and the iret are in the exception table (guest_return_fault); their labels are local
; to the stub's (trap_stub_3.iret), so a profile names them.
%macro RETURN_TO_FRAME 0
.load_gs:
    mov gs, word [esp + 32]
.load_fs:
    mov fs, word [esp + 36]
.load_es:
    mov es, word [esp + 40]
.load_ds:
    mov ds, word [esp + 44]
    popad
    add esp, 24                              ; gs fs es ds, vector and error code
.iret:
    iretd
section .apus_extable
    dd .load_gs, guest_return_fault
    dd .load_fs, guest_return_fault
    dd .load_es, guest_return_fault
    dd .load_ds, guest_return_fault
    dd .iret, guest_return_fault
section .text
%endmacro

; The CPU pushes an error code for VECTOR_HAS_ERROR_CODE vectors (PVABI ExceptionVector.withErrorCode).
; The exceptions and the hypercall gate (the traps a guest takes all the time) save, call and return
; in their own stub, without a jump to a shared path and back; interrupts share trap_common.
%macro STUB 1
trap_stub_%1:
%if VECTOR_HAS_ERROR_CODE(%1)
%else
    push dword 0                             ; no error code from the CPU: keep the frame uniform
%endif
    push dword %1
%if (%1) == HYPERCALL_VECTOR
    SAVE_FRAME
    ; By number (EAX, still the guest's) through hypercall_entries: update_va_mapping and
    ; EVTCHNOP_send have their own entries (inside the table their registers made every case
    ; spill), every other number below HYPERCALL_ENTRIES goes to the table; a compare and an
    ; untaken branch for all. Numbers past the array go to the table too.
    cmp eax, HYPERCALL_ENTRIES
    jae .past_entries
    call [hypercall_entries + eax * 4]
.back:
    add esp, 4
    RETURN_TO_FRAME
.past_entries:
    call apus_hypercall
    jmp .back
%elif (%1) == IRET_VECTOR
    SAVE_FRAME
    call apus_iret
    add esp, 4
    RETURN_TO_FRAME
%elif (%1) < 32
    SAVE_FRAME
%if VECTOR_HAS_ERROR_CODE(%1)
    call apus_trap_error
%else
    call apus_trap
%endif
    add esp, 4
    RETURN_TO_FRAME
%else
    jmp trap_common
%endif
%endmacro

%assign vec 0
%rep 256
STUB vec
%assign vec vec + 1
%endrep

; event_channel_op's entry in hypercall_entries, called with the frame's address above the return
; address as every entry is: EVTCHNOP_send (EBX, still the guest's: the command) goes on to
; apus_event_send, every other command to the table; both return to the stub.
hypercall_event_channel_op:
    cmp ebx, EVTCHNOP_SEND
    je apus_event_send
    jmp apus_hypercall

trap_common:                                 ; vectors 32-255
    SAVE_FRAME
    call apus_interrupt
    add esp, 4
trap_return_to_frame:                        ; also enter_guest's way into a guest
    RETURN_TO_FRAME

; A fault on the way back to a guest (a selector it may not load, an iret frame the CPU
; refuses) lands here through the exception table: give Swift the guest frame, which always
; sits at the top of the ring-0 stack, and let it decide (failsafe callback or crash).
extern apus_guest_return_failed
global guest_return_fault
guest_return_fault:
    mov esp, [return_fault_frame]
    push esp
    call apus_guest_return_failed            ; never returns
.stop:
    jmp .stop

section .bss
global return_fault_frame
return_fault_frame: resd 1                   ; set by Swift: where the running guest's frame lives
section .text

section .rodata
align 4
; The hypercall stub's entries by number (0 to HYPERCALL_ENTRIES - 1, which covers every hypercall
; the table knows); each is called with the frame's address as its one argument.
hypercall_entries:
%assign n 0
%rep HYPERCALL_ENTRIES
%if n == HYPERCALL_EVTCHN_OP
    dd hypercall_event_channel_op
%elif n == HYPERCALL_UPDATE_VA_MAPPING
    dd apus_update_va_mapping
%else
    dd apus_hypercall
%endif
%assign n n + 1
%endrep

trap_stub_table:
%assign vec 0
%rep 256
    dd trap_stub_ %+ vec
%assign vec vec + 1
%endrep
