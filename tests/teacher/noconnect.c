/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * noconnect.c: LD_PRELOAD shim for the privacy tests. Every connect() and
 * sendto()/sendmsg() to a non-local-socket address, and every socket() of an
 * internet family, is appended as one line to $NOCONNECT_LOG; when
 * $NOCONNECT_BLOCK is set the call fails with EACCES instead of going out.
 * Unix-domain sockets (D-Bus) are not network connections and pass.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* One line: "<call> family=<n> addr=<ip> pid=<pid>". */
static void
record (const char            *what,
        int                    family,
        const struct sockaddr *addr)
{
  const char *path = getenv ("NOCONNECT_LOG");
  char ip[INET6_ADDRSTRLEN] = "-";
  char line[160];
  int fd, n;

  if (path == NULL)
    return;
  if (addr != NULL && addr->sa_family == AF_INET)
    inet_ntop (AF_INET, &((const struct sockaddr_in *) (const void *) addr)->sin_addr, ip, sizeof ip);
  else if (addr != NULL && addr->sa_family == AF_INET6)
    inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) (const void *) addr)->sin6_addr, ip, sizeof ip);
  n = snprintf (line, sizeof line, "%s family=%d addr=%s pid=%d\n", what, family, ip,
                (int) getpid ());
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    {
      if (write (fd, line, (size_t) n) < 0)
        n = 0;
      close (fd);
    }
}

static int
blocked (void)
{
  return getenv ("NOCONNECT_BLOCK") != NULL;
}

int
socket (int domain,
        int type,
        int protocol)
{
  static int (*real) (int, int, int);

  if (real == NULL)
    real = (int (*) (int, int, int)) dlsym (RTLD_NEXT, "socket");
  if (domain == AF_INET || domain == AF_INET6)
    {
      record ("socket", domain, NULL);
      if (blocked ())
        {
          errno = EACCES;
          return -1;
        }
    }
  return real (domain, type, protocol);
}

int
connect (int                    fd,
         const struct sockaddr *addr,
         socklen_t              len)
{
  static int (*real) (int, const struct sockaddr *, socklen_t);

  if (real == NULL)
    real = (int (*) (int, const struct sockaddr *, socklen_t)) dlsym (RTLD_NEXT, "connect");
  if (addr != NULL && addr->sa_family != AF_UNIX)
    {
      record ("connect", addr->sa_family, addr);
      if (blocked ())
        {
          errno = EACCES;
          return -1;
        }
    }
  return real (fd, addr, len);
}

ssize_t
sendto (int                    fd,
        const void            *buf,
        size_t                 n,
        int                    flags,
        const struct sockaddr *addr,
        socklen_t              len)
{
  static ssize_t (*real) (int, const void *, size_t, int, const struct sockaddr *, socklen_t);

  if (real == NULL)
    real = (ssize_t (*) (int, const void *, size_t, int, const struct sockaddr *, socklen_t))
           dlsym (RTLD_NEXT, "sendto");
  if (addr != NULL && addr->sa_family != AF_UNIX)
    {
      record ("sendto", addr->sa_family, addr);
      if (blocked ())
        {
          errno = EACCES;
          return -1;
        }
    }
  return real (fd, buf, n, flags, addr, len);
}
