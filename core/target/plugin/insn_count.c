/* QEMU TCG plugin: exact instruction counts at marks.
 *
 * Counts every executed instruction (an inline add per instruction, so a block left early counts
 * only what ran) and, each time the instruction at address `mark` executes, appends the running
 * count to the file `out`. The target runner calls its mark function around each Invoke and each
 * operator, so differences between consecutive lines are instructions per inference and per op.
 *
 * With timing=m4 it also sums an estimate of cycles: each instruction's cost from the Cortex-M4
 * instruction timing table (Cortex-M4 TRM, "Processor instruction timings"), read from its
 * disassembly at translation time. Assumed where the table gives a range: branch refill P = 2,
 * conditional branches half taken (2 cycles), divides 7 cycles, a load or store right after another
 * one pipelined (1 cycle); no wait states, no bus contention. An estimate, never a measurement.
 *
 * Debian's QEMU 7.2 ships no qemu-plugin.h; these are the declarations of the stable plugin API,
 * version 1, that this file uses (see QEMU's docs/devel/tcg-plugins.rst).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t count;     /* instructions executed so far (one vCPU) */
static uint64_t cycles;    /* estimated cycles so far (timing=m4), else 0 */
static int timing;
static uint64_t marks[8]; /* first instructions of the mark functions (mark=ADDRESS, repeatable) */
static int n_marks;
static FILE *out;
/* Kernel entry points (kernels=FILE: one address per line, e.g. CMSIS-NN's arm_* functions): how
 * often each was entered since the last mark, written after that mark as "k INDEX TIMES". */
#define MAX_ENTRIES 512
static uint64_t entries[MAX_ENTRIES];
static uint64_t hits[MAX_ENTRIES];
static int n_entries;

static void on_mark(unsigned int vcpu, void *userdata) {
  (void)vcpu;
  (void)userdata;
  fprintf(out, "%" PRIu64 " %" PRIu64 "\n", count, cycles);
  for (int e = 0; e < n_entries; e++)
    if (hits[e]) {
      fprintf(out, "k %d %" PRIu64 "\n", e, hits[e]);
      hits[e] = 0;
    }
}

static void on_entry(unsigned int vcpu, void *userdata) {
  (void)vcpu;
  hits[(uintptr_t)userdata]++;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Registers in a {...} list, ranges such as {s0-s7} included. */
static int reg_list(const char *ops) {
  const char *p = strchr(ops, '{');
  if (!p) return 1;
  int n = 0;
  while (*p && *p != '}') {
    p++;
    while (*p == ' ') p++;
    const char *dash = strchr(p, '-'), *end = strpbrk(p, ",}");
    if (dash && end && dash < end) {
      n += atoi(strpbrk(dash, "0123456789")) - atoi(strpbrk(p, "0123456789")) + 1;
    } else {
      n++;
    }
    p = end ? end : p + strlen(p);
  }
  return n > 0 ? n : 1;
}

static const char *CONDS[] = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"};

/* Cortex-M4 cycles of one instruction; *memop tells whether it is a single load or store. */
static uint64_t m4_cost(const char *text, int prev_memop, int *memop) {
  char m[32] = {0};
  size_t k = 0;
  while (text[k] && text[k] != ' ' && text[k] != '.' && k < sizeof m - 1) m[k] = text[k], k++;
  const char *ops = strchr(text, ' ');
  ops = ops ? ops + 1 : "";
  while (*ops == ' ') ops++;
  /* A branch by writing pc: "ldr pc, ...", "mov pc, ...", or pc in a pop/ldm register list. */
  const char *list = strchr(ops, '{');
  int writes_pc = starts(ops, "pc") ||
                  ((starts(m, "pop") || starts(m, "ldm")) && list && strstr(list, "pc"));
  *memop = 0;
  if (m[0] == 'v') { /* floating point */
    if (starts(m, "vdiv") || starts(m, "vsqrt")) return 14;
    if (starts(m, "vmla") || starts(m, "vmls") || starts(m, "vnmla") || starts(m, "vnmls") || starts(m, "vfm") ||
        starts(m, "vfnm"))
      return 3;
    if (starts(m, "vldm") || starts(m, "vstm") || starts(m, "vpush") || starts(m, "vpop")) return 1 + reg_list(ops);
    if (starts(m, "vldr") || starts(m, "vstr")) return 2;
    return 1;
  }
  if (starts(m, "push") || starts(m, "pop") || starts(m, "ldm") || starts(m, "stm"))
    return 1 + reg_list(ops) + (writes_pc ? 2 : 0);
  if (starts(m, "ldrd") || starts(m, "strd")) return 3;
  if (starts(m, "ldr") || starts(m, "str")) {
    *memop = 1;
    return (prev_memop ? 1 : 2) + (writes_pc ? 2 : 0);
  }
  if (starts(m, "sdiv") || starts(m, "udiv")) return 7;
  if (strcmp(m, "mla") == 0 || strcmp(m, "mls") == 0) return 2;
  if (strcmp(m, "cbz") == 0 || strcmp(m, "cbnz") == 0) return 2;
  if (m[0] == 'b' && (strcmp(m, "b") == 0 || strcmp(m, "bl") == 0 || strcmp(m, "bx") == 0 || strcmp(m, "blx") == 0))
    return 3;
  if (m[0] == 'b' && strlen(m) == 3)
    for (size_t c = 0; c < sizeof CONDS / sizeof *CONDS; c++)
      if (strcmp(m + 1, CONDS[c]) == 0) return 2;
  return 1 + (writes_pc && (starts(m, "mov") || starts(m, "add")) ? 2 : 0);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  int memop = 0;
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
    if (timing) {
      char *text = qemu_plugin_insn_disas(insn);
      int prev = memop;
      uint64_t cost = m4_cost(text ? text : "", prev, &memop);
      free(text); /* QEMU allocates it with glib, which uses the C allocator */
      qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &cycles, cost);
    }
    for (int m = 0; m < n_marks; m++)
      if (qemu_plugin_insn_vaddr(insn) == marks[m])
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
    for (int e = 0; e < n_entries; e++)
      if (qemu_plugin_insn_vaddr(insn) == entries[e])
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_entry, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)e);
  }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata) {
  (void)id;
  (void)userdata;
  fprintf(out, "total %" PRIu64 " %" PRIu64 "\n", count, cycles);
  fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
  (void)info;
  const char *path = NULL;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "mark=", 5) == 0 && n_marks < 8) marks[n_marks++] = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
    if (strncmp(argv[i], "out=", 4) == 0) path = argv[i] + 4;
    if (strcmp(argv[i], "timing=m4") == 0) timing = 1;
    if (strncmp(argv[i], "kernels=", 8) == 0) {
      FILE *list = fopen(argv[i] + 8, "r");
      unsigned long long address;
      while (list && n_entries < MAX_ENTRIES && fscanf(list, "%llx", &address) == 1)
        entries[n_entries++] = address & ~1ull;
      if (list) fclose(list);
    }
  }
  if (!path || !n_marks || !(out = fopen(path, "w"))) {
    fprintf(stderr, "insn_count: needs mark=ADDRESS and a writable out=FILE\n");
    return -1;
  }
  setvbuf(out, NULL, _IOFBF, 1 << 16);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  return 0;
}
