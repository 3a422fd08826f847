; grantwindow.asm: dom0's window for foreign pages: 64 page-aligned pages of bss whose own frames are
; unmapped at start, so grant_table_op map_grant_ref can put another domain's granted page there
; (its L1 tables exist: the builder mapped the whole image). Addresses only; no code beyond a lookup.

bits 32
GRANT_WINDOW_PAGES equ 64

section .bss
alignb 4096
global dom0_grant_window
dom0_grant_window: resb GRANT_WINDOW_PAGES * 4096

section .text
global dom0_grant_window_base                ; uint32 dom0_grant_window_base(void)
dom0_grant_window_base:
    mov eax, dom0_grant_window
    ret

global dom0_grant_window_pages               ; uint32 dom0_grant_window_pages(void)
dom0_grant_window_pages:
    mov eax, GRANT_WINDOW_PAGES
    ret

global dom0_compiler_barrier                 ; void dom0_compiler_barrier(void): a call the compiler
dom0_compiler_barrier:                       ; cannot see through, so loads and stores stay ordered
    ret
