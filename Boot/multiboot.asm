; multiboot.asm: the Multiboot 1 header and the first instructions the CPU runs.
; It turns on PAE paging with a temporary low identity map plus the higher-half direct map,
; jumps to the higher half, drops the identity map and calls Swift. It must never touch
; anything above 12 MiB physical, and must never return into GRUB.

%include "layout.inc"

; The direct map's first entry in the L2 under PDPT slot 3 (virtual bits 21-29): derived, not restated.
DIRECT_MAP_L2_SLOT equ (KERNEL_VIRT_OFFSET & 0x3FFFFFFF) >> 21

MB_MAGIC      equ 0x1BADB002
MB_FLAGS      equ 0x00000003                 ; bit 0: page-align modules, bit 1: give memory info
MB_CHECKSUM   equ -(MB_MAGIC + MB_FLAGS)

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC, MB_FLAGS, MB_CHECKSUM

; ---------------------------------------------------------------------------------------------
; Low half: linked at its physical address, runs before paging.
section .boot.text progbits alloc exec nowrite align=16
bits 32
global _start
extern apus_main


_start:
    cli
    cld
    mov edi, eax                             ; keep the Multiboot magic
    mov esi, ebx                             ; and the info pointer (physical)

    lgdt [boot_gdt_descriptor]
    jmp 0x08:.reload_cs
.reload_cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax

    ; Slot 0 of the PDPT: identity map of the first 12 MiB, only while we switch.
    mov eax, boot_identity_l2
    or eax, 1
    mov [idle_pdpt - KERNEL_VIRT_OFFSET], eax
    mov dword [idle_pdpt - KERNEL_VIRT_OFFSET + 4], 0
    ; Slot 3: the hypervisor's L2, which every address space will share from 0xF5800000 up.
    mov eax, idle_l2_high - KERNEL_VIRT_OFFSET
    or eax, 1
    mov [idle_pdpt - KERNEL_VIRT_OFFSET + 24], eax
    mov dword [idle_pdpt - KERNEL_VIRT_OFFSET + 28], 0

    ; 2 MiB pages: identity (L2 of slot 0, entries 0..5) and direct map (slot 3, entries DIRECT_MAP_L2_SLOT..).
    xor ecx, ecx
.fill:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83                             ; present, writable, 2 MiB page
    mov [boot_identity_l2 + ecx * 8], eax
    mov dword [boot_identity_l2 + ecx * 8 + 4], 0
    mov [idle_l2_high - KERNEL_VIRT_OFFSET + (DIRECT_MAP_L2_SLOT * 8) + ecx * 8], eax
    mov dword [idle_l2_high - KERNEL_VIRT_OFFSET + (DIRECT_MAP_L2_SLOT * 8) + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, DIRECT_MAP_SIZE >> 21
    jb .fill

    mov eax, cr4
    or eax, (1 << 5)                         ; PAE
    mov cr4, eax
    mov eax, idle_pdpt - KERNEL_VIRT_OFFSET
    mov cr3, eax
    mov eax, cr0
    or eax, (1 << 31) | (1 << 16)            ; paging, and write-protect honoured in ring 0
    mov cr0, eax

    mov eax, higher_half_start
    jmp eax

section .boot.data progbits alloc noexec write align=4096
boot_identity_l2:
    times 512 dq 0
boot_gdt:
    dq 0
    dq 0x00CF9A000000FFFF                    ; 0x08: flat ring-0 code
    dq 0x00CF92000000FFFF                    ; 0x10: flat ring-0 data
boot_gdt_end:
boot_gdt_descriptor:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

; ---------------------------------------------------------------------------------------------
; High half: linked at KERNEL_VIRT_OFFSET + physical.
section .text
higher_half_start:
    mov esp, boot_stack_top
    ; The identity map has done its job: remove it, so a stray low pointer faults.
    mov dword [idle_pdpt], 0
    mov dword [idle_pdpt + 4], 0
    mov eax, cr3
    mov cr3, eax
    xor ebp, ebp
    push esi                                 ; Multiboot info, physical
    push edi                                 ; Multiboot magic
    call apus_main
.halt:
    cli
    hlt
    jmp .halt

section .bss
alignb 4096
global idle_l2_high
idle_l2_high:   resb 4096                    ; L2 for 0xC0000000-0xFFFFFFFF; its top 84 entries are the hypervisor's
global idle_pdpt
idle_pdpt:      resb 32                      ; the hypervisor's own PDPT (PAE L3), 32-byte aligned
alignb 16
global boot_stack_bottom
boot_stack_bottom:
    resb BOOT_STACK_SIZE
global boot_stack_top
boot_stack_top:
