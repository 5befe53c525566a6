// libmodbus (Modbus TCP server for the PLC trigger handshake).
#ifndef INSPECTD_CMODBUS_SHIM_H
#define INSPECTD_CMODBUS_SHIM_H
#include <modbus.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <errno.h>

// FD_SET and friends are macros Swift cannot call.
static inline void inspectd_fd_zero(fd_set *set) { FD_ZERO(set); }
static inline void inspectd_fd_set(int fd, fd_set *set) { FD_SET(fd, set); }
static inline int inspectd_fd_isset(int fd, fd_set *set) { return FD_ISSET(fd, set); }
static inline int inspectd_errno(void) { return errno; }
#endif
