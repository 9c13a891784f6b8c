#ifndef BREAKGLASS_PROCESS_HARDENING_H
#define BREAKGLASS_PROCESS_HARDENING_H

/* Makes the process non-dumpable (no core file, no ptrace by other processes of the same user, /proc/self files
 * owned by root) and sets RLIMIT_CORE to 0. Returns 0 on success, else the errno of the first failing call.
 * prctl(2) is C-variadic, which Swift cannot call directly: hence this shim. */
int bg_disable_core_dumps(void);

/* Whether the process is dumpable (1), not (0), or -1 on error: for tests. */
int bg_is_dumpable(void);

#endif
