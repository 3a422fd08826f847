; devices.asm: what dom0's device drivers need below Swift: page-aligned bss pages for DMA (virtqueues
; and buffers the devices read and write by machine address), and single loads and stores to device
; memory, each exactly one access of its width that the compiler can neither merge, split nor move.
; No policy: which pages and which registers is the drivers' business.

bits 32
DMA_PAGES equ 64

section .bss
alignb 4096
global dom0_dma_pages
dom0_dma_pages: resb DMA_PAGES * 4096

section .text
%macro FN 1
global %1
%1:
%endmacro

FN dom0_dma_base                             ; uint32 dom0_dma_base(void)
    mov eax, dom0_dma_pages
    ret
FN dom0_dma_count                            ; uint32 dom0_dma_count(void)
    mov eax, DMA_PAGES
    ret

FN dom0_mmio_read8                           ; uint32 dom0_mmio_read8(uint32 address)
    mov edx, [esp + 4]
    movzx eax, byte [edx]
    ret
FN dom0_mmio_read16
    mov edx, [esp + 4]
    movzx eax, word [edx]
    ret
FN dom0_mmio_read32
    mov edx, [esp + 4]
    mov eax, [edx]
    ret
FN dom0_mmio_write8                          ; void dom0_mmio_write8(uint32 address, uint32 value)
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], al
    ret
FN dom0_mmio_write16
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], ax
    ret
FN dom0_mmio_write32
    mov edx, [esp + 4]
    mov eax, [esp + 8]
    mov [edx], eax
    ret

FN dom0_zero_page                            ; void dom0_zero_page(uint32 address): 4096 zero bytes
    push edi
    mov edi, [esp + 8]
    xor eax, eax
    mov ecx, 1024
    rep stosd
    pop edi
    ret
FN dom0_copy_bytes                           ; void dom0_copy_bytes(uint32 to, uint32 from, uint32 count)
    push esi
    push edi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    rep movsb
    pop edi
    pop esi
    ret
