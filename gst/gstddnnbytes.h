/* Little-endian reads and writes, shared by the file frame and the link
 * frame (not installed).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

static inline guint16
read_u16 (const guint8 *p)
{
  return (guint16) (p[0] | p[1] << 8);
}

static inline guint32
read_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 |
      (guint32) p[3] << 24;
}

static inline guint64
read_u64 (const guint8 *p)
{
  return (guint64) read_u32 (p) | (guint64) read_u32 (p + 4) << 32;
}

static inline void
write_u16 (guint8 *p, guint16 v)
{
  p[0] = v & 0xff;
  p[1] = v >> 8;
}

static inline void
write_u32 (guint8 *p, guint32 v)
{
  write_u16 (p, v & 0xffff);
  write_u16 (p + 2, v >> 16);
}

static inline void
write_u64 (guint8 *p, guint64 v)
{
  write_u32 (p, (guint32) v);
  write_u32 (p + 4, (guint32) (v >> 32));
}
