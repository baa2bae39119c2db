/* Bare-metal start for the TinyOpt target runner on Cortex-M (QEMU mps2/mps3 boards).
 *
 * The ELF is loaded by QEMU straight into RAM, so .data needs no copy; .bss is zeroed, the FPU
 * (and MVE on Cortex-M55) enabled, newlib's semihosting handles opened, then main() runs and its
 * result becomes QEMU's exit code. A fault prints its registers through semihosting and exits 99,
 * so a crash in a kernel is a message, never a hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint32_t __bss_start__, __bss_end__, __stack_top__;

/* What the C runtime's start files would provide (we link with -nostartfiles). */
void *__dso_handle = &__dso_handle;
void _init(void) {}
void _fini(void) {}
extern int main(void);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void);

void Reset_Handler(void) {
  for (uint32_t* p = &__bss_start__; p < &__bss_end__; ++p) *p = 0;
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10 and CP11 full access */
  __asm volatile("dsb\n isb" ::: "memory");
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
}

static void Fault_Handler(void) {
  volatile uint32_t* scb = (volatile uint32_t*)0xE000ED00;
  printf("error fault: ICSR %08lx CFSR %08lx HFSR %08lx MMFAR %08lx BFAR %08lx\n", (unsigned long)scb[1],
         (unsigned long)scb[10], (unsigned long)scb[11], (unsigned long)scb[13], (unsigned long)scb[14]);
  exit(99);
}

__attribute__((section(".vectors"), used)) void (*const g_vectors[16])(void) = {
    (void (*)(void))(&__stack_top__), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
