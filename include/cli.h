/*
 * cli.h - the command handlers main.c dispatches to.  Each takes the
 * arguments after the command word (argv[0] is the command itself) and the
 * config path already resolved by main (--config, $VOMO_SYNC_CONFIG or the
 * default), and returns the process exit code: 0 ok, 1 runtime failure,
 * 2 usage or configuration error.
 */
#ifndef VOMO_CLI_H
#define VOMO_CLI_H

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv, const char *config_path);          /* daemon.c */
int cmd_check_config(int argc, char **argv, const char *config_path); /* cli_config.c */
int cmd_migrate(int argc, char **argv, const char *config_path);      /* cli_db.c */
int cmd_status(int argc, char **argv, const char *config_path);       /* cli_status.c */
int cmd_dlq(int argc, char **argv, const char *config_path);          /* cli_dlq.c */
int cmd_checkpoint(int argc, char **argv, const char *config_path);   /* cli_checkpoint.c */
int cmd_write(int argc, char **argv, const char *config_path);        /* cli_write.c */
int cmd_outbox(int argc, char **argv, const char *config_path);       /* cli_outbox.c */
int cmd_reconcile(int argc, char **argv, const char *config_path);    /* cli_reconcile.c */
int cmd_alerts(int argc, char **argv, const char *config_path);       /* cli_alerts.c */
int cmd_resume(int argc, char **argv, const char *config_path);       /* cli_resume.c */

#endif
