; memory.asm: the C memory primitives Embedded Swift calls (memset, memcpy, memmove, memcmp).
; They live here, not in Swift: a Swift loop doing the same would be compiled into a call to
; itself. They must never fault on a zero length and never assume alignment. Forward copies and
; fills move dwords first, then the 0-3 bytes left (under -icount every rep iteration counts: a
; 76-byte frame is 19 + 0 moves, not 76).

section .text
bits 32

global memset
global apus_fill                             ; the same routine, for Swift to call by name
memset:
apus_fill:                                      ; void *memset(void *d, int c, size_t n)
    push edi
    mov edi, [esp + 8]
    movzx eax, byte [esp + 12]
    imul eax, eax, 0x01010101                ; the byte in all four lanes
    mov ecx, [esp + 16]
    mov edx, ecx
    shr ecx, 2
    cld
    rep stosd
    mov ecx, edx
    and ecx, 3
    rep stosb
    mov eax, [esp + 8]
    pop edi
    ret

global memcpy
global apus_copy                             ; the same routine, for Swift to call by name
memcpy:                                      ; void *memcpy(void *d, const void *s, size_t n)
apus_copy:
    push edi
    push esi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    mov eax, edi
    mov edx, ecx
    shr ecx, 2
    cld
    rep movsd
    mov ecx, edx
    and ecx, 3
    rep movsb
    pop esi
    pop edi
    ret

global memmove
memmove:                                     ; void *memmove(void *d, const void *s, size_t n)
    push edi
    push esi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    mov eax, edi
    cmp edi, esi
    jbe .forward
    lea edx, [esi + ecx]
    cmp edi, edx
    jae .forward
    lea esi, [esi + ecx - 1]                 ; overlapping with d above s: copy backwards
    lea edi, [edi + ecx - 1]
    std
    rep movsb
    cld
    jmp .done
.forward:                                    ; d at or below s, or apart: dwords ascending are safe
    mov edx, ecx
    shr ecx, 2
    cld
    rep movsd
    mov ecx, edx
    and ecx, 3
    rep movsb
.done:
    pop esi
    pop edi
    ret

global memcmp
memcmp:                                      ; int memcmp(const void *a, const void *b, size_t n)
    push edi
    push esi
    mov esi, [esp + 12]
    mov edi, [esp + 16]
    mov ecx, [esp + 20]
    xor eax, eax
    jecxz .equal
    cld
    repe cmpsb
    je .equal
    movzx eax, byte [esi - 1]
    movzx edx, byte [edi - 1]
    sub eax, edx
.equal:
    pop esi
    pop edi
    ret

global apus_copy_frame                       ; void apus_copy_frame(TrapFrame *d, const TrapFrame *s)
apus_copy_frame:                             ; one 76-byte trap frame (19 dwords, TrapFrame.swift),
    push edi                                 ; unrolled: a switch saves and loads one, and rep movsd
    push esi                                 ; counts each of its 19 rounds plus memmove's set-up
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    cld
%rep 19
    movsd
%endrep
    pop esi
    pop edi
    ret

global apus_copy_dwords                      ; void apus_copy_dwords(void *d, const void *s, size_t n)
apus_copy_dwords:                            ; memcpy by dwords, then the 0-3 bytes left: a page is
    push edi                                 ; 1,024 moves instead of 4,096 (the builder's image copy)
    push esi
    mov edi, [esp + 12]
    mov esi, [esp + 16]
    mov ecx, [esp + 20]
    mov edx, ecx
    and edx, 3
    shr ecx, 2
    cld
    rep movsd
    mov ecx, edx
    rep movsb
    pop esi
    pop edi
    ret

global apus_zero_dwords                      ; void apus_zero_dwords(void *d, size_t n)
apus_zero_dwords:                            ; zeroes n bytes by dwords, then the 0-3 bytes left
    push edi
    mov edi, [esp + 8]
    mov ecx, [esp + 12]
    mov edx, ecx
    and edx, 3
    shr ecx, 2
    xor eax, eax
    cld
    rep stosd
    mov ecx, edx
    rep stosb
    pop edi
    ret
