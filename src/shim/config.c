/* The variadic raft_config, which stable Rust cannot define: read the one
 * variadic argument and pass it to the plain Rust functions. Self-contained
 * so that it builds before include/raft.h is generated. */
#include <stdarg.h>

int raft_config_set_value(void *me, int config, int value);
int raft_config_get_value(void *me, int config, int *value);

/* The contract declares `raft_config_e config`; an enum of these values is
 * passed exactly as an int. */
int raft_config(void *me, int set, int config, ...)
{
    va_list ap;
    int rc;

    va_start(ap, config);
    if (set) {
        int value = va_arg(ap, int);
        rc = raft_config_set_value(me, config, value);
    } else {
        int *out = va_arg(ap, int *);
        rc = raft_config_get_value(me, config, out);
    }
    va_end(ap);
    return rc;
}
