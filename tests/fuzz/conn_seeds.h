/* Seed inputs for fuzz_conn: whole byte streams an initiator could send on
 * one connection (login, then commands), built here rather than kept as
 * binary files. */
#ifndef LUNAR_TESTS_FUZZ_CONN_SEEDS_H
#define LUNAR_TESTS_FUZZ_CONN_SEEDS_H

#define CONN_SEEDS_TARGET "iqn.2026-11.org.lunar:fuzz"

/* Writes every seed as a file into dir; returns how many, or -errno. */
int conn_seeds_write(const char *dir);

#endif
