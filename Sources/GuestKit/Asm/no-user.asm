; no-user.asm: for guest kernels without a ring-3 program: the entry GuestKit's layout table
; names, as a stub that only loops. It must never be entered in a kernel that has no user pages.
bits 32
section .user.text progbits alloc exec nowrite align=4096
global user_app_entry
user_app_entry:
    jmp user_app_entry
