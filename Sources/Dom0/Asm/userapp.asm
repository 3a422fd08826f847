; userapp.asm: dom0's ring-3 application: ordinary user code that asks its kernel for services
; with `int 0x80` (eax = call, ebx/ecx = arguments) and knows nothing about Xen. It also tries
; `int 0x82` itself, which ring 3 must never be allowed to use.

%include "abi.inc"                           ; build/gen, from Sources/PVABI: HYPERCALL_VECTOR

bits 32
SYS_WRITE  equ 1                             ; write(ebx = text, ecx = length) -> bytes
SYS_GETPID equ 2                             ; getpid() -> pid
SYS_EXIT   equ 3                             ; exit(ebx = status): never returns
SYS_REPORT equ 4                             ; report(ebx = key, ecx = value)

section .user.text progbits alloc exec nowrite align=4096
global user_app_entry
user_app_entry:
    mov eax, SYS_WRITE
    mov ebx, greeting
    mov ecx, greeting_len
    int 0x80
    mov eax, SYS_GETPID
    int 0x80
    mov ecx, eax
    mov eax, SYS_REPORT
    mov ebx, 1                               ; key 1: the pid the kernel gave us
    int 0x80
    ; A hypercall straight from ring 3: the gate's DPL is 1, so this must become a #GP.
    mov eax, 17                              ; xen_version
    xor ebx, ebx
    xor ecx, ecx
    int HYPERCALL_VECTOR
    mov ecx, eax                             ; whatever the kernel's #GP handler left in eax
    mov eax, SYS_REPORT
    mov ebx, 2                               ; key 2: the result of the int 0x82 attempt
    int 0x80
    push dword 0x33                          ; the user stack works too
    pop ecx
    mov eax, SYS_REPORT
    mov ebx, 3
    int 0x80
    mov eax, SYS_EXIT
    mov ebx, 42
    int 0x80
.never:
    jmp .never

greeting: db "hello from ring 3 through int 0x80"
greeting_len equ $ - greeting

; make bench: 10000 system calls that do nothing, then exit. Only timing matters here.
global user_bench_entry
user_bench_entry:
    mov esi, 10000
.loop:
    mov eax, 5                               ; SYS_NOOP
    int 0x80
    dec esi
    jnz .loop
    mov eax, SYS_EXIT
    xor ebx, ebx
    int 0x80
.never:
    jmp .never
