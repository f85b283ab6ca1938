// Lock annotations the compiler can check (clang's -Wthread-safety; LevelDB's
// port/thread_annotations.h), on the state threads share: read-ahead queues, the data
// writer's background encoder, a stream's progress. Other compilers ignore them.
#pragma once

#if defined(__clang__)
#define INLET_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define INLET_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) INLET_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY INLET_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) INLET_THREAD_ANNOTATION(guarded_by(x))
#define REQUIRES(...) INLET_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) INLET_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) INLET_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) INLET_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
