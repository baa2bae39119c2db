/* Bare-metal start for the TinyOpt footprint image (QEMU mps2/mps3 boards): no C library start-up
 * and no semihosting file I/O, so the image holds only what a firmware's own start-up would bring.
 * Output and exit go through two semihosting calls (SYS_WRITE0, SYS_EXIT). */
#include <stdint.h>

extern uint32_t __bss_start__, __bss_end__, __stack_top__;
extern int main(void);

typedef void (*init_fn)(void);
extern init_fn __init_array_start[], __init_array_end[];

static uint32_t semihost(uint32_t op, const void* arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void* r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void tinyopt_write(const char* text) { semihost(0x04, text); }

static void stop(int status) {
  /* SYS_EXIT: ADP_Stopped_ApplicationExit ends QEMU with status 0; anything else with 1. */
  semihost(0x18, (const void*)(status == 0 ? 0x20026u : 0x20023u));
  for (;;) {
  }
}

void __cxa_pure_virtual(void) { stop(1); }
void* __dso_handle = &__dso_handle;

void Reset_Handler(void) {
  for (uint32_t* p = &__bss_start__; p < &__bss_end__; ++p) *p = 0;
  *(volatile uint32_t*)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10 and CP11 full access */
  __asm volatile("dsb\n isb" ::: "memory");
  for (init_fn* f = __init_array_start; f < __init_array_end; ++f) (*f)();
  stop(main());
}

static void Fault_Handler(void) {
  tinyopt_write("error fault\n");
  stop(99);
}

__attribute__((section(".vectors"), used)) void (*const g_vectors[16])(void) = {
    (void (*)(void))(&__stack_top__), Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
