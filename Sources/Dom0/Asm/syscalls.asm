; syscalls.asm: dom0's shortest system-call handler and the ring-3 loops that test and time int 0x80.
; The handler returns with the iretd instruction, so it may only be registered where the hypervisor's
; direct trap gate enters it (the CPU's frame, events as they were); a bounced call needs the iret hypercall.

%include "abi.inc"                           ; build/gen, from Sources/PVABI: FLAT_RING1_CS

bits 32
SYS_GETPID equ 2
SYS_EXIT   equ 3
SYS_NOOP   equ 5

section .text
; int 0x80 -> here through the direct gate: exit goes on to the full handler (guest_trap_128, whose
; address dom0 stores first); every other call returns at once with eax as it came.
global guest_syscall_iret_handler
guest_syscall_iret_handler:
    cmp eax, SYS_EXIT
    je .full
    iretd
.full:
    jmp [syscall_full_handler]

global guest_syscall_iret_handler_address    ; uint32 guest_syscall_iret_handler_address(void)
guest_syscall_iret_handler_address:
    mov eax, guest_syscall_iret_handler
    ret

global user_getpid_loop_address              ; uint32 user_getpid_loop_address(void)
user_getpid_loop_address:
    mov eax, user_getpid_loop
    ret

global user_bench_iret_entry_address         ; uint32 user_bench_iret_entry_address(void)
user_bench_iret_entry_address:
    mov eax, user_bench_iret_entry
    ret

; A system call that ended in guest_leave_user returns in the code segment its handler ran in (a handler
; may sit in a segment of dom0's own GDT); this puts the caller back in FLAT_RING1_CS with a far return.
global guest_reload_flat_cs                  ; void guest_reload_flat_cs(void)
guest_reload_flat_cs:
    pop eax
    push dword FLAT_RING1_CS
    push eax
    retf

global guest_set_syscall_full_handler         ; void guest_set_syscall_full_handler(uint32 address)
guest_set_syscall_full_handler:
    mov eax, [esp + 4]
    mov [syscall_full_handler], eax
    ret

section .bss
alignb 4
syscall_full_handler: resd 1

section .user.text progbits alloc exec nowrite align=4096
; 1000 getpid calls; exits with the sum of what they returned (1000 from the full handler, which
; answers 1; 2000 from the iretd handler, which leaves eax = SYS_GETPID).
global user_getpid_loop
user_getpid_loop:
    mov esi, 1000
    xor edi, edi
.loop:
    mov eax, SYS_GETPID
    int 0x80
    add edi, eax
    dec esi
    jnz .loop
    mov ebx, edi
    mov eax, SYS_EXIT
    int 0x80
.never:
    jmp .never

; make bench: 10000 int 0x80 timed in ring 3 with rdtsc, minus an empty loop of 10000; exits with
; the difference (eax stays SYS_NOOP across the calls: the iretd handler leaves it).
global user_bench_iret_entry
user_bench_iret_entry:
    rdtsc
    mov edi, eax
    mov esi, 10000
.empty:
    dec esi
    jnz .empty
    rdtsc
    sub eax, edi
    mov ebp, eax
    rdtsc
    mov edi, eax
    mov esi, 10000
    mov eax, SYS_NOOP
.loop:
    int 0x80
    dec esi
    jnz .loop
    rdtsc
    sub eax, edi
    sub eax, ebp
    mov ebx, eax
    mov eax, SYS_EXIT
    int 0x80
.never:
    jmp .never
