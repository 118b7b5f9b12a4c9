/*
 * Test hooks of zoo: exported by the library, deliberately absent from
 * the public header zoo.h. For zoo's own test suites only.
 */
#ifndef ZOO_TEST_HOOKS_H
#define ZOO_TEST_HOOKS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The next zoo call on this thread panics inside its panic boundary and
 * returns ZOO_PANIC; nothing else changes. */
void zoo_debug_panic_next_call(void);

#ifdef __cplusplus
}
#endif

#endif
