/*
 * file.h - whole small files.
 */
#ifndef ISORUN_FILE_H
#define ISORUN_FILE_H

#include <stddef.h>

#include "err.h"

/*
 * Reads all of `path` (at most `max` bytes: EFBIG beyond) into a malloc'd
 * buffer with a NUL after the bytes; *len (may be NULL) gets their count.
 * Returns NULL with `err` naming the file on failure.
 */
char	*ir_read_file(const char *path, size_t max, size_t *len,
	    struct ir_err *err);

#endif
