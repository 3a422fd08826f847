; idle.asm: what the idle loop needs besides hlt (Boot/cpu.asm's cpu_halt): a window in which an
; interrupt that is waiting is taken, between two units of idle work (a scrubbed frame). It must
; only be called where the hypervisor holds nothing an interrupt handler may change: no frame
; window in use, no frame-table update half done.

section .text
bits 32

global apus_interrupt_window                 ; void apus_interrupt_window(void): sti; nop; cli
apus_interrupt_window:                       ; sti takes effect after the next instruction, so a
    sti                                      ; pending interrupt is delivered after the nop and
    nop                                      ; before cli, never elsewhere
    cli
    ret
