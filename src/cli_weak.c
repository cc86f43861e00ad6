/*
 * cli_weak.c - placeholder command handlers, linked only while a command's
 * real handler is not yet in the tree (a strong definition overrides each).
 * Removed once every command has landed.
 */
#include <stdio.h>

#include "cli.h"

#define WEAK_CMD(fn, name)                                                                         \
    __attribute__((weak)) int fn(int argc, char **argv, const char *config_path)                   \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        (void)config_path;                                                                         \
        fprintf(stderr, "vomo-sync: '%s' is not available in this build\n", name);                 \
        return EXIT_RUNTIME;                                                                       \
    }

WEAK_CMD(cmd_run, "run")
WEAK_CMD(cmd_check_config, "check-config")
WEAK_CMD(cmd_migrate, "migrate")
WEAK_CMD(cmd_status, "status")
WEAK_CMD(cmd_dlq, "dlq")
WEAK_CMD(cmd_checkpoint, "checkpoint")
