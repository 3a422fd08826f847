; layout.asm: the guest kernel's fixed areas (ring-3 trap stack, user stack, the page where
; shared_info gets mapped) and one table of linker addresses for Swift. No code beyond lookups.

bits 32
extern __guest_start, __guest_end, __user_start, __user_end, user_app_entry, hypercall_page

section .bss
alignb 4096
global guest_shared_info_window
guest_shared_info_window: resb 4096          ; remapped onto the shared_info frame at start of day
guest_scratch_window:     resb 4096          ; a page the kernel may remap onto any frame it owns
kernel_trap_stack_bottom: resb 16384         ; ring-1 stack for traps from ring 3 (stack_switch)
kernel_trap_stack_top:
alignb 4096
user_stack_bottom:        resb 8192          ; ring-3 stack, mapped with the user bit by the kernel
user_stack_top:

section .text
global guest_symbol                          ; uint32 guest_symbol(uint32 which)
guest_symbol:
    mov eax, [esp + 4]
    cmp eax, 11
    jae .none
    mov eax, [symbol_table + eax * 4]
    ret
.none:
    xor eax, eax
    ret

section .rodata
align 4
symbol_table:
    dd __user_start, __user_end, user_stack_top, user_stack_bottom, kernel_trap_stack_top
    dd __guest_start, __guest_end, user_app_entry, guest_shared_info_window, hypercall_page
    dd guest_scratch_window
